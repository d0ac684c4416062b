"""`mlirboot doctor`: what the chosen targets need on this machine, what is
present, and for each missing piece the command that fixes it.

Per-target needs are data: the `requires:` list of configs/targets/<T>.yaml
entries ({name, kind: executable|python|header|library, fix}), read from the
build dir's plan when it was configured for the targets, else from the target
files. The generic build needs (cmake, ninja, compilers, disk, RAM) are the
small table below: they hold for every target.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from .config import CONFIGS_DIR
from .doctor_check import Check
from .doctor_farm import checks as farm_checks
from .engine import hostinfo, planfile
from .errors import UsageError
from .filenames import PLAN_JSON
from .targets import load_target_specs
from .toolset import find_system_llvm, llvm_version

GIB = 1 << 30
CMAKE_MIN = (3, 20)  # LLVM 22's cmake_minimum_required
NINJA_MIN = (1, 10)
# Disk for one source build of LLVM+MLIR+clang+lld (Release, no debug info),
# source + build + prefix; the system provider needs little.
DISK_SOURCE_GIB = 40
DISK_SYSTEM_GIB = 2
RAM_SOURCE_GIB = 8
HEADER_DIRS = [Path("/usr/include"), Path("/usr/local/include")]


def _version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(g) for g in match.groups() if g is not None) if match else ()


def _tool_version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.strip().splitlines()[0] if out.strip() else ""


def _versioned_tool(name: str, minimum: tuple[int, int], fix: str) -> Check:
    try:
        path = hostinfo.find_tool(name)
    except Exception:
        return Check(name, False, "not found", f">= {'.'.join(map(str, minimum))}", fix)
    line = _tool_version(path)
    ver = _version(line)
    return Check(
        name,
        bool(ver) and ver >= minimum,
        f"{'.'.join(map(str, ver))} ({path})",
        f">= {'.'.join(map(str, minimum))}",
        fix,
    )


def find_executable(name: str) -> str | None:
    """PATH, then bin dirs of pip packages (PyPI nvidia-cuda-nvcc puts ptxas in
    site-packages/nvidia/cu13/bin, not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    site = Path(sysconfig.get_paths()["purelib"])
    for pattern in (f"*/bin/{name}", f"*/*/bin/{name}"):
        for hit in sorted(site.glob(pattern)):
            return str(hit)
    return None


def find_header(name: str) -> str | None:
    for base in HEADER_DIRS:
        for pattern in (name, f"*/{name}", f"*/*/{name}"):
            for hit in base.glob(pattern):
                return str(hit)
    return None


def find_library(name: str) -> str | None:
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    stem = name if name.startswith("lib") else f"lib{name}"
    for line in out.splitlines():
        if line.strip().startswith(stem + ".so") or line.strip().startswith(name):
            return line.rsplit("=>", 1)[-1].strip()
    return None


def requirement(req: dict[str, str]) -> Check:
    name, kind, fix = req["name"], req.get("kind", "executable"), req.get("fix", "")
    found: str | None
    if kind == "executable":
        found = find_executable(name)
    elif kind == "python":
        found = None
        if importlib.util.find_spec(name) is not None:
            try:
                found = f"{name} {metadata.version(name)}"
            except metadata.PackageNotFoundError:
                found = name
    elif kind == "header":
        found = find_header(name)
        declares = req.get("declares")
        if found and declares and declares not in Path(found).read_text(errors="replace"):
            return Check(name, False, f"{found} is too old (no {declares})", kind, fix, kind=kind)
    elif kind == "library":
        found = find_library(name)
    else:
        found = None
        fix = fix or f"unknown requirement kind {kind!r}"
    return Check(name, found is not None, found or "missing", kind, fix, kind=kind)


def host_checks(build_dir: Path, provider: str) -> list[Check]:
    checks = [
        _versioned_tool("cmake", CMAKE_MIN, "pip install 'cmake>=3.28' (or apt-get install cmake)"),
        _versioned_tool("ninja", NINJA_MIN, "pip install ninja (or apt-get install ninja-build)"),
    ]
    cxx = shutil.which("clang++-22") or shutil.which("c++") or shutil.which("g++")
    checks.append(
        Check(
            "C++ compiler",
            cxx is not None,
            f"{_tool_version(cxx)} ({cxx})" if cxx else "missing",
            "clang-22 or g++",
            "apt-get install clang-22 (or g++)",
        )
    )
    checks.append(
        Check(
            "python",
            sys.version_info >= (3, 11),
            sys.version.split()[0],
            ">= 3.11",
            "install Python 3.11+",
        )
    )
    git = shutil.which("git")
    checks.append(
        Check(
            "git",
            git is not None,
            git or "missing",
            "for git sources",
            "apt-get install git",
            required=False,
        )
    )
    try:
        prefix = find_system_llvm()
        llvm = f"{llvm_version(prefix / 'bin' / 'llvm-config')} ({prefix})"
        has_llvm = True
    except Exception:
        llvm, has_llvm = "missing", False
    checks.append(
        Check(
            "LLVM 22",
            has_llvm,
            llvm,
            "system provider / runtimes builds",
            "mlirboot provision --target <T> (as root)",
            required=provider != "source",
        )
    )
    probe = build_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / GIB
    need_disk = DISK_SOURCE_GIB if provider == "source" else DISK_SYSTEM_GIB
    checks.append(
        Check(
            "disk",
            free >= need_disk,
            f"{free:.0f} GiB free at {probe}",
            f">= {need_disk} GiB ({provider} provider)",
            "free space or pick another --build-dir",
            kind="resource",
        )
    )
    mem = hostinfo.memory_gib()
    checks.append(
        Check(
            "RAM",
            mem >= RAM_SOURCE_GIB or provider != "source",
            f"{mem:.1f} GiB available, {hostinfo.cpu_count()} cores "
            f"(-j{hostinfo.default_jobs()}, link jobs {hostinfo.default_link_jobs()})",
            f">= {RAM_SOURCE_GIB} GiB for source builds",
            "fewer jobs (-j) or more memory",
            kind="resource",
            required=provider == "source",
        )
    )
    return checks


def target_requirements(targets: list[str], build_dir: Path) -> tuple[list[dict], str]:
    """`requires:` entries for the targets: the plan's if it covers them, else
    configs/targets/<T>.yaml."""
    plan_path = build_dir / PLAN_JSON
    plan = planfile.load_data_if_present(build_dir)
    if set(targets) <= set(plan.get("targets", [])) and isinstance(plan.get("requires"), list):
        return list(plan["requires"]), str(plan_path)
    specs = load_target_specs(CONFIGS_DIR / "targets")
    out: list[dict] = []
    for target in targets:
        spec = specs.get(target)
        if spec is None:
            raise UsageError(
                f"unknown target `{target}`",
                where="doctor",
                hint="known: " + ", ".join(sorted(specs)),
            )
        out += [asdict(r) for r in spec.requires if asdict(r) not in out]
    return out, "configs/targets"


def doctor(targets: list[str], build_dir: Path, provider: str = "system") -> list[Check]:
    checks = host_checks(build_dir, provider)
    reqs, _origin = target_requirements(targets, build_dir)
    checks += [requirement(r) for r in reqs]
    checks += farm_checks(build_dir)
    return checks
