"""rustc's std::autodiff on mlirboot's Enzyme (`mlirboot rust enable-autodiff`).

A nightly rustc built with Enzyme support dlopens
`<sysroot>/lib/rustlib/<host>/lib/libEnzyme-<major>.so`. That library is linked
here from the toolchain's libEnzymeStatic-22.a against *that rustc's own*
libLLVM, so one LLVM serves the process: linked against the toolchain's libLLVM
instead, rustc would load two LLVMs exporting the same versioned symbols.

It goes either into the rustc's sysroot (a record beside it lets `--undo`
remove exactly what was added) or into an overlay: a directory of symlinks to
the sysroot plus the library, passed to rustc as `--sysroot`, leaving the
rustc's own files alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..errors import UsageError
from ..fsutil import atomic_write_text, staging_dir, staging_file
from ..manifest import Manifest
from ..toolset import LLVM_MAJOR
from .elf import is_elf

LIBRARY = f"libEnzyme-{LLVM_MAJOR}.so"
RECORD = ".mlirboot-autodiff.json"
STAGE = "rust enable-autodiff"

# What a crate needs for std::autodiff: Enzyme runs inside fat LTO, and at
# opt-level 0 rustc's unoptimized iterator IR defeats Enzyme's type analysis.
CARGO_PROFILE = '[profile.release]\nlto = "fat"\n'
RUSTFLAGS = "-Zautodiff=Enable"


@dataclass(frozen=True)
class Rustc:
    """What `rustc -vV` and `--print sysroot` say about one rustc."""

    command: list[str]
    release: str
    host: str
    llvm_version: str
    sysroot: Path

    @property
    def enzyme_dir(self) -> Path:
        return self.sysroot / "lib" / "rustlib" / self.host / "lib"

    def libllvm(self) -> Path:
        """The rustc's own shared LLVM (`libLLVM.so.22.1-rust-<release>`)."""
        # libLLVM-22-rust-*.so beside it is a linker script naming this file.
        found = [p for p in sorted((self.sysroot / "lib").glob("libLLVM*")) if is_elf(p)]
        if not found:
            raise UsageError(
                f"rustc {self.release} has no shared libLLVM in {self.sysroot / 'lib'}",
                where=STAGE,
                hint="libEnzyme must link the LLVM inside rustc: use a rustup "
                "nightly (its LLVM is a shared library)",
            )
        return found[0]


def rustc_command(rust_toolchain: str | None, rustc: str | None) -> list[str]:
    if rustc:
        return [rustc]
    return ["rustc", f"+{rust_toolchain or 'nightly'}"]


def inspect(command: list[str]) -> Rustc:
    """Ask the rustc; one clear error for a stable rustc, another LLVM major or
    a missing sysroot."""
    hint = "install one: `rustup toolchain install nightly`, or pass --rustc PATH"
    verbose = proc.run([*command, "-vV"], stage=f"{STAGE}/rustc -vV", hint=hint).output
    fields = dict(line.split(": ", 1) for line in verbose.splitlines() if ": " in line)
    release = fields.get("release", "")
    llvm = fields.get("LLVM version", "")
    who = " ".join(command)
    if not release:
        raise UsageError(f"`{who} -vV` printed no release line", where=STAGE, hint=hint)
    if "nightly" not in release and "dev" not in release:
        raise UsageError(
            f"rustc {release} ({who}) is not a nightly: std::autodiff needs -Zautodiff",
            where=STAGE,
            hint="use a nightly: `rustup toolchain install nightly`, then --rust-toolchain nightly",
        )
    match = re.match(r"(\d+)\.", llvm)
    if not match or int(match.group(1)) != LLVM_MAJOR:
        raise UsageError(
            f"rustc {release} uses LLVM {llvm or 'unknown'}, not {LLVM_MAJOR}.x: "
            f"mlirboot's Enzyme is built for LLVM {LLVM_MAJOR}",
            where=STAGE,
            hint=f"use a nightly whose `rustc -vV` says LLVM version: {LLVM_MAJOR}.x",
        )
    sysroot = Path(
        proc.run([*command, "--print", "sysroot"], stage=f"{STAGE}/rustc --print").output.strip()
    )
    if not (sysroot / "lib" / "rustlib").is_dir():
        raise UsageError(
            f"rustc {release}'s sysroot {sysroot} has no lib/rustlib",
            where=STAGE,
            hint="reinstall the toolchain (`rustup toolchain install nightly --force`)",
        )
    return Rustc(command, release, fields.get("host", ""), llvm, sysroot)


def enzyme_archive(manifest: Manifest) -> Path:
    found = manifest.libraries.get("EnzymeStatic")
    if not found or not Path(found).exists():
        raise UsageError(
            f"the toolchain at {manifest.prefix} has no libEnzymeStatic-{LLVM_MAJOR}.a",
            where=STAGE,
            hint="build it: `mlirboot configure --set enzyme.enabled=true --set "
            "enzyme.rustc=true`, MLIRBOOT_ENZYME_SOURCE=<Enzyme checkout>, `mlirboot build`",
        )
    return Path(found)


