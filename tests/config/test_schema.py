"""The shipped JSON Schema matches the model and validates real user files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlirboot.bootstrap.config import CONFIGS_DIR
from mlirboot.bootstrap.schema_file import schema_text

SCHEMA_FILE = CONFIGS_DIR / "mlirboot.schema.json"
TESTS = Path(__file__).resolve().parent.parent


def test_shipped_schema_is_in_sync_with_the_model():
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "regenerate: python -m mlirboot.bootstrap.schema_file > configs/mlirboot.schema.json"
    )


def _validator():
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize(
    "path",
    [
        CONFIGS_DIR / "toolchain.yaml",
        *sorted((CONFIGS_DIR / "profiles").glob("*.yaml")),
        *sorted((TESTS / "configs" / "good").glob("*.yaml")),
    ],
    ids=lambda p: p.name,
)
def test_shipped_and_good_files_validate(path: Path):
    _validator().validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    "name", ["unknown_key", "wrong_type", "bad_choice", "unknown_component", "version_as_float"]
)
def test_schema_rejects_what_mlirboot_rejects(name: str):
    data = yaml.safe_load((TESTS / "configs" / "broken" / f"{name}.yaml").read_text())
    assert list(_validator().iter_errors(data))
