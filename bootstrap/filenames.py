"""The names of the files mlirboot writes, defined once: `configure`'s in the
build dir, `build`'s (and `provision`'s) manifest in the prefix."""

from __future__ import annotations

from pathlib import Path

# The configs shipped with mlirboot (toolchain.yaml, targets/, pipelines/).
CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"

PLAN_JSON = "plan.json"
LOCK_JSON = "lock.json"
PRESETS_JSON = "CMakePresets.json"
# In a component's source dir, only with `configure --write-source-presets`.
USER_PRESETS_JSON = "CMakeUserPresets.json"
RESOLVED_YAML = "config.resolved.yaml"
MANIFEST_JSON = "toolchain.json"
