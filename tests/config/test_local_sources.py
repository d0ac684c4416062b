"""Honest lock files: a local source (MLIRBOOT_*_SOURCE or `use: local`) is
recorded as what it is — its path and git commit (+ dirty), or a content hash
of a plain tree — never as the pin it replaced."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mlirboot.bootstrap import localsource
from mlirboot.bootstrap.config import resolve
from mlirboot.bootstrap.configure import configure
from mlirboot.bootstrap.engine import manifest_writer
from mlirboot.bootstrap.engine.planfile import Component

PIN = "ca7933e47d3a3451d81e72ac174dcb5aa28b59d1"  # the pinned llvmorg-22.1.8 commit
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _configure(tmp_path: Path, *sets: str, environ: dict[str, str] | None = None):
    resolved = resolve(targets=["host"], sets=["provider=source", *sets], cwd=tmp_path)
    return configure(
        resolved,
        build_dir=tmp_path / "build",
        prefix=None,
        cwd=tmp_path,
        codename="trixie",
        environ=environ or {},
    )


def _llvm_source(result) -> dict:
    lock = json.loads(result.files["lock.json"])
    (entry,) = [s for s in lock["sources"] if "llvm" in s["components"]]
    return entry["source"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, text=True, capture_output=True
    ).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "llvm-project"
    repo.mkdir()
    (repo / "README").write_text("a small checkout\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "README")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    return repo


@needs_git
def test_env_override_locks_the_checkouts_commit(tmp_path: Path, checkout: Path):
    pinned = _llvm_source(_configure(tmp_path, "sources.llvm.use=git"))
    assert pinned["commit"] == PIN
    env = {"MLIRBOOT_LLVM_SOURCE": str(checkout)}
    result = _configure(tmp_path, "sources.llvm.use=git", environ=env)
    source = _llvm_source(result)
    assert source == {
        "kind": "local",
        "path": str(checkout),
        "env": "MLIRBOOT_LLVM_SOURCE",
        "git_commit": _git(checkout, "rev-parse", "HEAD"),
        "dirty": False,
    }
    assert PIN not in result.files["lock.json"]
    (checkout / "README").write_text("edited\n")
    assert _llvm_source(_configure(tmp_path, environ=env))["dirty"] is True
    # the same inputs still give the same lock
    assert _configure(tmp_path, environ=env).files == _configure(tmp_path, environ=env).files


@needs_git
def test_relative_override_is_taken_from_cwd(tmp_path: Path, checkout: Path):
    source = _llvm_source(_configure(tmp_path, environ={"MLIRBOOT_LLVM_SOURCE": checkout.name}))
    assert source["path"] == str(checkout) and "git_commit" in source


def test_config_local_plain_dir_locks_a_content_hash(tmp_path: Path):
    tree = tmp_path / "src"
    (tree / "llvm").mkdir(parents=True)
    (tree / "llvm" / "CMakeLists.txt").write_text("project(x)\n")
    result = _configure(tmp_path, "sources.llvm.use=local", f"sources.llvm.local={tree}")
    source = _llvm_source(result)
    assert set(source) == {"kind", "path", "tree_stamp"}
    assert source["kind"] == "local" and source["path"] == str(tree)
    assert source["tree_stamp"] == localsource.tree_stamp(tree)
    (tree / "llvm" / "CMakeLists.txt").write_text("project(y)\n")
    changed = _llvm_source(
        _configure(tmp_path, "sources.llvm.use=local", f"sources.llvm.local={tree}")
    )
    assert changed["tree_stamp"] != source["tree_stamp"]


@needs_git
def test_plain_dir_inside_another_checkout_is_not_that_checkout(tmp_path: Path, checkout: Path):
    inner = checkout / "untracked-tree"
    inner.mkdir()
    (inner / "f").write_text("x\n")
    assert set(localsource.describe(inner)) == {"tree_stamp"}
    assert set(localsource.describe(checkout)) == {"git_commit", "dirty"}


def test_missing_local_tree_is_left_for_the_build_to_report(tmp_path: Path):
    assert localsource.describe(tmp_path / "missing") == {}


@needs_git
def test_manifest_records_the_local_tree_not_the_pin(tmp_path: Path, checkout: Path, monkeypatch):
    comp = Component(
        name="enzyme",
        recipe="enzyme",
        action="cmake",
        version="0.0.1",
        source={"kind": "git", "url": "https://x/Enzyme", "commit": "0" * 40},
        source_env="MLIRBOOT_ENZYME_SOURCE",
    )
    assert manifest_writer._source_entry(comp) == {"source": "git"}
    monkeypatch.setenv("MLIRBOOT_ENZYME_SOURCE", str(checkout))
    entry = manifest_writer._source_entry(comp)
    assert entry == {
        "source": "local",
        "path": str(checkout.resolve()),
        "env": "MLIRBOOT_ENZYME_SOURCE",
        "git_commit": _git(checkout, "rev-parse", "HEAD"),
        "dirty": False,
    }
