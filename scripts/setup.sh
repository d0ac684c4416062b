#!/usr/bin/env bash
# What mlirboot itself needs on Debian 12/13 (part of README command 1, and run
# again by command 2): a virtual environment with mlirboot installed (editable;
# see scripts/lib.sh for which environment), and the distribution's LLVM 22 at
# the pinned versions, as `mlirboot provision` lists them. Idempotent.
# Root, or sudo, only for apt-get.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# The LLVM 22 packages the host target needs: mlirboot works out the exact
# apt-get command (pinned versions); it is empty when all are installed.
install_llvm() {
  local json cmd=()
  json=$(mlirboot provision --target host --dry-run --json)
  mapfile -t cmd < <("$PY" -c 'import json, shlex, sys
command = json.load(sys.stdin)["command"]
print("\n".join(shlex.split(command)) if command else "", end="")' <<<"$json")
  [ ${#cmd[@]} -gt 0 ] || return 0
  $SUDO apt-get update -q >/dev/null
  echo "${SUDO:+sudo }${cmd[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive "${cmd[@]}" >/dev/null
}

step venv use_venv
step pip pip_install -e "$REPO"
step apt install_llvm
# Checks the install: version 22.x and every tool the plan names.
step provision mlirboot provision --target host
