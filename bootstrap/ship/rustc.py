"""The bootstrap.toml fragment (and environment) that points rustc's build at
an mlirboot toolchain instead of building or downloading LLVM.

Keys are rust-lang/rust's bootstrap.example.toml / src/bootstrap config
(`[llvm]` download-ci-llvm, link-shared, enzyme, offload, offload-clang-dir;
`[target.<triple>]` llvm-config, llvm-filecheck, llvm-has-rust-patches).
Every value is a path the manifest names and that exists, or a boolean
derived from what the toolchain holds.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from .. import proc
from ..errors import UsageError
from ..manifest import Manifest
from ..toolset import LLVM_MAJOR


def host_triple() -> str:
    machine = platform.machine()
    return f"{machine}-unknown-linux-gnu"


def _q(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a TOML basic string is JSON-compatible for paths


def fragment(manifest: Manifest, triple: str | None = None) -> tuple[str, dict[str, str]]:
    """(bootstrap.toml text, environment). Raises UsageError when the toolchain
    lacks llvm-config (rustc cannot use it then)."""
    triple = triple or host_triple()
    llvm_config = manifest.tools.get("llvm-config")
    if not llvm_config or not Path(llvm_config).exists():
        raise UsageError(
            "the toolchain has no llvm-config",
            where=str(manifest.path),
            hint="rust's bootstrap needs llvm-config: rebuild with it in "
            "llvm.tools, or provision the system packages (llvm-22)",
        )
    # The LLVM install llvm-config belongs to: the manifest's prefix may be an
    # overlay (mlirboot's own plugins) on top of the system LLVM.
    llvm_root = Path(llvm_config).parent.parent
    prefix = Path(manifest.prefix)
    # `shared` for Debian's and mlirboot's (LLVM_LINK_LLVM_DYLIB) builds; ask, don't assume.
    mode = proc.run([llvm_config, "--shared-mode"], stage="rustc-config/llvm-config").output
    shared = mode.strip() == "shared"
    filecheck = manifest.tools.get("FileCheck")
    enzyme = manifest.libraries.get("LLVMEnzyme")
    offload = "omptarget" in manifest.libraries or "offload" in manifest.libraries
    clang_dir = llvm_root / "lib" / "cmake" / "clang"
    lines = [
        f"# rustc bootstrap.toml fragment from `mlirboot rustc-config`: LLVM "
        f"{manifest.llvm_version} ({manifest.provider}) at {llvm_root}",
        "# Merge into rust's bootstrap.toml, or keep it as a file and list it in "
        "`include = [...]`.",
        "",
        "[llvm]",
        "# Use the LLVM below, not a prebuilt one from rust's CI.",
        f"download-ci-llvm = {_q(False)}",
        f"# Link rustc_llvm to libLLVM-{LLVM_MAJOR}.so or the static libraries: "
        f"`llvm-config --shared-mode` says {mode.strip()!r}.",
        f"link-shared = {_q(shared)}",
    ]
    if enzyme:
        lines += [
            "# std::autodiff: `enzyme = true` makes rust's bootstrap build its own bundled Enzyme",
            "# (the src/tools/enzyme submodule) against the LLVM above, in its own step. It "
            "does not",
            f"# use mlirboot's Enzyme plugin ({enzyme}); that one serves mlirboot's backend.",
            "# For a rustup nightly, `mlirboot rust enable-autodiff` installs mlirboot's "
            "Enzyme instead,",
            "# linked against that rustc's own LLVM.",
            f"enzyme = {_q(True)}",
        ]
    else:
        lines += [
            "# std::autodiff off: this toolchain has no Enzyme (configure with "
            "enzyme.enabled=true). With",
            "# `enzyme = true` rust's bootstrap would build its own bundled Enzyme "
            "against the LLVM above.",
            f"enzyme = {_q(False)}",
        ]
    if offload:
        lines += [
            "# std::offload: rust's bootstrap then builds the OpenMP/offload runtimes "
            "itself, in its",
            "# OmpOffload step, compiling their device code with the clang found through "
            "offload-clang-dir;",
            "# this toolchain has an offload runtime, so that clang and LLVM can do it.",
            f"offload = {_q(True)}",
        ]
        if (clang_dir / "ClangConfig.cmake").exists():
            lines += [
                "# Directory holding ClangConfig.cmake: the clang rust's OmpOffload "
                "step compiles device code with.",
                f"offload-clang-dir = {_q(str(clang_dir))}",
            ]
    else:
        lines += [
            "# No `offload` key: this toolchain has no offload runtime (std::offload "
            "needs liboffload or libomptarget in the toolchain)."
        ]
    lines += [
        "",
        "[build]",
        "# The machine rustc is built on (and, by default, for).",
        f"build = {_q(triple)}",
        "",
        f"[target.{triple}]",
        "# The external LLVM: with llvm-config set, bootstrap builds no LLVM for this target.",
        f"llvm-config = {_q(llvm_config)}",
        "# Upstream LLVM carries none of rust's LLVM patches.",
        f"llvm-has-rust-patches = {_q(False)}",
    ]
    if filecheck and Path(filecheck).exists():
        lines += [
            "# FileCheck for rust's codegen and assembly tests.",
            f"llvm-filecheck = {_q(filecheck)}",
        ]
    env = {
        # rustc_llvm and the built rustc load libLLVM-22.so from here at run time.
        "LD_LIBRARY_PATH": _dirs(llvm_root / "lib", prefix / "lib"),
        "PATH": _dirs(llvm_root / "bin", prefix / "bin"),
        "LLVM_CONFIG": llvm_config,
    }
    return "\n".join(lines) + "\n", env


def _dirs(*paths: Path) -> str:
    """Existing directories, once each, in order, as a search path."""
    return os.pathsep.join(dict.fromkeys(str(p) for p in paths if p.is_dir()))


def paths_in(text: str) -> list[str]:
    """Every absolute path value in a fragment (what the test checks exists)."""
    import tomllib

    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, str) and node.startswith("/"):
            found.append(node)

    walk(tomllib.loads(text))
    return found
