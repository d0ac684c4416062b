"""Rendering: plan in, file contents out (CMake initial caches via jinja2,
CMakePresets.json, plan/lock JSON, resolved config YAML)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import yaml

from . import __version__
from .recipe import Component

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _cmake_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)
_env.filters["cmake_quote"] = _cmake_quote


def cache_file(component: Component, targets: list[str]) -> str:
    template = _env.get_template("cache.cmake.j2")
    return template.render(component=component, targets=targets, version=__version__) + "\n"


# Presets schema 4 (CMake >= 3.23): the first with `include`, which is how a
# component's source dir reaches the build dir's presets.
PRESETS_VERSION = 4
PRESETS_CMAKE = {"major": 3, "minor": 23, "patch": 0}
VENDOR = "mlirboot"  # the `vendor` key that marks a presets file mlirboot wrote


def presets(
    components: list[Component],
    build_dir: Path,
    prefix: Path,
    source_dirs: dict[str, Path],
    make_program: str | None = None,
) -> str:
    """CMakePresets.json mirroring the cache files: one configure + build
    preset per CMake component, with absolute paths only (binary dir, install
    prefix; the source dir and cache file under `vendor`), so a
    CMakeUserPresets.json anywhere can `include` it. CMake takes the source
    dir from where `cmake --preset` runs: the component's source dir."""
    configure, build = [], []
    for comp in components:
        if comp.action != "cmake":
            continue
        variables = {
            e.key: {"type": e.cmake_type, "value": e.cmake_value}
            for s in comp.sections
            for e in s.entries
        }
        # As the build passes it (-DCMAKE_INSTALL_PREFIX): the cache may not have it.
        variables["CMAKE_INSTALL_PREFIX"] = {"type": "PATH", "value": str(prefix)}
        if make_program:
            # The ninja the build runs (-DCMAKE_MAKE_PROGRAM), often only in
            # mlirboot's venv: `cmake --preset` must not depend on PATH.
            variables["CMAKE_MAKE_PROGRAM"] = {"type": "FILEPATH", "value": make_program}
        source = source_dirs.get(comp.name)
        vendor: dict[str, str] = {}
        if source is not None:
            vendor["sourceDir"] = str(source)
        if comp.cache_file:
            vendor["cacheFile"] = str(build_dir / comp.cache_file)
        configure.append(
            {
                "name": comp.name,
                "displayName": comp.description,
                "description": f"run from {source}" if source else comp.description,
                "generator": "Ninja",
                "binaryDir": str(build_dir / comp.name / "build"),
                "cacheVariables": variables,
                "vendor": {VENDOR: vendor},
            }
        )
        build.append(
            {
                "name": comp.name,
                "configurePreset": comp.name,
                "targets": comp.build_targets or ["all"],
            }
        )
    data = {
        "version": PRESETS_VERSION,
        "cmakeMinimumRequired": PRESETS_CMAKE,
        "configurePresets": configure,
        "buildPresets": build,
        "vendor": {VENDOR: {"generated": "by `mlirboot configure`; do not edit"}},
    }
    return json.dumps(data, indent=2) + "\n"


def user_presets(build_presets: Path) -> str:
    """A component source dir's CMakeUserPresets.json: it includes the build
    dir's presets, and its `vendor` key marks it as mlirboot's to rewrite."""
    data = {
        "version": PRESETS_VERSION,
        "cmakeMinimumRequired": PRESETS_CMAKE,
        "include": [str(build_presets)],
        "vendor": {
            VENDOR: {
                "generated": "by `mlirboot configure --write-source-presets`, which "
                "rewrites it; drop this key to keep the file as your own",
                "buildPresets": str(build_presets),
            }
        },
    }
    return json.dumps(data, indent=2) + "\n"


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
