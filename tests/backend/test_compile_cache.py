"""The compile cache: a repeated compile is a copy, never from another
toolchain, robust to damage and to concurrent compiles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend import compile_cache
from mlirboot.backend.driver import compile_program
from mlirboot.bootstrap.toolset import system_manifest

PROGRAM = Path(__file__).parent / "programs" / "matmul.mlir"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLIRBOOT_COMPILE_CACHE", "on")
    monkeypatch.setenv("MLIRBOOT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "artifacts"


def _hit(art) -> bool:
    return bool(art.meta.get("compile_cache", {}).get("hit"))


def _inputs(art) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(a.shape).astype(a.dtype) for a in art.signature.args]


def test_a_repeated_compile_is_a_copy(cache: Path, tmp_path: Path):
    first = compile_program(PROGRAM, target="host", out=tmp_path / "a")
    second = compile_program(PROGRAM, target="host", out=tmp_path / "b")
    assert not _hit(first) and _hit(second)
    assert len(list(cache.iterdir())) == 1
    assert (first.path / "prog").read_bytes() == (second.path / "prog").read_bytes()
    inputs = _inputs(first)
    np.testing.assert_array_equal(first.run(*inputs)[0], second.run(*inputs)[0])
    # Anything else that decides the output is another compile.
    assert not _hit(compile_program(PROGRAM, target="host", opt="O1", out=tmp_path / "c"))
    assert not _hit(compile_program(PROGRAM, target="host", out=tmp_path / "d", use_cache=False))


def test_never_from_another_toolchain(cache: Path, tmp_path: Path):
    compile_program(PROGRAM, target="host", out=tmp_path / "a")
    manifest = json.loads(system_manifest().to_json())
    manifest["lock_hash"] = "another-toolchain"
    (tmp_path / "tc").mkdir()
    (tmp_path / "tc" / "toolchain.json").write_text(json.dumps(manifest))
    other = compile_program(
        PROGRAM, target="host", out=tmp_path / "b", toolchain=tmp_path / "tc" / "toolchain.json"
    )
    assert not _hit(other)
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_entry_is_compiled_again(cache: Path, tmp_path: Path):
    compile_program(PROGRAM, target="host", out=tmp_path / "a")
    (entry,) = cache.iterdir()
    (entry / "prog").unlink()
    again = compile_program(PROGRAM, target="host", out=tmp_path / "b")
    assert not _hit(again) and (again.path / "prog").is_file()
    assert _hit(compile_program(PROGRAM, target="host", out=tmp_path / "c"))


def test_concurrent_compiles_share_one_entry(cache: Path, tmp_path: Path):
    cmds = [
        [
            sys.executable,
            "-m",
            "mlirboot.bootstrap.cli",
            "compile",
            str(PROGRAM),
            "-o",
            str(tmp_path / f"out{i}"),
        ]
        for i in range(3)
    ]
    procs = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 1
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging left
    assert _hit(compile_program(PROGRAM, target="host", out=tmp_path / "again"))


def test_the_cache_key_follows_the_program_text(cache: Path):
    manifest = system_manifest()
    settings = {"target": "t"}
    assert compile_cache.key(b"a", settings, manifest) != compile_cache.key(
        b"b", settings, manifest
    )
    assert compile_cache.key(b"a", settings, manifest) == compile_cache.key(
        b"a", settings, manifest
    )
