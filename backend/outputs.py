"""Where `compile` and `run` may write, checked before any work starts:
nothing of the user's is deleted or overwritten.

- an artifact dir (`-o`) is new, empty, or an artifact mlirboot wrote (its
  artifact.json lists every other entry);
- a temps dir (`--save-temps`) is new, empty, or carries the marker file that
  lists what an earlier --save-temps wrote there (only those are replaced);
- an output file (`run --output`) is new, in an existing writable directory.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..bootstrap.errors import MlirbootError, UsageError
from ..bootstrap.fsutil import check_writable_parent
from .artifact import ARTIFACT_JSON, read_meta
from .context import TEMPS

TEMPS_MARKER = ".mlirboot-temps"


def _listing(path: Path) -> list[str]:
    try:
        return sorted(p.name for p in path.iterdir())
    except OSError as err:
        raise UsageError(
            f"cannot list {path}: {err.strerror}", where=str(path), hint="pick another directory"
        ) from None


def _temps_ours(out: Path, listed: set[str]) -> bool:
    """The artifact's temps/ (kept by the keep_temps option) holds only files
    its artifact.json lists: a file a user put there is never replaced."""
    temps = out / TEMPS
    if temps.is_symlink() or not temps.is_dir():
        return False
    for root, dirs, files in os.walk(temps):
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]:
            if (Path(root) / name).relative_to(out).as_posix() not in listed:
                return False
    return True


def artifact_owned(out: Path) -> bool:
    """An artifact dir mlirboot wrote: artifact.json lists every other entry
    (and every file in its temps/)."""
    try:
        meta = read_meta(out)
    except MlirbootError:
        return False
    files = {v for v in meta["files"].values() if isinstance(v, str) and v}
    ours = {ARTIFACT_JSON} | {Path(v).parts[0] for v in files} - {TEMPS}
    temps_listed = meta.get("temps")
    if isinstance(temps_listed, list) and _temps_ours(
        out, files | {v for v in temps_listed if isinstance(v, str)}
    ):
        ours.add(TEMPS)
    return all(name in ours for name in _listing(out))


def _check_output_dir(
    path: Path, where: str, *, owned: bool, verb: str, not_dir_hint: str, hint: str
) -> None:
    """A directory mlirboot may write: new, empty, or `owned` (ours already)."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise UsageError(f"{path} exists and is not a directory", where=where, hint=not_dir_hint)
    if path.is_dir() and _listing(path) and not owned:
        raise UsageError(
            f"refusing to {verb} {path}: it holds files mlirboot did not write",
            where=where,
            hint=hint,
        )
    check_writable_parent(path, where)


def check_artifact_dir(out: Path) -> None:
    """`-o OUT` before compiling: refuse anything that is not ours to replace."""
    _check_output_dir(
        out,
        f"-o {out}",
        owned=out.is_dir() and artifact_owned(out),
        verb="replace",
        not_dir_hint="-o names a new artifact directory; pick a new name",
        hint="pick a new or empty output directory",
    )


def check_apart(out: Path, temps: Path) -> None:
    """`-o` and `--save-temps` are two directories, neither inside the other
    (the temps would make the artifact dir one mlirboot may not replace)."""
    a, b = out.resolve(), temps.resolve()
    if a == b or a in b.parents or b in a.parents:
        raise UsageError(
            f"-o {out} and --save-temps {temps} overlap",
            where=f"--save-temps {temps}",
            hint="keep the temps in a directory of their own, beside the artifact",
        )


def check_outside(program: Path, out: Path, where: str) -> None:
    """The program must not live inside a directory the compile replaces."""
    if out.resolve() in program.resolve().parents:
        raise UsageError(
            f"the program {program} is inside {out}, which the compile replaces",
            where=where,
            hint="move the program out of it, or pick another directory",
        )


def publish_artifact(workdir: Path, out: Path) -> None:
    """Move the finished work dir to `out` (checked by check_artifact_dir)."""
    check_artifact_dir(out)  # again: something may have appeared while compiling
    if out.is_dir():
        if _listing(out):
            shutil.rmtree(out)
        else:
            out.rmdir()
    os.replace(workdir, out)


def _temps_owned(dest: Path) -> list[str] | None:
    """Names an earlier --save-temps wrote into `dest`, or None if not marked."""
    try:
        names = json.loads((dest / TEMPS_MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return [n for n in names if n and "/" not in n and n not in (".", "..")]


def check_temps_dir(dest: Path) -> None:
    """`--save-temps DIR` before compiling."""
    _check_output_dir(
        dest,
        f"--save-temps {dest}",
        owned=dest.is_dir() and _temps_owned(dest) is not None,
        verb="write into",
        not_dir_hint="--save-temps names a new or empty directory",
        hint="pick a new or empty directory",
    )


def save_temps(temps: Path, dest: Path) -> None:
    """Copy the stage files into `dest`, replacing only what an earlier
    --save-temps wrote there (the marker lists it)."""
    check_temps_dir(dest)
    dest.mkdir(exist_ok=True)
    for name in _temps_owned(dest) or []:
        old = dest / name
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
    names = sorted(p.name for p in temps.iterdir()) if temps.is_dir() else []
    clash = [n for n in names if (dest / n).exists() or (dest / n).is_symlink()]
    if clash:
        raise UsageError(
            f"refusing to overwrite {dest / clash[0]}: mlirboot did not write it",
            where=f"--save-temps {dest}",
            hint="pick a new or empty directory",
        )
    (dest / TEMPS_MARKER).write_text(json.dumps(names) + "\n")
    for name in names:
        src = temps / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True)
        else:
            shutil.copy2(src, dest / name, follow_symlinks=False)


def npy_path(spec: str) -> Path:
    """The file numpy.save writes for `spec` (it appends .npy when missing)."""
    return Path(spec if spec.endswith(".npy") else spec + ".npy")


def check_new_files(paths: list[tuple[Path, str]]) -> None:
    """Output files (path, where): new, distinct, in writable directories."""
    seen: set[Path] = set()
    for path, where in paths:
        if path.exists() or path.is_symlink():
            raise UsageError(
                f"{path} exists; mlirboot does not overwrite files",
                where=where,
                hint="remove it first, or pick a new name",
            )
        key = path.absolute()
        if key in seen:
            raise UsageError(
                f"{path} is named twice", where=where, hint="give each output its own file"
            )
        seen.add(key)
        check_writable_parent(path, where)
