"""The JSON Schema shipped as configs/mlirboot.schema.json, generated from
the config model (a test keeps the shipped file in sync)."""

from __future__ import annotations

import json

from .config_model import Config
from .schema import json_schema

SCHEMA_ID = "https://mlirboot.dev/schema/mlirboot.schema.json"


def schema_text() -> str:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "mlirboot.yaml",
        **json_schema(Config),
    }
    return json.dumps(schema, indent=2) + "\n"


if __name__ == "__main__":  # python -m mlirboot.bootstrap.schema_file > configs/...
    print(schema_text(), end="")
