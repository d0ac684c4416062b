# Sourced by the README's scripts (quickstart.sh, setup.sh, test.sh): where the
# Python environment lives, how to reach root, and timed steps.
#
# Python: mlirboot never installs into the system interpreter (Debian's is
# "externally managed", PEP 668). It uses, in this order:
#   1. the virtual environment already active ($VIRTUAL_ENV);
#   2. $PYTHON, if that interpreter is itself inside a virtual environment;
#   3. $MLIRBOOT_VENV (default: .venv in the checkout, git-ignored), created
#      with ${PYTHON:-python3} when missing.
# Root: only apt-get (and writing its sources) needs it; as another user that
# runs through sudo. Everything else, `mlirboot provision`'s check of the
# installed packages included, runs as the calling user.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# step NAME COMMAND...: run a command, then print how long it took. The
# `== step NAME: S s` lines are what benchmarks/bench_first_run.py reads.
step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name ..."
  "$@"
  echo "== step $name: $((SECONDS - start)) s"
}

APT_UPDATED=""
# apt_install PKG...: install the Debian packages that are missing (nothing to
# do, and no root needed, when all are there already).
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f '${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
  echo "apt-get install ${missing[*]}"
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

in_venv() {  # in_venv PYTHON: is that interpreter inside a virtual environment?
  "$1" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null
}

# Sets PY to the environment's interpreter, creating the venv if needed.
use_venv() {
  if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PY=$VIRTUAL_ENV/bin/python
  elif [ -n "${PYTHON:-}" ] && in_venv "$PYTHON"; then
    PY=$PYTHON
  else
    local venv=${MLIRBOOT_VENV:-$REPO/.venv} base=${PYTHON:-python3}
    if [ ! -x "$venv/bin/python" ]; then
      # Debian splits venv (and ensurepip) into python3-venv.
      "$base" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
      echo "creating the virtual environment $venv with $("$base" --version)"
      "$base" -m venv "$venv"
    fi
    PY=$venv/bin/python
  fi
  export PY
}

# The installed CLI, whether or not the venv's bin/ is on PATH.
mlirboot() { "$PY" -m mlirboot.bootstrap.cli "$@"; }

pip_install() {
  "$PY" -m pip install -q --disable-pip-version-check "$@"
}
