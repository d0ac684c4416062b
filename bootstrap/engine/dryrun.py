"""`--dry-run` for `fetch` and `build`: what would be downloaded, unpacked and
run, read from the plan, the source cache and the step stamps. Nothing is
written, fetched, hashed or run: a cached archive counts as cached by its
presence (a real run re-checks it), and commands name the source tree by its
cache path even when it is not unpacked yet."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from .. import proc
from . import hostinfo
from .cachedir import cache_dir
from .fetch import _cached_path, _url_name, effective_source, tree_path
from .planfile import Component, Plan
from .stamps import Stamps


def source_plan(comp: Component, cache: Path | None = None) -> dict[str, Any]:
    """Where the component's source comes from and what fetching it would do."""
    source = effective_source(comp)
    if source is None:
        return {
            "kind": None,
            "action": f"none (no source; set {comp.source_env or 'a source in the config'})",
        }
    cache = cache or cache_dir()
    kind = source["kind"]
    out: dict[str, Any] = {"kind": kind}
    if kind == "local":
        path = Path(source["path"]).expanduser()
        out.update(
            tree=str(path), action="use local tree" if path.is_dir() else "error: not a directory"
        )
        return out
    if kind in ("tarball", "debian"):
        name = _url_name(source["url"]) if kind == "tarball" else source["file"]
        archive = _cached_path(cache, source["sha256"], name)
        tree = tree_path(source, cache)
        assert tree is not None  # a cached kind
        out.update(sha256=source["sha256"], archive=str(archive), tree=str(tree))
        if kind == "tarball":
            out["url"] = source["url"]
        else:
            out["package"] = source.get("package")
        if tree.is_dir():
            out["action"] = "reuse unpacked tree (its content stamp is checked)"
        elif archive.is_file():
            out["action"] = "verify cached archive, unpack"
        else:
            how = "download" if kind == "tarball" else "apt-get source"
            out["action"] = f"{how}, verify sha256, unpack"
        return out
    if kind == "git":
        tree = tree_path(source, cache)
        assert tree is not None  # a cached kind
        out.update(url=source["url"], commit=source["commit"], tree=str(tree))
        out["action"] = (
            "reuse checkout (its content stamp is checked)"
            if tree.is_dir()
            else "clone, check out the commit"
        )
        return out
    out["action"] = f"error: unknown source kind {kind!r}"
    return out


def _tool(name: str) -> str:
    try:
        return hostinfo.find_tool(name)
    except Exception:  # a dry run reports, it does not fail on a missing tool
        return shutil.which(name) or name


def build_plan(plan: Plan, components: list[Component], jobs: int) -> list[dict[str, Any]]:
    """Per component: the steps a build would take and their commands. A step
    whose stamp says done is marked so; the real build re-checks its key."""
    cmake, ninja = _tool("cmake"), _tool("ninja")
    rows = []
    for comp in components:
        row: dict[str, Any] = {
            "name": comp.name,
            "action": comp.action,
            "depends_on": list(comp.depends_on),
            "steps": [],
        }
        rows.append(row)
        if comp.action == "system":
            row["steps"].append(
                {
                    "step": "system",
                    "what": "check the installed packages: "
                    + ", ".join(p.name for p in comp.packages),
                }
            )
            continue
        comp_dir = plan.build_dir / comp.name
        stamps = Stamps(comp_dir / "stamps")
        done = {
            s
            for s in ("configure", "build", "install")
            if (stamps.read(s) or {}).get("state") == "done"
        }
        steps = row["steps"]
        if comp.action == "pip" and comp.pip is not None:
            target = comp_dir / "stage" / "lib" / "python"
            steps.append(
                {
                    "step": "install",
                    "stamp_done": "install" in done,
                    "command": proc.quote(
                        [
                            sys.executable,
                            "-m",
                            "pip",
                            "install",
                            "--target",
                            str(target),
                            f"{comp.pip.package}=={comp.pip.version}",
                        ]
                    ),
                }
            )
        else:
            src_info = source_plan(comp)
            row["source"] = src_info
            steps.append({"step": "fetch", "what": src_info["action"]})
            src = Path(src_info.get("tree") or "<source>")
            if comp.source_subdir:
                src = src / comp.source_subdir
            bdir = comp_dir / "build"
            cache = plan.build_dir / (comp.cache_file or f"{comp.name}.cmake")
            steps.append(
                {
                    "step": "configure",
                    "stamp_done": "configure" in done,
                    "command": proc.quote(
                        [
                            cmake,
                            "-G",
                            "Ninja",
                            "-C",
                            str(cache),
                            "-S",
                            str(src),
                            "-B",
                            str(bdir),
                            f"-DCMAKE_INSTALL_PREFIX={plan.prefix}",
                        ]
                    ),
                }
            )
            steps.append(
                {
                    "step": "build",
                    "stamp_done": "build" in done,
                    "command": proc.quote(
                        [ninja, "-C", str(bdir), f"-j{jobs}", *comp.build_targets]
                    ),
                }
            )
            steps.append(
                {
                    "step": "install",
                    "stamp_done": "install" in done,
                    "command": "DESTDIR="
                    + str(comp_dir / "stage")
                    + " "
                    + " && ".join(
                        proc.quote(c) for c in comp.install_commands(cmake, ninja, bdir, jobs)
                    ),
                }
            )
        steps.append({"step": "publish", "what": f"into {plan.prefix}"})
    return rows


def render_build(rows: list[dict[str, Any]], prefix: Path) -> str:
    lines = [f"would build {len(rows)} component(s) into {prefix} (nothing is run):"]
    for row in rows:
        deps = f" (after {', '.join(row['depends_on'])})" if row["depends_on"] else ""
        lines.append(f"  {row['name']}: {row['action']}{deps}")
        for step in row["steps"]:
            mark = " [stamp: done]" if step.get("stamp_done") else ""
            lines.append(f"    {step['step']}{mark}: {step.get('command') or step.get('what')}")
    return "\n".join(lines)
