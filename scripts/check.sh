#!/usr/bin/env bash
# The static checks, from the repository root, in the environment
# scripts/lib.sh picks (the active venv first): ruff (lint, then format), mypy
# (types) and import-linter (layers; [tool.importlinter] in pyproject.toml).
# Each prints `== check NAME: ok`, or its findings and `== check NAME: FAILED`;
# all run, and the script exits non-zero when any failed. Needs the `test`
# extra: pip install -e '.[test]'.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
use_venv

failed=()
check() {  # check NAME COMMAND...
  local name=$1
  shift
  echo "== check $name ..."
  if "$@"; then
    echo "== check $name: ok"
  else
    echo "== check $name: FAILED (exit $?)"
    failed+=("$name")
  fi
}

# mypy and import-linter find `mlirboot` by its name. An editable install maps
# it onto the whole checkout (tests, benchmarks and scripts included) through
# an import hook mypy cannot see, so both read a folder holding just the
# package, as the wheel lays it out.
farm=$(mktemp -d)
trap 'rm -rf "$farm"' EXIT
mkdir "$farm/mlirboot"
: >"$farm/mlirboot/__init__.py"
ln -s "$REPO/bootstrap" "$farm/mlirboot/bootstrap"
ln -s "$REPO/backend" "$farm/mlirboot/backend"

need() {  # need MODULE: is the tool installed?
  "$PY" -c "import $1" 2>/dev/null && return 0
  echo "$1 is not installed in $("$PY" -c 'import sys; print(sys.prefix)'): pip install -e '.[test]'"
  return 1
}

ruff_check() { need ruff && "$PY" -m ruff check .; }
ruff_format() {
  need ruff || return 1
  # One line a file, where this ruff has --output-format for format --check.
  local concise=()
  "$PY" -m ruff format --help | grep -q -- --output-format && concise=(--output-format concise)
  "$PY" -m ruff format --check "${concise[@]}" .
}

mypy_check() {
  need mypy || return 1
  # Paths as in the repository: bootstrap/x.py, not mlirboot/bootstrap/x.py.
  (cd "$farm" && MYPYPATH=$farm "$PY" -m mypy --config-file "$REPO/pyproject.toml" \
    -p mlirboot.bootstrap -p mlirboot.backend) | sed -E 's#^mlirboot/(bootstrap|backend)/#\1/#'
}

lint_imports() {
  need importlinter || return 1
  # pyproject.toml from the working directory; `mlirboot` from the folder
  # above, with the editable install's import hook set aside.
  "$PY" - "$farm" --no-cache <<'PY'
import importlib.machinery
import sys

sys.path.insert(0, sys.argv.pop(1))


def claims_mlirboot(finder):
    if finder is importlib.machinery.PathFinder:
        return False
    try:
        return finder.find_spec("mlirboot", None) is not None
    except Exception:
        return False


sys.meta_path[:] = [f for f in sys.meta_path if not claims_mlirboot(f)]
from importlinter.cli import lint_imports_command  # noqa: E402

lint_imports_command()
PY
}

check ruff ruff_check
check ruff-format ruff_format
check mypy mypy_check
check import-linter lint_imports

if [ ${#failed[@]} -gt 0 ]; then
  echo "== checks failed: ${failed[*]}"
  exit 1
fi
echo "== checks: all ok"
