"""A wheel of the toolchain for downstream Python packagers, built by
scikit-build-core (no CMake run: `wheel.cmake = false`, the toolchain files go
in as package data).

Installing it puts launchers on PATH (`mlir-opt`, `clang`, ...) that exec the
real binaries inside the wheel with its lib/ on LD_LIBRARY_PATH (Debian's tools
also carry RUNPATH $ORIGIN/../lib, which finds the same directory).

Zip archives hold no symlinks: library links (libLLVM-22.so -> libLLVM.so.22.1)
are dropped, since the loader asks for sonames and those are real files here;
tool links (clang++ -> clang, ld.lld -> lld) become launchers that exec the
target with the link's name as argv[0], which is how clang/lld pick their mode.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from .. import proc
from ..errors import BuildError, UsageError
from .payload import Payload

PACKAGE = "mlirboot_toolchain"
DIST = "mlirboot-toolchain"

_LAUNCHER = '''\
"""Console-script launchers: exec the toolchain binary shipped in this wheel."""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.join(_HERE, "toolchain")
# launcher name -> binary in toolchain/bin (aliases keep their own argv[0])
TOOLS = {tools!r}


def _exec(name):
    exe = os.path.join(_ROOT, "bin", TOOLS[name])
    lib = os.path.join(_ROOT, "lib")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (lib, env.get("LD_LIBRARY_PATH", "")) if p)
    os.execve(exe, [name, *sys.argv[1:]], env)


def _make(name):
    def main():
        _exec(name)
    main.__name__ = name
    return main


{functions}
'''


def _func(name: str) -> str:
    return "tool_" + re.sub(r"[^A-Za-z0-9]", "_", name)


def _pyproject(version: str, tools: dict[str, str], description: str) -> str:
    scripts = "\n".join(f'"{name}" = "{PACKAGE}._launch:{_func(name)}"' for name in tools)
    return f'''\
[build-system]
requires = ["scikit-build-core>=1.1"]
build-backend = "scikit_build_core.build"

[project]
name = "{DIST}"
version = "{version}"
description = "{description}"
requires-python = ">=3.8"

[project.scripts]
{scripts}

[tool.scikit-build]
# No CMake: the toolchain is already built; it goes in as package data.
wheel.cmake = false
# Platform wheel (it holds ELF binaries), usable from any Python 3.
wheel.platlib = true
wheel.py-api = "py3"
wheel.packages = ["{PACKAGE}"]
'''


def stage(
    project: Path, payload: Payload, extra: dict[str, bytes], version: str, description: str
) -> dict[str, str]:
    """Lay out the scikit-build-core project. Payload files are symlinked, not
    copied: the wheel writer reads through them."""
    pkg = project / PACKAGE
    root = pkg / "toolchain"
    tools: dict[str, str] = {}
    for entry in payload.entries:
        dest = root / entry.arcname
        if entry.arcname.startswith("bin/"):
            name = entry.arcname[4:]
            # A tool link: launch its target (within bin/) under the link's name.
            target = os.path.normpath(os.path.join("bin", entry.link)) if entry.link else None
            if target and not target.startswith("bin/"):
                raise UsageError(
                    f"tool {name} links outside bin/ ({entry.link})",
                    where=str(payload.prefix / entry.arcname),
                    hint="package it as a tarball instead",
                )
            tools[name] = target[4:] if target else name
        if entry.link is not None:
            continue
        assert entry.source is not None
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.data is not None:
            dest.write_bytes(entry.data)
        else:
            dest.symlink_to(entry.source)
    for name, data in extra.items():
        # extra names are paths in the tarball's layout: toolchain/ is `root`
        (root / name.removeprefix("toolchain/")).write_bytes(data)
    (pkg / "__init__.py").write_text(
        f'"""LLVM {version} toolchain built by mlirboot; binaries in toolchain/bin."""\n'
        f"__version__ = {version!r}\n"
    )
    funcs = "\n".join(f"{_func(n)} = _make({n!r})" for n in tools)
    (pkg / "_launch.py").write_text(_LAUNCHER.format(tools=tools, functions=funcs))
    (project / "pyproject.toml").write_text(_pyproject(version, tools, description))
    return tools


def build(
    payload: Payload,
    extra: dict[str, bytes],
    version: str,
    description: str,
    out_dir: Path,
    *,
    log_dir: Path | None = None,
) -> Path:
    """Build the wheel with scikit-build-core's PEP 517 hook; returns its path
    in out_dir (moved there atomically)."""
    try:
        import scikit_build_core  # noqa: F401
    except ImportError:
        raise UsageError(
            "scikit-build-core is not installed",
            where="package --format wheel",
            hint="pip install 'scikit-build-core>=1.1'",
        ) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlirboot-wheel-") as tmp:
        project, dist = Path(tmp) / "project", Path(tmp) / "dist"
        project.mkdir()
        dist.mkdir()
        stage(project, payload, extra, version, description)
        hook = "import sys, scikit_build_core.build as b; print(b.build_wheel(sys.argv[1]))"
        result = proc.run(
            [sys.executable, "-c", hook, str(dist)],
            stage="package/wheel",
            cwd=project,
            log_path=(log_dir / "wheel.log") if log_dir else None,
        )
        name = result.output.strip().splitlines()[-1]
        built = dist / name
        if not built.is_file():
            raise BuildError(
                f"scikit-build-core reported {name!r} but wrote no such wheel",
                where="package/wheel",
                hint="see the log",
            )
        final = out_dir / name
        # Into out_dir under a temp name (a move: rename or copy across
        # filesystems), then an atomic rename: no half-written wheel.
        tmp_final = out_dir / f".{name}.tmp"
        shutil.move(built, tmp_final)
        os.replace(tmp_final, final)
    return final
