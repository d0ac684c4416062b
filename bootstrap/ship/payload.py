"""Which files of a toolchain prefix get shipped, and how.

The manifest is the list: its tools and libraries (and, for source builds, every
installed file it records), plus the shared libraries inside the prefix that
those load (DT_NEEDED), so the shipped tools run. Libraries outside the prefix
(libstdc++, libz3, ...) are the system's and are reported, not shipped.

Symlinks are followed sensibly: a link that stays inside the prefix is shipped
as a link (and its target too); a link leaving the prefix (Debian's
lib/libLLVM.so.22.1 -> ../../x86_64-linux-gnu/...) is shipped as the file it
points to, so the package needs nothing outside itself.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..manifest import Manifest
from . import cmakeconfig, elf

# Fixed modes: the package must not depend on the umask or on who installed LLVM.
EXEC_MODE = 0o755
FILE_MODE = 0o644

# Development files, relative to each root (those present are shipped).
DEV_PATHS = (
    "include/llvm",
    "include/llvm-c",
    "include/mlir",
    "include/mlir-c",
    "lib/cmake/llvm",
    "lib/cmake/mlir",
    "bin/llvm-config",
    "bin/llvm-tblgen",
    "bin/mlir-tblgen",
    "bin/mlir-pdll",
    "bin/mlir-linalg-ods-yaml-gen",
)


@dataclass(frozen=True)
class Entry:
    arcname: str  # path relative to the prefix, '/'-separated
    source: Path | None  # regular file: where its bytes come from
    link: str | None = None  # symlink: relative target
    mode: int = FILE_MODE
    data: bytes | None = None  # regular file made here (a rewritten CMake config)

    @property
    def is_link(self) -> bool:
        return self.link is not None


@dataclass
class Payload:
    prefix: Path
    roots: list[Path] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    # manifest tools/libraries outside the prefix (ptxas under /usr/local, ...)
    external: dict[str, str] = field(default_factory=dict)
    # sonames the shipped files need that the prefix does not hold
    system_libs: list[str] = field(default_factory=list)

    def size(self) -> int:
        return sum(
            len(e.data) if e.data is not None else e.source.stat().st_size
            for e in self.entries
            if e.source
        )


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def roots_of(manifest: Manifest) -> list[Path]:
    """The trees the package is made of, highest priority first: the manifest's
    prefix (what mlirboot built), then the prefixes of `system` components (the
    distribution's LLVM the built parts sit on). They are overlaid into one tree,
    the built file winning, as the manifest writer does for tools."""
    roots = [Path(os.path.normpath(manifest.prefix))]
    for comp in manifest.components.values():
        extra = comp.get("prefix")
        if isinstance(extra, str) and Path(os.path.normpath(extra)) not in roots:
            roots.append(Path(os.path.normpath(extra)))
    return roots


def _tree(path: Path) -> list[Path]:
    """`path` itself, or every file below it (following linked directories:
    Debian's include/llvm links to /usr/include/llvm-22/llvm), named under `path`."""
    if not path.is_dir():
        return [path] if os.path.lexists(path) else []
    return [
        Path(d) / name
        for d, _dirs, names in sorted(os.walk(path, followlinks=True))
        for name in sorted(names)
    ]


def collect(manifest: Manifest, *, dev: bool = False) -> Payload:
    roots = roots_of(manifest)
    for root in roots:
        if not root.is_dir():
            raise UsageError(
                "toolchain prefix does not exist",
                where=str(root),
                hint="rebuild or re-provision the toolchain",
            )
    payload = Payload(prefix=roots[0], roots=roots)
    found: dict[str, Entry] = {}
    system: set[str] = set()
    queue: list[tuple[Path, Path]] = []

    def root_of(path: Path) -> Path | None:
        return next((r for r in roots if _inside(path, r)), None)

    wanted = {
        **{f"tool {k}": v for k, v in manifest.tools.items()},
        **{f"library {k}": v for k, v in manifest.libraries.items()},
    }
    for label, raw in sorted(wanted.items()):
        path = Path(os.path.normpath(raw))
        home = root_of(path)
        if home is None:
            payload.external[label] = raw
        else:
            queue.append((path, home))
    for rec in manifest.files:
        queue.append((roots[0] / rec["path"], roots[0]))
    trees = list(DEV_PATHS) if dev else []
    if "clang" in manifest.tools and root_of(Path(manifest.tools["clang"])) is not None:
        trees.append(f"lib/clang/{manifest.llvm_version.split('.')[0]}/include")
    for root in reversed(roots):  # a higher-priority root's file wins
        for rel in trees:
            queue += [(path, root) for path in _tree(root / rel)]

    rank: dict[str, int] = {}  # rel path -> index of the root it came from
    while queue:
        path, root = queue.pop()
        rel = path.relative_to(root).as_posix()
        if rel in found and rank[rel] <= roots.index(root):
            continue  # already have it from this root or a higher-priority one
        rank[rel] = roots.index(root)
        if path.is_symlink():
            target = Path(os.path.normpath(path.parent / os.readlink(path)))
            if _inside(target, root):
                found[rel] = Entry(rel, None, os.path.relpath(target, path.parent), 0o777)
                queue.append((target, root))
                continue
            path_real = Path(os.path.realpath(path))
        else:
            path_real = path
        if not path_real.is_file():
            raise UsageError(
                f"manifest lists {rel}, which is missing",
                where=str(path),
                hint="rebuild or re-provision the toolchain",
            )
        executable = path_real.stat().st_mode & stat.S_IXUSR
        found[rel] = Entry(rel, path_real, None, EXEC_MODE if executable else FILE_MODE)
        if elf.is_elf(path_real):
            for soname in elf.needed(path_real):
                lib = next(
                    (r / "lib" / soname for r in roots if os.path.lexists(r / "lib" / soname)), None
                )
                if lib is not None:
                    queue.append((lib, root_of(lib) or roots[0]))
                else:
                    system.add(soname)
    if dev:
        _add_library_names(roots, found)
        _fit_cmake_configs(found)
    payload.entries = sorted(found.values(), key=lambda e: e.arcname)
    payload.system_libs = sorted(system)
    return payload


def _fit_cmake_configs(found: dict[str, Entry]) -> None:
    """CMake export files that check for files the package does not hold get
    those checks commented out (cmakeconfig.py)."""
    shipped = set(found)
    for rel, entry in list(found.items()):
        if entry.source is None or not cmakeconfig.EXPORT_FILE.match(rel):
            continue
        text = cmakeconfig.trim_import_checks(entry.source.read_text(), shipped)
        if text is not None:
            found[rel] = Entry(rel, entry.source, None, entry.mode, text.encode())


def _add_library_names(roots: list[Path], found: dict[str, Entry]) -> None:
    """The other names of shipped shared libraries (lib/libMLIR.so,
    lib/libLLVM.so.1, ...): links in a root's lib/ whose file is shipped, added
    as links to the shipped name."""
    shipped = {
        os.path.realpath(e.source): e.arcname for e in found.values() if e.source is not None
    }
    for root in roots:
        lib = root / "lib"
        if not lib.is_dir():
            continue
        for path in sorted(lib.glob("lib*.so*")):
            rel = path.relative_to(root).as_posix()
            target = shipped.get(os.path.realpath(path))
            if rel in found or target is None or not path.is_symlink():
                continue
            link = os.path.relpath(target, os.path.dirname(rel) or ".")
            found[rel] = Entry(rel, None, link, 0o777)
