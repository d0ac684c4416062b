"""`mlirboot package`: deterministic tarballs and wheels of a real LLVM 22 toolchain."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _package(cli, build: Path, out: Path, fmt: str, **env: str) -> dict:
    res = cli(
        "package", "--format", fmt, "--toolchain", build / "toolchain", "-o", out, "--json", env=env
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_tar_is_deterministic_and_complete(cli, small_build: Path, tmp_path: Path):
    first = _package(cli, small_build, tmp_path / "a", "tar", SOURCE_DATE_EPOCH="1700000000")
    second = _package(cli, small_build, tmp_path / "b", "tar", SOURCE_DATE_EPOCH="1700000000")
    assert first["sha256"] == second["sha256"] == _sha(Path(first["path"]))
    # A different SOURCE_DATE_EPOCH is a different archive: the timestamp is really used.
    other = _package(cli, small_build, tmp_path / "c", "tar", SOURCE_DATE_EPOCH="0")
    assert other["sha256"] != first["sha256"]

    with tarfile.open(first["path"]) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert all(
            m.mtime == 1700000000 and m.uid == 0 and m.gid == 0 and not m.uname for m in members
        )
        assert not any(m.pax_headers for m in members)
        top = names[0]
        assert {
            f"{top}/lock.json",
            f"{top}/plan.json",
            f"{top}/sbom.cdx.json",
            f"{top}/toolchain/toolchain.json",
            f"{top}/toolchain/bin/FileCheck",
        } <= set(names)
        link = tar.getmember(f"{top}/toolchain/lib/libomp.so")
        assert link.issym() and link.linkname == "libomp.so.5"
        # The link's target leaves the prefix: shipped as the file it points to.
        assert tar.getmember(f"{top}/toolchain/lib/libomp.so.5").isfile()
        assert tar.getmember(f"{top}/toolchain/bin/FileCheck").mode == 0o755
        sbom = json.load(tar.extractfile(f"{top}/sbom.cdx.json"))  # type: ignore[arg-type]
        lock = json.load(tar.extractfile(f"{top}/lock.json"))  # type: ignore[arg-type]
        tar.extractall(tmp_path / "x")
    assert lock == json.loads((small_build / "lock.json").read_text())

    # The SBOM: CycloneDX 1.5, every locked Debian package with version and .deb hash.
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    libs = {c["name"]: c for c in sbom["components"] if c["type"] == "library"}
    assert {p["name"] for p in lock["system_packages"]} <= set(libs)
    # Built components are there too; only ones built from a local, unpinned
    # source (mlirboot's own passes plugin) may lack a source hash.
    local = {c for s in lock["sources"] if s["source"]["kind"] == "local" for c in s["components"]}
    assert all(c["version"] for c in libs.values())
    assert {n for n, c in libs.items() if not c.get("hashes")} <= local
    for pkg in lock["system_packages"]:
        comp = libs[pkg["name"]]
        assert comp["version"] == pkg["version"]
        assert len(comp["hashes"][0]["content"]) == 64
    # Licenses (from the plan), the .debs' real architecture, the dependency graph.
    plan = json.loads((small_build / "plan.json").read_text())
    license_of = {c["name"]: c["license"] for c in plan["components"]}
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    for comp in libs.values():
        owner = {p["name"]: p["value"] for p in comp["properties"]}.get(
            "mlirboot:component", comp["name"]
        )
        assert comp["licenses"] == [{"expression": license_of[owner]}]
        if comp["bom-ref"].startswith("deb:"):
            assert comp["purl"].endswith(f"?arch={arch}")
    graph = {d["ref"]: set(d["dependsOn"]) for d in sbom["dependencies"]}
    refs = {c["bom-ref"] for c in libs.values()}
    assert graph[sbom["metadata"]["component"]["bom-ref"]] == refs
    llvm_debs = {r for r in refs if r.startswith("deb:") and "llvm" in r}
    assert llvm_debs and llvm_debs <= graph["component:passes"]
    files = {
        c["name"]: c["hashes"][0]["content"] for c in sbom["components"] if c["type"] == "file"
    }
    root = tmp_path / "x" / top
    assert files == {rel: _sha(root / rel) for rel in files}
    assert "toolchain/lib/libomp.so.5" in files

    # The shipped tool runs from the unpacked archive.
    out = subprocess.run(
        [root / "toolchain/bin/FileCheck", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert "22.1.8" in out


def test_bad_toolchain_is_usage_error(cli, tmp_path: Path):
    res = cli("package", "--format", "tar", "--toolchain", tmp_path / "nowhere")
    assert res.returncode == 2
    assert "toolchain manifest not found" in res.stderr and "hint:" in res.stderr
    assert not (tmp_path / "dist").exists()


def _venv_install(wheel: Path, venv: Path) -> Path:
    # A fresh venv without its own pip (ensurepip costs ~8 s): this pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            venv / "bin/python",
            "install",
            "--no-index",
            "--quiet",
            wheel,
        ],
        check=True,
    )
    return venv / "bin"


def _clean_env(bindir: Path) -> dict[str, str]:
    # Nothing of the system LLVM on PATH: only the venv and the basics.
    return {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}


def test_wheel_installs_working_tool(cli, small_build: Path, tmp_path: Path):
    result = _package(cli, small_build, tmp_path / "dist", "wheel")
    wheel = Path(result["path"])
    assert wheel.name.startswith("mlirboot_toolchain-22.1.8-py3-none-")
    assert "linux" in wheel.name  # a platform wheel: it holds ELF binaries
    bindir = _venv_install(wheel, tmp_path / "venv")
    out = subprocess.run(
        ["FileCheck", "--version"],
        env=_clean_env(bindir),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "22.1.8" in out


@pytest.mark.slow
def test_system_toolchain_wheel_runs_mlir_opt(cli, system_build: Path, tmp_path: Path):
    result = _package(cli, system_build, tmp_path / "dist", "wheel")
    bindir = _venv_install(Path(result["path"]), tmp_path / "venv")
    env = _clean_env(bindir)
    for tool in ("mlir-opt", "clang++", "ld.lld"):
        assert (bindir / tool).exists()
    out = subprocess.run(
        ["mlir-opt", "--version"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "LLVM version 22.1." in out
    # Aliases keep their name as argv[0] through the launcher (clang picks its driver mode so).
    ver = subprocess.run(
        ["ld.lld", "--version"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "LLD 22.1." in ver
    src = tmp_path / "m.mlir"
    src.write_text("func.func @f(%a: i32) -> i32 { return %a : i32 }\n")
    lowered = subprocess.run(
        ["mlir-opt", "--convert-func-to-llvm", src],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "llvm.func @f" in lowered


@pytest.mark.slow
def test_system_toolchain_tarball(cli, system_build: Path, tmp_path: Path):
    result = _package(cli, system_build, tmp_path / "dist", "tar")
    # What gets shipped for Debian's LLVM 22 (documented in docs/shipping.md).
    assert 300e6 < result["unpacked_bytes"] < 600e6
    assert result["bytes"] < 200e6
    lock = json.loads((system_build / "lock.json").read_text())
    local = {c for s in lock["sources"] if s["source"]["kind"] == "local" for c in s["components"]}
    assert set(result["components_without_hash"]) <= local
    with tarfile.open(result["path"]) as tar:
        tar.extractall(tmp_path / "x")
    top = next((tmp_path / "x").iterdir())
    out = subprocess.run(
        [top / "toolchain/bin/mlir-opt", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env=_clean_env(top / "toolchain/bin"),
    ).stdout
    assert "LLVM version 22.1." in out
