#!/usr/bin/env bash
# README command 1: set up on a fresh Debian 12/13 machine (as root), provision the
# distribution's LLVM 22 (the embedded default), build the toolchain manifest, then
# compile and run a split host/device program through the offload runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The installed CLI, independent of whether the console script is on PATH yet.
mlirboot() { "$PY" -m mlirboot.bootstrap.cli "$@"; }

bash scripts/setup.sh
mlirboot configure --target host
mlirboot build
mlirboot doctor --target host
"$PY" scripts/demo.py --toolchain build/toolchain
