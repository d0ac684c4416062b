"""Step stamps are a cache: a damaged one is never trusted, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlirboot.bootstrap.engine.stamps import Stamps


@pytest.mark.parametrize("text", ["[1, 2]", '"done"', "{not json", "\udcff"])
def test_a_damaged_stamp_means_the_step_runs_again(tmp_path: Path, text: str) -> None:
    stamps = Stamps(tmp_path)
    stamps.write("build", "k")
    assert stamps.valid("build", "k")
    stamps.path("build").write_bytes(text.encode(errors="surrogateescape"))
    assert not stamps.valid("build", "k") and stamps.read("build") is None
