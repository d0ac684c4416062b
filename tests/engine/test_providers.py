"""pip and system components, provision and doctor."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from mlirboot.bootstrap import provision as prov
from mlirboot.bootstrap.doctor import requirement

from .conftest import component, mlirboot, write_plan

SYSTEM_LLVM = Path("/usr/lib/llvm-22/bin/llvm-config")
needs_llvm22 = pytest.mark.skipif(not SYSTEM_LLVM.exists(), reason="no LLVM 22 at /usr/lib/llvm-22")


def _wheel(dist: Path, name: str, version: str) -> Path:
    """A minimal real wheel, so pip installs from a local dir (no network)."""
    dist.mkdir(parents=True, exist_ok=True)
    path = dist / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for rel, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{rel},sha256={digest.decode()},{len(text)}")
    record.append(f"{info}/RECORD,,")
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in files.items():
            zf.writestr(rel, text)
        zf.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def test_pip_component_installs_and_publishes(tmp_path: Path) -> None:
    _wheel(tmp_path / "wheels", "fakepjrt", "1.2.3")
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    write_plan(
        build,
        prefix,
        [
            component(
                "pjrt",
                None,
                action="pip",
                cache_file=None,
                pip={"package": "fakepjrt", "version": "1.2.3"},
            )
        ],
    )
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "wheels")}
    result = mlirboot("build", "--build-dir", build, env=env)
    assert result.returncode == 0, result.stderr
    assert (prefix / "lib" / "python" / "fakepjrt" / "__init__.py").exists()
    manifest = json.loads((prefix / "toolchain.json").read_text())
    assert manifest["components"]["pjrt"]["provider"] == "pip"
    again = mlirboot("build", "--build-dir", build, "--json", env=env)
    assert json.loads(again.stdout)["components"][0]["steps"]["install"] == "up to date"


@needs_llvm22
def test_system_provider_manifest_tools_run(tmp_path: Path) -> None:
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    write_plan(
        build,
        prefix,
        [
            component(
                "llvm",
                None,
                action="system",
                cache_file=None,
                version="22.1.8",
                provides={"tools": ["clang", "mlir-opt", "llvm-headers"], "libraries": []},
                packages=[{"name": "llvm-22", "version": ""}],
            )
        ],
        provider="system",
    )
    result = mlirboot("build", "--build-dir", build, "--json")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((prefix / "toolchain.json").read_text())
    assert manifest["provider"] == "system"
    for tool in ("clang", "mlir-opt", "llc"):
        out = subprocess.run([manifest["tools"][tool], "--version"], capture_output=True, text=True)
        assert out.returncode == 0 and "22." in out.stdout
    assert manifest["libraries"]["omptarget"].endswith("libomptarget.so")


def test_system_provider_missing_tool_says_provision(tmp_path: Path) -> None:
    if not SYSTEM_LLVM.exists():
        pytest.skip("no LLVM 22")
    build = tmp_path / "build"
    write_plan(
        build,
        tmp_path / "prefix",
        [
            component(
                "llvm",
                None,
                action="system",
                cache_file=None,
                llvm_prefix=str(tmp_path / "fake"),
                provides={"tools": ["clang"]},
            )
        ],
        provider="system",
    )
    result = mlirboot("build", "--build-dir", build)
    assert result.returncode == 2 and "provision" in result.stderr


def _plan_with_packages(build: Path, packages: list[dict]) -> None:
    write_plan(
        build,
        build / "prefix",
        [
            component(
                "llvm",
                None,
                action="system",
                cache_file=None,
                packages=packages,
                provides={"tools": ["clang"]},
            )
        ],
        provider="system",
        targets=["host"],
    )


def test_provision_not_root_prints_command_exit_2(tmp_path: Path, monkeypatch) -> None:
    build = tmp_path / "build"
    # llvm-22 at the version installed here (Debian 12 and 13 differ): not in the command.
    have = prov.installed_versions(["llvm-22"]).get("llvm-22")
    if have is None:
        pytest.skip("llvm-22 is not installed")
    _plan_with_packages(
        build,
        [{"name": "llvm-22", "version": have}, {"name": "no-such-package-xyz", "version": "9"}],
    )
    monkeypatch.setattr(prov.os, "geteuid", lambda: 1000)
    result = prov.provision(["host"], build_dir=build)
    assert result.action == "needs-root"
    assert result.command == [
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "no-such-package-xyz=9",
    ]
    dry = prov.provision(["host"], build_dir=build, dry_run=True)
    assert dry.action == "dry-run" and dry.command == result.command


def test_provision_cli_dry_run_prints_the_command(tmp_path: Path) -> None:
    build = tmp_path / "build"
    _plan_with_packages(build, [{"name": "no-such-package-xyz", "version": "9"}])
    cmd = ["provision", "--target", "host", "--build-dir", build]
    result = mlirboot(*cmd, "--dry-run")
    assert result.returncode == 0 and "apt-get install -y" in result.stdout
    assert "no-such-package-xyz=9" in result.stdout


@needs_llvm22
def test_provision_adopts_installed_llvm(tmp_path: Path) -> None:
    result = mlirboot(
        "provision",
        "--target",
        "host",
        "--llvm-prefix",
        "/usr/lib/llvm-22",
        "--build-dir",
        tmp_path / "b",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["action"] == "adopted" and data["llvm_version"].startswith("22.")
    bad = mlirboot(
        "provision", "--target", "host", "--llvm-prefix", tmp_path, "--build-dir", tmp_path / "b"
    )
    assert bad.returncode == 2 and "no LLVM 22 install found" in bad.stderr


def test_doctor_reports_missing_with_fix(tmp_path: Path) -> None:
    check = requirement(
        {"name": "surely-not-a-tool-xyz", "kind": "executable", "fix": "apt-get install xyz"}
    )
    assert not check.ok and check.fix == "apt-get install xyz"
    assert requirement({"name": "json", "kind": "python", "fix": ""}).ok
    assert not requirement({"name": "no_such_header_xyz.h", "kind": "header", "fix": "f"}).ok
    result = mlirboot("doctor", "--target", "nvidia,intel,tpu", "--build-dir", tmp_path, "--json")
    data = json.loads(result.stdout)
    names = {c["name"] for c in data["checks"]}
    assert {"cmake", "ninja", "disk", "RAM", "ptxas", "level_zero/ze_api.h", "jaxlib"} <= names
    assert result.returncode == (0 if data["ok"] else 1)
    for c in data["checks"]:
        assert c["ok"] or c["fix"]
