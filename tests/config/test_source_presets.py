"""`configure --write-source-presets`: a CMakeUserPresets.json in the
component's source dir includes the build dir's presets, and real CMake's
`cmake --preset <component>`, run there as the README says, configures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mbtest import REPO, configured
from mlirboot.bootstrap import localsource
from mlirboot.bootstrap.configure import source_presets, write, write_source_presets
from mlirboot.bootstrap.engine.hostinfo import find_tool
from mlirboot.bootstrap.errors import UsageError


@pytest.fixture
def passes_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of backend/passes planned as the passes component's source, so
    the test writes into the copy, not the checkout."""
    src = tmp_path / "passes-src"
    shutil.copytree(REPO / "backend" / "passes", src)
    monkeypatch.setattr("mlirboot.bootstrap.passes.recipe.source_dir", lambda: src)
    return src


def test_cmake_preset_configures_from_the_source_dir(tmp_path: Path, passes_copy: Path):
    result = configured(tmp_path, "host")  # provider system: passes against the system MLIR
    assert result.source_dirs["passes"] == passes_copy
    items = source_presets(result)
    assert [(i.component, i.path, i.state) for i in items] == [
        ("passes", passes_copy / "CMakeUserPresets.json", "new")
    ]
    write(result)
    write_source_presets(items)
    build = tmp_path / "build"
    user = json.loads((passes_copy / "CMakeUserPresets.json").read_text())
    assert user["include"] == [str(build / "CMakePresets.json")]
    assert "mlirboot" in user["vendor"]

    proc = subprocess.run(
        [find_tool("cmake"), "--preset", "passes"],
        cwd=passes_copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    binary = build / "passes" / "build"
    assert f"Build files have been written to: {binary}" in proc.stdout
    cache = (binary / "CMakeCache.txt").read_text()
    assert f"CMAKE_HOME_DIRECTORY:INTERNAL={passes_copy}" in cache
    assert f"CMAKE_INSTALL_PREFIX:PATH={result.plan.prefix}" in cache
    assert "MLIR_DIR:PATH=/usr/lib/llvm-22/lib/cmake/mlir" in cache

    # A re-run changes nothing: same text, same file (mtime kept).
    before = (passes_copy / "CMakeUserPresets.json").stat().st_mtime_ns
    again = source_presets(configured(tmp_path, "host"))
    assert [i.state for i in again] == ["unchanged"]
    write_source_presets(again)
    assert (passes_copy / "CMakeUserPresets.json").stat().st_mtime_ns == before


def test_a_users_presets_file_is_never_overwritten(tmp_path: Path, passes_copy: Path):
    mine = passes_copy / "CMakeUserPresets.json"
    mine.write_text('{"version": 4, "configurePresets": []}\n')
    with pytest.raises(UsageError) as err:
        source_presets(configured(tmp_path, "host"))
    assert str(mine) in err.value.line() and "did not write it" in err.value.line()
    assert mine.read_text() == '{"version": 4, "configurePresets": []}\n'


def test_cli_refuses_a_users_file_in_one_line_and_writes_nothing(cli, tmp_path: Path):
    src = tmp_path / "llvm-project"
    (src / "llvm").mkdir(parents=True)
    (src / "llvm" / "CMakeLists.txt").write_text("project(x NONE)\n")
    mine = src / "llvm" / "CMakeUserPresets.json"
    mine.write_text("{}\n")
    proc = cli(
        "configure",
        "--set",
        "provider=source",
        "--write-source-presets",
        env={"MLIRBOOT_LLVM_SOURCE": str(src)},
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"llvm: {mine}" in proc.stderr and "Traceback" not in proc.stderr
    assert mine.read_text() == "{}\n"
    assert not (tmp_path / "build").exists()


def test_a_source_not_fetched_yet_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLIRBOOT_CACHE_DIR", str(tmp_path / "cache"))
    result = configured(tmp_path, "host", "provider=source")
    llvm = [i for i in source_presets(result) if i.component == "llvm"]
    assert [i.state for i in llvm] == ["skipped"] and "mlirboot fetch" in llvm[0].why
    assert llvm[0].path.is_relative_to(tmp_path / "cache")


def test_the_presets_file_does_not_change_a_sources_identity(tmp_path: Path):
    """The source cache's content stamps and the lock's view of a local tree
    (tree stamp, git dirty) leave CMakeUserPresets.json out."""
    plain = tmp_path / "plain" / "llvm"
    plain.mkdir(parents=True)
    (plain / "CMakeLists.txt").write_text("project(x NONE)\n")
    stamp = localsource.tree_stamp(plain.parent)
    (plain / "CMakeUserPresets.json").write_text("{}\n")
    assert localsource.tree_stamp(plain.parent) == stamp
    (plain / "other.txt").write_text("x\n")
    assert localsource.tree_stamp(plain.parent) != stamp

    repo = tmp_path / "repo"
    (repo / "llvm").mkdir(parents=True)
    (repo / "llvm" / "CMakeLists.txt").write_text("project(x NONE)\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    (repo / "llvm" / "CMakeUserPresets.json").write_text("{}\n")
    assert localsource.describe(repo)["dirty"] is False
    (repo / "llvm" / "new.txt").write_text("x\n")
    assert localsource.describe(repo)["dirty"] is True
