"""The README's scripts pick the Python environment the way the README says:
an active venv, else $PYTHON when it is a venv's interpreter, else
$MLIRBOOT_VENV (default .venv), created with ${PYTHON:-python3}."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "scripts" / "lib.sh"


def chosen(env: dict[str, str]) -> str:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHON", "MLIRBOOT_VENV")
    }
    done = subprocess.run(
        ["bash", "-c", f'source "{LIB}" && use_venv && echo "$PY"'],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def a_venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("venvs") / "active"
    venv.create(path, with_pip=False)
    return path


def test_active_venv_wins(a_venv: Path, tmp_path: Path) -> None:
    got = chosen({"VIRTUAL_ENV": str(a_venv), "MLIRBOOT_VENV": str(tmp_path / "unused")})
    assert got == f"{a_venv}/bin/python"
    assert not (tmp_path / "unused").exists()


def test_python_inside_a_venv_is_used_as_is(a_venv: Path, tmp_path: Path) -> None:
    got = chosen({"PYTHON": f"{a_venv}/bin/python", "MLIRBOOT_VENV": str(tmp_path / "unused")})
    assert got == f"{a_venv}/bin/python"
    assert not (tmp_path / "unused").exists()


def test_otherwise_a_venv_is_made_with_python(tmp_path: Path) -> None:
    base = getattr(sys, "_base_executable", sys.executable)
    target = tmp_path / "made"
    got = chosen({"PYTHON": base, "MLIRBOOT_VENV": str(target)})
    assert got == f"{target}/bin/python"
    inside = subprocess.run(
        [got, "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert inside.stdout.strip() == "True"
