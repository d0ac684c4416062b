"""A tree's stat listing: one sorted line per entry (kind, relative path,
size, mtime_ns, mode; a symlink's target). Its sha256 identifies the tree's
state without reading any file: the engine stamps unpacked sources with it
(engine/treestamp.py) and the lock file names a local non-git tree by it
(localsource.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .filenames import USER_PRESETS_JSON

# Python writes these when tools from the tree run: not a change of the tree.
SKIP_DIRS = frozenset(("__pycache__",))
# CMake's per-user presets: never part of a source (CMake's docs: not to be
# checked in), and `configure --write-source-presets` puts one into source dirs.
SKIP_FILES = frozenset((USER_PRESETS_JSON,))


def _esc(name: str) -> str:
    return name.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def listing(root: Path, skip_top: frozenset[str] = frozenset()) -> list[str]:
    """One line per entry, sorted: `f<TAB>path<TAB>size<TAB>mtime_ns<TAB>mode`,
    `l<TAB>path<TAB>target`, `d<TAB>path`. Names in `skip_top` are left out
    at the top level, `SKIP_FILES` at every level. Directory mtimes are not recorded (creating and
    deleting a temp file changes them)."""
    lines: list[str] = []
    stack = [(str(root), "")]
    while stack:
        path, rel = stack.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                name = f"{rel}/{_esc(entry.name)}" if rel else _esc(entry.name)
                if not rel and entry.name in skip_top:
                    continue
                # d_type answers dir/symlink without a syscall; only files are stat'ed.
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIP_DIRS:
                        lines.append(f"d\t{name}")
                        stack.append((entry.path, name))
                elif entry.name in SKIP_FILES:
                    continue
                elif entry.is_symlink():
                    lines.append(f"l\t{name}\t{_esc(os.readlink(entry.path))}")
                else:
                    st = entry.stat(follow_symlinks=False)
                    mode = stat.S_IMODE(st.st_mode)
                    lines.append(f"f\t{name}\t{st.st_size}\t{st.st_mtime_ns}\t{mode:o}")
    lines.sort()
    return lines
