"""`mlirboot configure`: resolve → plan → render → write the build dir.

Everything is computed in memory first, so a bad config writes nothing; each
file is then replaced atomically, and files a previous configure wrote that
the new plan no longer has are removed."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import localsource, render
from .config import Resolved
from .engine import fetch, hostinfo, planfile
from .errors import UsageError
from .filenames import LOCK_JSON, PLAN_JSON, PRESETS_JSON, RESOLVED_YAML, USER_PRESETS_JSON
from .fsutil import atomic_write_text, sha256_text
from .plan import Plan, lock_data, make_plan
from .schema import to_data


@dataclass
class Configured:
    plan: Plan
    files: dict[str, str]  # name in build dir -> content
    # CMake component -> its source dir (where its CMakeLists.txt is, or will
    # be once fetched): where `cmake --preset <name>` runs.
    source_dirs: dict[str, Path]


@dataclass(frozen=True)
class SourcePresets:
    component: str
    path: Path  # <source dir>/CMakeUserPresets.json
    text: str
    state: str  # new | updated | unchanged | skipped
    why: str = ""  # for skipped


def configure(
    resolved: Resolved,
    *,
    build_dir: Path,
    prefix: Path | None,
    cwd: Path,
    codename: str | None,
    environ: Mapping[str, str] | None = None,
) -> Configured:
    """The files `configure` writes, by name. Writes nothing. Planning is pure;
    the one outside read is `localsource.observe`: the git commit (or content
    hash) of each local source tree, so the lock names what will be built
    rather than the pin a MLIRBOOT_*_SOURCE override or `use: local` replaced.
    `environ` (default: os.environ) holds those overrides."""
    targets = list(resolved.config.targets)
    plan = make_plan(
        resolved,
        build_dir=build_dir,
        prefix=prefix,
        cwd=cwd,
        codename=codename,
        render_cache=lambda comp: render.cache_file(comp, targets),
        environ=os.environ if environ is None else environ,
    )
    localsource.observe(plan.components)
    resolved_text = render.to_yaml(to_data(resolved.config))
    plan.config_hash = sha256_text(resolved_text)
    lock_text = render.to_json(lock_data(plan))
    plan.lock_hash = sha256_text(lock_text)
    files = {RESOLVED_YAML: resolved_text, LOCK_JSON: lock_text}
    for comp in plan.components:
        if comp.cache_file:
            files[comp.cache_file] = render.cache_file(comp, targets)
    sources = source_dirs(plan, cwd)
    files[PRESETS_JSON] = render.presets(
        plan.components, Path(plan.build_dir), Path(plan.prefix), sources, _ninja()
    )
    files[PLAN_JSON] = render.to_json(plan.to_data())
    return Configured(plan, files, sources)


def _ninja() -> str | None:
    """The ninja `mlirboot build` will run, for the presets; None when there
    is none yet (configure still works; `build` says what is missing)."""
    try:
        return hostinfo.find_tool("ninja")
    except UsageError:
        return None


def source_dirs(plan: Plan, cwd: Path) -> dict[str, Path]:
    """Each CMake component's source dir: its local tree, or its tree's place
    in the source cache (there once fetched), plus source_subdir."""
    out = {}
    for comp in plan.components:
        if comp.action != "cmake" or not comp.source:
            continue
        tree = fetch.tree_path(comp.source)
        if tree is None:
            continue
        tree = tree if tree.is_absolute() else cwd / tree
        out[comp.name] = tree / comp.source_subdir if comp.source_subdir else tree
    return out


def source_presets(configured: Configured) -> list[SourcePresets]:
    """`--write-source-presets`: per CMake component, the CMakeUserPresets.json
    for its source dir and what writing it would do. Reads only. A file there
    that mlirboot did not write (no `vendor.mlirboot` key) is the user's: one
    error, before anything is written."""
    build_presets = Path(configured.plan.build_dir) / PRESETS_JSON
    text = render.user_presets(build_presets)
    out = []
    for name, src in configured.source_dirs.items():
        path = src / USER_PRESETS_JSON
        if not (src / "CMakeLists.txt").is_file():
            out.append(
                SourcePresets(
                    name,
                    path,
                    text,
                    "skipped",
                    "its source is not on disk yet: `mlirboot fetch`, then configure again",
                )
            )
            continue
        state = "new"
        if path.exists() or path.is_symlink():
            if not _ours(path):
                raise UsageError(
                    f"{USER_PRESETS_JSON} exists and mlirboot did not write it "
                    "(no vendor.mlirboot key); left as it is",
                    where=f"{name}: {path}",
                    hint=f'add "include": ["{build_presets}"] to it yourself, '
                    "or move it aside and re-run",
                )
            state = "unchanged" if path.read_text() == text else "updated"
        out.append(SourcePresets(name, path, text, state))
    return out


def _ours(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and isinstance(data.get("vendor"), dict)
        and (render.VENDOR in data["vendor"])
    )


def write_source_presets(presets: list[SourcePresets]) -> None:
    for item in presets:
        if item.state not in ("new", "updated"):
            continue
        try:
            atomic_write_text(item.path, item.text)
        except OSError as err:
            raise UsageError(
                f"cannot write {USER_PRESETS_JSON}: {err.strerror}",
                where=f"{item.component}: {item.path}",
                hint="make the source dir writable, or drop --write-source-presets",
            ) from None


def write(configured: Configured) -> list[Path]:
    build_dir = Path(configured.plan.build_dir)
    if build_dir.exists() and not build_dir.is_dir():
        raise UsageError(
            "build dir exists and is not a directory",
            where=str(build_dir),
            hint="pass another --build-dir",
        )
    try:
        return _write(configured, build_dir)
    except OSError as err:
        raise UsageError(
            f"cannot write the build dir: {err.strerror}",
            where=str(err.filename or build_dir),
            hint="pass --build-dir DIR in a writable place",
        ) from None


def _write(configured: Configured, build_dir: Path) -> list[Path]:
    stale = _previous_cache_files(build_dir) - set(configured.files)
    written = []
    for name, text in configured.files.items():
        path = build_dir / name
        # Unchanged files keep their mtime: ninja/cmake see nothing new.
        if not (path.exists() and path.read_text() == text):
            atomic_write_text(path, text)
        written.append(path)
    for name in sorted(stale):
        (build_dir / name).unlink(missing_ok=True)
    return written


def _previous_cache_files(build_dir: Path) -> set[str]:
    old = planfile.load_data_or_none(build_dir)
    if old is None:
        return set()  # no plan, or one that is not a JSON object: remove nothing
    try:
        return {c["cache_file"] for c in old["components"] if c.get("cache_file")} & {
            f"{c['name']}.cmake" for c in old["components"]
        }
    except (LookupError, TypeError, AttributeError):
        return set()  # not a plan this configure can trust: remove nothing
