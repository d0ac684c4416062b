#!/usr/bin/env bash
# README command 1: on a Debian 12/13 machine, set up (scripts/setup.sh: a
# virtual environment, mlirboot, the distribution's LLVM 22), build the
# toolchain manifest, then compile and run a split host/device program through
# the LLVM offload runtime. Run as root, or as a user with sudo for apt-get.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bash scripts/setup.sh
use_venv
step configure mlirboot configure --target host
step build mlirboot build
step doctor mlirboot doctor --target host
step demo "$PY" scripts/demo.py --toolchain build/toolchain

bin=$(dirname "$PY")
cat <<MSG

mlirboot is installed in $(dirname "$bin"). To use it from this shell:
  . $bin/activate        # then: mlirboot --help
or call it by its full path: $bin/mlirboot --help
MSG
