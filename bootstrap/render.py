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


def presets(components: list[Component], build_dir: Path) -> str:
    """CMakePresets.json (version 3, CMake >= 3.21) mirroring the cache files:
    one configure + build preset per CMake component."""
    configure, build = [], []
    for comp in components:
        if comp.action != "cmake":
            continue
        variables = {
            e.key: {"type": e.cmake_type, "value": e.cmake_value}
            for s in comp.sections
            for e in s.entries
        }
        configure.append(
            {
                "name": comp.name,
                "displayName": comp.description,
                "generator": "Ninja",
                "binaryDir": str(build_dir / comp.name / "build"),
                "cacheVariables": variables,
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
        "version": 3,
        "cmakeMinimumRequired": {"major": 3, "minor": 21, "patch": 0},
        "configurePresets": configure,
        "buildPresets": build,
    }
    return json.dumps(data, indent=2) + "\n"


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