def link(manifest: Manifest, rustc: Rustc, out: Path) -> None:
    """libEnzyme-22.so from the archive, against the rustc's libLLVM only
    (`-z defs`: nothing left for another LLVM to resolve)."""
    clangxx = manifest.tools.get("clang++") or shutil.which(f"clang++-{LLVM_MAJOR}") or "c++"
    libllvm = rustc.libllvm()
    proc.run(
        [
            clangxx,
            "-shared",
            "-o",
            out,
            f"-Wl,-soname,{LIBRARY}",
            "-Wl,--whole-archive",
            enzyme_archive(manifest),
            "-Wl,--no-whole-archive",
            libllvm,
            # The rustc's lib dir, from <sysroot>/lib/rustlib/<host>/lib.
            "-Wl,-rpath,$ORIGIN/../../..",
            "-Wl,-z,defs",
        ],
        stage=f"{STAGE}/link",
        hint="the archive and this rustc's LLVM disagree; rebuild Enzyme against LLVM "
        f"{LLVM_MAJOR}",
    )


def enable(manifest: Manifest, rustc: Rustc, overlay: Path | None) -> dict[str, object]:
    """Install libEnzyme into the sysroot (or build the overlay); returns the
    report `--json` prints."""
    if overlay is not None:
        return _enable_overlay(manifest, rustc, overlay)
    target = rustc.enzyme_dir / LIBRARY
    record_path = rustc.enzyme_dir / RECORD
    if target.exists() and not record_path.exists():
        raise UsageError(
            f"{target} exists and mlirboot did not put it there",
            where=STAGE,
            hint="move it away yourself, or use --overlay DIR to leave this toolchain alone",
        )
    fd, staged = staging_file(target.parent, f".{LIBRARY}.", ".tmp")
    os.close(fd)  # the linker writes it
    try:
        link(manifest, rustc, staged)
        # The record first: a run killed between the two leaves a library
        # that --undo (and the next run) still knows as mlirboot's.
        _write_json(record_path, {"added": [target.name, RECORD], "rustc": rustc.release})
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return _report(rustc, target, sysroot=None)


def _enable_overlay(manifest: Manifest, rustc: Rustc, overlay: Path) -> dict[str, object]:
    overlay = overlay.absolute()
    marker = overlay / RECORD
    if overlay.exists() and any(overlay.iterdir()) and not marker.exists():
        raise UsageError(
            f"{overlay} is not empty and is not an mlirboot overlay",
            where=STAGE,
            hint="name a new directory for --overlay",
        )
    staging = staging_dir(overlay.parent, f".{overlay.name}.")
    try:
        _mirror(rustc.sysroot, staging, Path("lib", "rustlib", rustc.host, "lib"))
        link(manifest, rustc, staging / "lib" / "rustlib" / rustc.host / "lib" / LIBRARY)
        _write_json(staging / RECORD, {"overlay_of": str(rustc.sysroot), "rustc": rustc.release})
        if overlay.exists():
            shutil.rmtree(overlay)  # an earlier overlay of ours (the marker says so)
        os.replace(staging, overlay)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    target = overlay / "lib" / "rustlib" / rustc.host / "lib" / LIBRARY
    return _report(rustc, target, sysroot=overlay)


def _mirror(src: Path, dst: Path, keep: Path) -> None:
    """Symlinks to everything in `src`, except real directories down the path
    `keep`, whose last directory holds symlinks to its files. `dst` may exist
    (the staging dir)."""
    dst.mkdir(exist_ok=True)
    head = keep.parts[0] if keep.parts else None
    for entry in src.iterdir():
        if entry.name == head:
            _mirror(entry, dst / entry.name, Path(*keep.parts[1:]))
        else:
            (dst / entry.name).symlink_to(entry)


def undo(rustc: Rustc, overlay: Path | None) -> list[str]:
    """Remove exactly what `enable` added; returns the paths removed."""
    if overlay is not None:
        if not (overlay / RECORD).exists():
            raise UsageError(
                f"{overlay} is not an mlirboot overlay", where=STAGE, hint="check the path"
            )
        shutil.rmtree(overlay)
        return [str(overlay)]
    record_path = rustc.enzyme_dir / RECORD
    if not record_path.exists():
        raise UsageError(
            f"mlirboot added nothing to {rustc.enzyme_dir}",
            where=STAGE,
            hint="nothing to undo (an overlay is undone with --overlay DIR --undo)",
        )
    added = json.loads(record_path.read_text()).get("added", [])
    removed = []
    for name in added:
        path = rustc.enzyme_dir / Path(name).name
        if path.exists() or path.is_symlink():
            path.unlink()
            removed.append(str(path))
    return removed


def _report(rustc: Rustc, library: Path, sysroot: Path | None) -> dict[str, object]:
    flags = RUSTFLAGS + (f" --sysroot {sysroot}" if sysroot else "")
    return {
        "rustc": rustc.release,
        "llvm": rustc.llvm_version,
        "library": str(library),
        "sysroot": str(sysroot or rustc.sysroot),
        "rustflags": flags,
        "cargo_profile": CARGO_PROFILE,
    }


def _write_json(path: Path, data: dict[str, object]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
