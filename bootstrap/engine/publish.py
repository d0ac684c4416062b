"""Publish a staged install into the prefix so that a component is either
wholly there or not at all.

State lives in `<prefix>/.mlirboot/`:
  records/<name>.json   what the component owns: {state, generation, files}
  incoming/<name>/      the staged files, copied onto the prefix's filesystem
  backup/<name>/        files the publish displaced (older versions, stale files)

Order: copy the stage to incoming (slow, invisible) → write the record with
state "publishing" and the full file list → for each file move the old one to
backup and rename the new one in → record "done" → drop backup/incoming.
A failure rolls back from backup. A killed publish leaves the record at
"publishing"; the next run sees it, rolls back, and publishes again. Readers
(the manifest) only trust "done" records.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import BuildError
from ..fsutil import atomic_write_text

STATE_DIR = ".mlirboot"


def _state(prefix: Path, kind: str, name: str) -> Path:
    return prefix / STATE_DIR / kind / name


def record_path(prefix: Path, name: str) -> Path:
    return prefix / STATE_DIR / "records" / f"{name}.json"


def read_record(prefix: Path, name: str) -> dict[str, Any] | None:
    try:
        data = json.loads(record_path(prefix, name).read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None  # damaged: publish again


def done_records(prefix: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((prefix / STATE_DIR / "records").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(data, dict) and data.get("state") == "done":
            out[path.stem] = data
    return out


def is_published(prefix: Path, name: str, generation: str) -> bool:
    rec = read_record(prefix, name)
    return rec is not None and rec.get("state") == "done" and rec.get("generation") == generation


def _write_record(prefix: Path, name: str, data: dict[str, Any]) -> None:
    path = record_path(prefix, name)
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))
    # The record is the commit point: make it durable before files move.
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_hash(src: Path, dst: Path) -> str:
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while block := fin.read(1 << 20):
            digest.update(block)
            fout.write(block)
    shutil.copystat(src, dst)
    return digest.hexdigest()


def _stage_to_incoming(stage_root: Path, incoming: Path) -> dict[str, str]:
    """Copy every file and symlink; return {relative path: sha256 | symlink:target}."""
    files: dict[str, str] = {}
    for root, dirs, names in os.walk(stage_root):
        rel_root = Path(root).relative_to(stage_root)
        (incoming / rel_root).mkdir(parents=True, exist_ok=True)
        for name in sorted(names) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            src = Path(root) / name
            rel = (rel_root / name).as_posix()
            dst = incoming / rel
            if src.is_symlink():
                target = os.readlink(src)
                os.symlink(target, dst)
                files[rel] = f"symlink:{target}"
            else:
                files[rel] = _copy_hash(src, dst)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return files


def _ensure_parent(prefix: Path, rel: str) -> None:
    parent = prefix
    for part in Path(rel).parts[:-1]:
        parent = parent / part
        if os.path.lexists(parent) and not parent.is_dir():
            raise BuildError(
                f"cannot install {rel}: {parent} is a file where a directory must go",
                where="publish",
                hint=f"move or delete {parent}, or install into another prefix",
            )
    (prefix / rel).parent.mkdir(parents=True, exist_ok=True)


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


def rollback(prefix: Path, name: str, rec: dict[str, Any]) -> None:
    """Undo a publish that failed or was killed, using its record."""
    incoming, backup = _state(prefix, "incoming", name), _state(prefix, "backup", name)
    new = set(rec.get("files", {}))
    previous = rec.get("previous") or {}
    for rel in sorted(new | set(previous.get("files", {}))):
        dst, bak = prefix / rel, backup / rel
        if _lexists(bak):
            if _lexists(dst) and not dst.is_dir():
                dst.unlink()
            os.replace(bak, dst)
        elif rel in new and not _lexists(incoming / rel) and _lexists(dst) and not dst.is_dir():
            dst.unlink()  # ours: moved in, no older file to bring back
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    if previous:
        _write_record(prefix, name, previous)
    else:
        record_path(prefix, name).unlink(missing_ok=True)


def recover(prefix: Path, name: str) -> bool:
    """Roll back a publish a killed run left half-done. True if there was one."""
    rec = read_record(prefix, name)
    if rec and rec.get("state") == "publishing":
        rollback(prefix, name, rec)
        return True
    return False


def publish(
    prefix: Path,
    name: str,
    stage_root: Path,
    generation: str,
    *,
    after_file: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Move the staged tree into `prefix` as one unit. `after_file` is a test
    hook called after each file lands."""
    try:
        (prefix / STATE_DIR / "records").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BuildError(
            f"cannot write to the prefix {prefix}: {err.strerror}",
            where=f"{name}/publish",
            hint="choose a writable prefix (`--set prefix=...` at configure time)",
        ) from None
    recover(prefix, name)
    incoming, backup = _state(prefix, "incoming", name), _state(prefix, "backup", name)
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    if not stage_root.is_dir():
        raise BuildError(
            f"the install step staged nothing under {stage_root}",
            where=f"{name}/publish",
            hint="the component must install under CMAKE_INSTALL_PREFIX (the prefix)",
        )
    try:
        files = _stage_to_incoming(stage_root, incoming)
    except OSError as err:
        shutil.rmtree(incoming, ignore_errors=True)
        raise BuildError(
            f"cannot copy the staged files into the prefix: {err}",
            where=f"{name}/publish",
            hint="check free space and permissions in the prefix",
        ) from None
    previous = read_record(prefix, name)
    rec = {
        "component": name,
        "state": "publishing",
        "generation": generation,
        "files": files,
        "previous": previous,
    }
    _write_record(prefix, name, rec)
    others = {
        rel
        for other, data in done_records(prefix).items()
        if other != name
        for rel in data.get("files", {})
    }
    stale = sorted(set((previous or {}).get("files", {})) - set(files) - others)
    try:
        for rel in sorted(files):
            dst = prefix / rel
            _ensure_parent(prefix, rel)
            if _lexists(dst):
                if dst.is_dir() and not dst.is_symlink():
                    raise BuildError(
                        f"cannot install {rel}: {dst} is a directory where a file must go",
                        where="publish",
                        hint=f"move or delete {dst}",
                    )
                (backup / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(dst, backup / rel)
            os.replace(incoming / rel, dst)
            if after_file:
                after_file(rel)
        for rel in stale:
            if _lexists(prefix / rel):
                (backup / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(prefix / rel, backup / rel)
    except BaseException as err:
        rollback(prefix, name, rec)
        if isinstance(err, BuildError):
            err.where = f"{name}/publish"
            err.message += f"; nothing of `{name}` was published"
            err.args = (err.line(),)
            raise
        if isinstance(err, OSError):
            raise BuildError(
                f"cannot install into {prefix}: {err.strerror or err} "
                f"({err.filename or ''}); nothing of `{name}` was published",
                where=f"{name}/publish",
                hint="check permissions and free space in the prefix",
            ) from None
        raise
    done = {**rec, "state": "done", "previous": None}
    _write_record(prefix, name, done)
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.rmtree(backup, ignore_errors=True)
    return done
