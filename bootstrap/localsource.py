"""Local sources: what a `local` source (config `sources.<name>.use: local`, or
an `MLIRBOOT_*_SOURCE` override) really is, for the lock file and the manifest.

A local tree has no pin, so the lock records what it found there instead: the
checkout's git commit and whether its work tree was dirty, or, for a tree that
is not a git checkout, a stamp of its files (paths, sizes, mtimes, modes).
Never the pin it replaced.

`override` is pure (the environment comes in as an argument).
`describe` is the one impure read: it runs `git rev-parse HEAD` and
`git status --porcelain` in the tree (reads only), or stats every file of a
non-git tree. Planning stays pure; `configure` calls `describe` once per local
source after planning, and the manifest writer calls it again after a build."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import proc, treelisting
from .filenames import USER_PRESETS_JSON

# Keys `describe` adds to a local source spec.
OBSERVED = ("git_commit", "dirty", "tree_stamp")
_SKIP_DIRS = frozenset((".git", "__pycache__"))


def override(
    source: dict[str, Any] | None,
    source_env: str | None,
    environ: Mapping[str, str],
    cwd: Path | None = None,
) -> dict[str, Any] | None:
    """The source with its `MLIRBOOT_*_SOURCE` override applied (pure). A
    relative override is taken relative to `cwd` when given."""
    if source_env and environ.get(source_env):
        path = Path(environ[source_env]).expanduser()
        if cwd is not None and not path.is_absolute():
            path = cwd / path
        return {"kind": "local", "path": str(path), "env": source_env}
    return source


def describe(path: str | Path) -> dict[str, Any]:
    """What the local tree at `path` is now: {"git_commit", "dirty"} for a git
    checkout, {"tree_stamp"} otherwise, {} when it does not exist (the build
    reports that). Reads only: git runs with GIT_OPTIONAL_LOCKS=0, so `status`
    does not even refresh the index. A plain dir inside someone else's checkout
    (not in its HEAD) counts as not a git checkout."""
    root = Path(path)
    if not root.is_dir():
        return {}
    commit = _git(root, "rev-parse", "--verify", "HEAD")
    prefix = _git(root, "rev-parse", "--show-prefix")
    tracked = prefix is not None and (
        not prefix.strip() or bool(_git(root, "ls-tree", "HEAD", "--", "."))
    )
    if commit and tracked:
        status = _git(
            root,
            "status",
            "--porcelain",
            "--untracked-files=normal",
            "--",
            ".",
            # Written by `configure --write-source-presets`: not a change of the source.
            f":(exclude,glob)**/{USER_PRESETS_JSON}",
        )
        return {"git_commit": commit.strip(), "dirty": bool((status or "").strip())}
    return {"tree_stamp": tree_stamp(root)}


def observe(components: Iterable[Any]) -> None:
    """Add `describe`'s answer to every component's local source."""
    seen: dict[str, dict[str, Any]] = {}
    for comp in components:
        source = comp.source
        if source and source.get("kind") == "local":
            path = source["path"]
            if path not in seen:
                seen[path] = describe(path)
            base = {k: v for k, v in source.items() if k not in OBSERVED}
            comp.source = {**base, **seen[path]}


def tree_stamp(root: Path) -> str:
    """sha256 of the tree's stat listing (every entry's relative path, kind,
    size, mtime and mode; symlink targets), as the engine stamps unpacked
    sources (engine/treestamp.py): an edit, addition or removal changes it.
    A stat walk, not a content hash: hashing every byte of an LLVM tree on
    each configure would cost many seconds; this costs about one."""
    lines = treelisting.listing(root)
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def _git(root: Path, *args: str) -> str | None:
    """git's stdout, or None when git is missing or says no (not a checkout)."""
    if proc.which("git") is None:
        return None
    result = proc.run(
        ["git", "-C", str(root), *args],
        stage="local source: git",
        check=False,
        env={"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
    )
    return result.output if result.returncode == 0 else None
