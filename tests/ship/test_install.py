"""`mlirboot install`: a package tarball into a prefix anywhere, every file
checked; the installed prefix is relocatable (its toolchain.json holds paths
relative to itself)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mlirboot.bootstrap.manifest import Manifest
from mlirboot.bootstrap.ship.install import requirements

from .conftest import LLVM

AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _nobody_cannot_run_mlirboot() -> str:
    """Why uid 65534 cannot run this interpreter with mlirboot importable (a
    checkout or venv under root's private home), or "" when it can."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return "needs root and setpriv to act as an unprivileged user"
    probe = [*AS_NOBODY, sys.executable, "-c", "import mlirboot.bootstrap.cli"]
    done = subprocess.run(probe, capture_output=True, text=True, cwd="/")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["exit status"])[-1]
        return f"uid 65534 cannot run {sys.executable} with mlirboot importable ({last})"
    return ""


_NOBODY_SKIP = _nobody_cannot_run_mlirboot()
needs_root = pytest.mark.skipif(bool(_NOBODY_SKIP), reason=_NOBODY_SKIP)


@pytest.fixture(scope="module")
def tiny_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real package of a cut-down system toolchain: FileCheck (a tool that
    loads no LLVM library) and libomp (a link chain leaving /usr/lib/llvm-22),
    bundled from the distribution's LLVM 22. Packaging it takes a second."""
    if not (LLVM / "bin" / "FileCheck").exists():
        pytest.skip("the distribution's LLVM 22 is not installed (mlirboot provision)")
    work = tmp_path_factory.mktemp("tiny")
    (work / "tc").mkdir()
    Manifest(
        mlirboot_version="0",
        provider="system",
        llvm_version="22.1.8",
        prefix=str(work / "tc"),
        targets=["host"],
        tools={"FileCheck": str(LLVM / "bin" / "FileCheck")},
        libraries={"omp": str(LLVM / "lib" / "libomp.so")},
        components={
            "llvm": {"version": "22.1.8", "provider": "system", "prefix": str(LLVM)},
        },
    ).write(work / "tc" / "toolchain.json")
    done = subprocess.run(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", "package", "--toolchain", "tc", "--json"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return work / json.loads(done.stdout)["path"]


def _rewrite(
    src: Path, dst: Path, change: Callable[[tarfile.TarInfo, bytes | None], object]
) -> Path:
    """A copy of the package with members changed: `change(info, data)` returns
    new bytes, None to keep the member, or False to drop it."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz", format=tarfile.GNU_FORMAT) as tout:
        for info in tin.getmembers():
            data = tin.extractfile(info).read() if info.isfile() else None  # type: ignore[union-attr]
            new = change(info, data)
            if new is False:
                continue
            if isinstance(new, bytes):
                data, info.size = new, len(new)
            tout.addfile(info, io.BytesIO(data) if data is not None else None)
    return dst


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".install-" in p.name or ".old-" in p.name]


def test_install_move_and_reinstall(cli, tiny_package: Path, tmp_path: Path):
    res = cli("install", tiny_package, "--prefix", tmp_path / "a" / "p", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["replaces"] is False and out["files"] > 4
    prefix = tmp_path / "a" / "p"
    data = json.loads((prefix / "toolchain.json").read_text())
    # Relocatable: every path inside the package is relative to the prefix.
    assert data["prefix"] == "." and data["tools"]["FileCheck"] == "bin/FileCheck"
    assert data["libraries"]["omp"] == "lib/libomp.so"
    assert "prefix" not in data["components"]["llvm"]  # its files are in the package
    assert "libc.so.6" in data["requires"]["system_libraries"]
    assert (prefix / ".mlirboot" / "package" / "sbom.cdx.json").is_file()
    assert not _leftovers(tmp_path / "a")

    # Moved, it still works: the manifest resolves against its new place.
    moved = tmp_path / "moved"
    prefix.rename(moved)
    manifest = Manifest.load(moved / "toolchain.json")
    assert manifest.prefix == str(moved)
    tool = Path(manifest.tool("FileCheck"))
    assert tool == moved / "bin" / "FileCheck"
    ran = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    assert "22.1.8" in ran.stdout
    assert (moved / "lib" / "libomp.so").resolve().is_file()

    # An install of mlirboot's is replaced as a whole; a dry run changes nothing.
    (moved / "bin" / "stray").write_text("x")
    before = sorted(p.name for p in (moved / "bin").iterdir())
    res = cli("install", tiny_package, "--prefix", moved, "--dry-run", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["dry_run"] is True
    assert sorted(p.name for p in (moved / "bin").iterdir()) == before
    res = cli("install", tiny_package, "--prefix", moved)
    assert res.returncode == 0, res.stderr
    assert "replacing" in res.stdout and not (moved / "bin" / "stray").exists()
    assert not _leftovers(tmp_path)


def test_tampered_file_is_named(cli, tiny_package: Path, tmp_path: Path):
    def flip(info: tarfile.TarInfo, data: bytes | None) -> object:
        if info.name.endswith("toolchain/bin/FileCheck"):
            assert data is not None
            return data[:-1] + bytes([data[-1] ^ 1])
        return None

    bad = _rewrite(tiny_package, tmp_path / "bad.tar.gz", flip)
    res = cli("install", bad, "--prefix", tmp_path / "p")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1
    assert "toolchain/bin/FileCheck does not match its sha256 in the SBOM" in res.stderr
    assert not (tmp_path / "p").exists() and not _leftovers(tmp_path)


def test_extra_or_missing_member_is_refused(cli, tiny_package: Path, tmp_path: Path):
    with tarfile.open(tiny_package) as tar:
        top = tar.getnames()[0]

    def drop(info: tarfile.TarInfo, data: bytes | None) -> object:
        return False if info.name.endswith("toolchain/lib/libomp.so.5") else None

    res = cli("install", _rewrite(tiny_package, tmp_path / "d.tar.gz", drop), "--prefix", "p1")
    assert res.returncode == 2 and "lib/libomp.so.5 is in the SBOM but missing" in res.stderr

    with tarfile.open(tiny_package) as tin, tarfile.open(tmp_path / "a.tar", "w") as tout:
        for info in tin.getmembers():
            tout.addfile(info, tin.extractfile(info) if info.isfile() else None)
        extra = tarfile.TarInfo(f"{top}/toolchain/bin/zz-extra")
        extra.size = 2
        tout.addfile(extra, io.BytesIO(b"hi"))
    res = cli("install", tmp_path / "a.tar", "--prefix", "p2")
    assert (
        res.returncode == 2 and "toolchain/bin/zz-extra is not in the package's SBOM" in res.stderr
    )
    # The same file twice (a second copy would win on extraction): refused.
    with tarfile.open(tiny_package) as tin, tarfile.open(tmp_path / "t.tar", "w") as tout:
        for info in tin.getmembers():
            tout.addfile(info, tin.extractfile(info) if info.isfile() else None)
        again = tin.getmember(f"{top}/toolchain/bin/FileCheck")
        tout.addfile(again, tin.extractfile(again))
    res = cli("install", tmp_path / "t.tar", "--prefix", "p3")
    assert res.returncode == 2 and "toolchain/bin/FileCheck appears twice" in res.stderr
    assert not any((tmp_path / p).exists() for p in ("p1", "p2", "p3"))
    assert not _leftovers(tmp_path)


def test_link_out_of_the_prefix_is_refused(cli, tiny_package: Path, tmp_path: Path):
    def escape(info: tarfile.TarInfo, data: bytes | None) -> object:
        if info.name.endswith("toolchain/lib/libomp.so"):
            info.linkname = "../../lock.json"
        return None

    bad = _rewrite(tiny_package, tmp_path / "bad.tar.gz", escape)
    res = cli("install", bad, "--prefix", tmp_path / "p")
    assert res.returncode == 2 and "links out of the prefix" in res.stderr
    assert not (tmp_path / "p").exists() and not _leftovers(tmp_path)


def test_foreign_non_empty_prefix_is_left_alone(cli, tiny_package: Path, tmp_path: Path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    res = cli("install", tiny_package, "--prefix", mine)
    assert res.returncode == 2
    assert "is not empty and was not made by `mlirboot install`" in res.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    # An empty directory is fine: the install is renamed over it.
    (tmp_path / "empty").mkdir()
    assert cli("install", tiny_package, "--prefix", tmp_path / "empty").returncode == 0
    assert (tmp_path / "empty" / "bin" / "FileCheck").is_file()


@pytest.mark.parametrize("kind", ["truncated", "not-gzip", "wheel", "sha256"])
def test_wrong_or_corrupt_archive(cli, tiny_package: Path, tmp_path: Path, kind: str):
    bad = tmp_path / "pkg.tar.gz"
    extra: list[str] = []
    if kind == "truncated":
        bad.write_bytes(tiny_package.read_bytes()[: tiny_package.stat().st_size // 2])
        expect = "is not a usable mlirboot package: not a readable .tar.gz"
    elif kind == "not-gzip":
        bad.write_text("hello, not an archive\n")
        expect = "not a readable .tar.gz"
    elif kind == "wheel":
        bad = tmp_path / "mlirboot_toolchain-22.1.8-py3-none-linux_x86_64.whl"
        bad.write_bytes(b"PK")
        expect = "is a wheel"
    else:
        shutil.copy(tiny_package, bad)
        extra = ["--sha256", "0" * 64]
        expect = f"not the {'0' * 64} given"
    res = cli("install", bad, "--prefix", tmp_path / "p", *extra)
    assert res.returncode == 2, res.stderr
    assert expect in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "p").exists() and not _leftovers(tmp_path)


def test_missing_system_library_is_reported():
    found = requirements({"requires": {"system_libraries": ["libc.so.6", "libnot-here.so.9"]}})
    assert found["missing_libraries"] == ["libnot-here.so.9"]
    found = requirements({"requires": {"tools": {"ptxas": "/nonexistent/bin/ptxas"}}})
    assert found["missing_tools"] == ["ptxas"]


def test_old_absolute_manifest_still_loads(tmp_path: Path):
    data = {
        "schema": 1,
        "mlirboot_version": "0",
        "provider": "system",
        "llvm_version": "22.1.8",
        "prefix": str(LLVM),
        "tools": {"FileCheck": str(LLVM / "bin" / "FileCheck")},
    }
    (tmp_path / "toolchain.json").write_text(json.dumps(data))
    manifest = Manifest.load(tmp_path / "toolchain.json")
    assert (
        manifest.prefix == str(LLVM) and manifest.tools["FileCheck"] == data["tools"]["FileCheck"]
    )
    # Written again: paths outside the manifest's dir stay absolute, inside become relative.
    manifest.libraries["mine"] = str(tmp_path / "lib" / "libmine.so")
    manifest.write(tmp_path / "toolchain.json")
    again = json.loads((tmp_path / "toolchain.json").read_text())
    assert again["schema"] == 2 and again["prefix"] == str(LLVM)
    assert again["libraries"]["mine"] == "lib/libmine.so"


@needs_root
def test_unprivileged_install_and_unwritable_prefix(tiny_package: Path):
    base = Path(tempfile.mkdtemp(prefix="mlirboot-install-"))  # pytest's are private to root
    try:
        base.chmod(0o755)
        pkg = base / tiny_package.name
        shutil.copy(tiny_package, pkg)
        pkg.chmod(0o644)
        home = base / "home"
        home.mkdir()
        os.chown(home, 65534, 65534)
        cmd = [*AS_NOBODY, sys.executable, "-m", "mlirboot.bootstrap.cli", "install", str(pkg)]
        env = {**os.environ, "HOME": str(home)}
        done = subprocess.run(
            [*cmd, "--prefix", str(home / "llvm")], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        assert (home / "llvm" / "bin" / "FileCheck").stat().st_uid == 65534
        # A prefix in a directory the user cannot write: one line, exit 2.
        done = subprocess.run(
            [*cmd, "--prefix", str(base / "root-owned" / "llvm")],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 2
        assert "cannot write beside the prefix" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    finally:
        shutil.rmtree(base, ignore_errors=True)


TINY_CMAKE = """\
cmake_minimum_required(VERSION 3.20)
project(tiny LANGUAGES CXX)
find_package(MLIR CONFIG REQUIRED)
message(STATUS "found LLVM_DIR=${LLVM_DIR}")
add_executable(tiny tiny.cpp)
target_include_directories(tiny PRIVATE ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
target_link_libraries(tiny PRIVATE MLIR LLVM)
"""
TINY_CPP = """\
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

int main() {
  mlir::MLIRContext ctx;
  mlir::OpBuilder b(&ctx);
  auto module = mlir::ModuleOp::create(b.getUnknownLoc());
  module->setAttr("tiny.answer", b.getI32IntegerAttr(6 * 7));
  module->print(llvm::outs());
  return 0;
}
"""


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name  # the venv's cmake/ninja wheels
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"no {name}")
    return found


@pytest.mark.slow
@needs_root
def test_dev_package_moved_compiles_runs_and_builds_against(
    cli, system_build: Path, tmp_path: Path
):
    """The issue's whole story on a real system toolchain: package it with the
    development files, install it as an unprivileged user, move the prefix,
    then compile and run a program through the backend with it (checked
    against numpy) and build a CMake project with find_package(MLIR CONFIG)."""
    import numpy as np

    cmake, ninja, cxx = _tool("cmake"), _tool("ninja"), _tool("c++")
    res = cli("package", "--dev", "--toolchain", system_build / "toolchain", "-o", "dist", "--json")
    assert res.returncode == 0, res.stderr
    package = tmp_path / json.loads(res.stdout)["path"]
    base = Path(tempfile.mkdtemp(prefix="mlirboot-install-"))
    try:
        base.chmod(0o755)
        shutil.copy(package, base / package.name)
        (base / package.name).chmod(0o644)
        home = base / "home"
        home.mkdir()
        os.chown(home, 65534, 65534)
        env = {**os.environ, "HOME": str(home)}
        cmd = [sys.executable, "-m", "mlirboot.bootstrap.cli", "install", str(base / package.name)]
        done = subprocess.run(
            [*AS_NOBODY, *cmd, "--prefix", str(home / "a" / "llvm")],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        moved = home / "moved-llvm"
        subprocess.run([*AS_NOBODY, "mv", str(home / "a" / "llvm"), str(moved)], check=True)
        assert not (home / "a" / "llvm").exists()

        # The backend, through the moved prefix only.
        rng = np.random.default_rng(0)
        a = rng.random((64, 128), dtype=np.float32)
        b = rng.random((128, 32), dtype=np.float32)
        np.save(tmp_path / "a.npy", a)
        np.save(tmp_path / "b.npy", b)
        program = Path(__file__).parents[2] / "examples" / "matmul.mlir"
        res = cli(
            "run", program, "--target", "host", "--toolchain", moved, "-v",
            "-i", "a.npy", "-i", "b.npy", "--output", "c.npy",
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert f"{moved}/bin/mlir-opt" in res.stderr and f"{moved}/bin/clang" in res.stderr
        assert f"{moved}/lib/MlirbootPasses.so" in res.stderr
        assert "/usr/lib/llvm-22" not in res.stderr
        np.testing.assert_allclose(np.load(tmp_path / "c.npy"), a @ b, rtol=1e-4)

        # llvm-config and the CMake configs compute the prefix from where they are.
        out = subprocess.run(
            [moved / "bin" / "llvm-config", "--prefix", "--cmakedir"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert out == [str(moved), str(moved / "lib" / "cmake" / "llvm")]
        src = tmp_path / "tiny"
        src.mkdir()
        (src / "CMakeLists.txt").write_text(TINY_CMAKE)
        (src / "tiny.cpp").write_text(TINY_CPP)
        configure = subprocess.run(
            [
                cmake, "-S", src, "-B", src / "b", "-G", "Ninja",
                f"-DCMAKE_MAKE_PROGRAM={ninja}", f"-DCMAKE_CXX_COMPILER={cxx}",
                f"-DMLIR_DIR={moved / 'lib' / 'cmake' / 'mlir'}",
            ],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert configure.returncode == 0, configure.stdout + configure.stderr
        assert f"found LLVM_DIR={moved}/lib/cmake/llvm" in configure.stdout
        build = subprocess.run([cmake, "--build", src / "b"], capture_output=True, text=True)
        assert build.returncode == 0, build.stdout + build.stderr
        ran = subprocess.run([src / "b" / "tiny"], capture_output=True, text=True, check=True)
        assert "tiny.answer = 42" in ran.stdout
        ldd = subprocess.run(["ldd", src / "b" / "tiny"], capture_output=True, text=True).stdout
        assert f"{moved}/lib/libMLIR.so" in ldd
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_dev_package_holds_headers_and_cmake_configs(cli, tiny_package: Path, tmp_path: Path):
    tc = tiny_package.parent.parent / "tc"
    res = cli("package", "--dev", "--dry-run", "--json", "--toolchain", tc, "-o", "dist")
    assert res.returncode == 0, res.stderr
    members = set(json.loads(res.stdout)["members"])
    assert {
        "toolchain/lib/cmake/mlir/MLIRConfig.cmake",
        "toolchain/lib/cmake/llvm/LLVMConfig.cmake",
        "toolchain/include/mlir/IR/Builders.h",
        # Debian's include/llvm is a link out of the tree: its files are copied in.
        "toolchain/include/llvm/ADT/APInt.h",
        "toolchain/bin/llvm-config",
        "toolchain/bin/mlir-tblgen",
    } <= members
    assert not any(m.endswith(".a") for m in members)
    assert not (tmp_path / "dist").exists()


@pytest.mark.skipif(not (LLVM / "lib" / "cmake" / "mlir").is_dir(), reason="no LLVM 22 dev files")
def test_export_file_checks_only_what_is_shipped():
    from mlirboot.bootstrap.ship.cmakeconfig import MARK, trim_import_checks

    text = (LLVM / "lib" / "cmake" / "mlir" / "MLIRTargets-relwithdebinfo.cmake").read_text()
    trimmed = trim_import_checks(text, {"lib/libMLIR.so.22.1", "bin/mlir-tblgen"})
    assert trimmed is not None
    lines = trimmed.splitlines()
    assert f"{MARK}list(APPEND _cmake_import_check_targets MLIRIR )" in lines
    assert "list(APPEND _cmake_import_check_targets MLIR )" in lines
    assert "list(APPEND _cmake_import_check_targets mlir-tblgen )" in lines
    # Everything shipped: nothing to change.
    assert trim_import_checks("list(APPEND _cmake_import_check_targets X )\n", set()) is None
