#!/usr/bin/env bash
# README command 2: install what the tests need (as root, idempotent), then run them.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# The installed CLI, independent of whether the console script is on PATH yet.
mlirboot() { "$PY" -m mlirboot.bootstrap.cli "$@"; }

bash scripts/setup.sh

# The real LLVM 22.1.8 source, for tests that drive LLVM's own CMake: fetched
# and verified by mlirboot itself into its cache (reused on later runs).
if [ -z "${MLIRBOOT_LLVM_SOURCE:-}" ]; then
  scratch=$(mktemp -d)
  mlirboot configure --target host --set offload.provider=source -B "$scratch" >/dev/null
  MLIRBOOT_LLVM_SOURCE=$(mlirboot fetch -B "$scratch" offload --print-path)
  export MLIRBOOT_LLVM_SOURCE
  rm -rf "$scratch"
fi

set +e
"$PY" -m pytest "$@"
status=$?
set -e
# pytest's 5 means no test ran: that is a failure for us, never a pass.
exit $status
