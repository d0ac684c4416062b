"""buildah's RUN steps get limits every buildah version accepts."""

from __future__ import annotations

import resource

import pytest

from mlirboot.bootstrap.ship import buildah

INF = resource.RLIM_INFINITY


@pytest.mark.parametrize(
    ("nofile", "nproc", "expected"),
    [
        ((1024, 20000), (96364, 96364), ["nofile=1024:20000", "nproc=32768:32768"]),
        ((INF, INF), (INF, INF), ["nproc=32768:32768"]),
        ((INF, 4096), (100, 4096), ["nofile=4096:4096", "nproc=100:4096"]),
    ],
)
def test_limits_keep_open_files_and_cap_processes(
    monkeypatch: pytest.MonkeyPatch,
    nofile: tuple[int, int],
    nproc: tuple[int, int],
    expected: list[str],
) -> None:
    limits = {resource.RLIMIT_NOFILE: nofile, resource.RLIMIT_NPROC: nproc}
    monkeypatch.setattr(buildah.resource, "getrlimit", limits.__getitem__)
    args = buildah._ulimits()
    assert args[::2] == ["--ulimit"] * len(expected)
    assert args[1::2] == expected
