#!/usr/bin/env bash
# README command 2: install what the tests need (Debian packages as root or
# through sudo, Python packages into mlirboot's virtual environment), then run
# them. Idempotent. Extra arguments go to pytest, e.g.
# `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bash scripts/setup.sh
use_venv

# Tools the tests drive besides LLVM: a host C/C++ compiler (the tests' small
# CMake projects use CMake's default one), source unpacking, the offload
# runtime's build dependencies (LLVMSupport links zlib and zstd), SPIR-V
# validation, distributed and cached builds, BLAS, and containers (buildah on
# a debootstrap base; netavark, its recommended network stack, which Debian
# 13's buildah cannot create a build container without), and Graphviz (the
# plan graph rendered to SVG/PNG).
step apt apt_install gcc g++ ca-certificates git xz-utils zlib1g-dev libzstd-dev libffi-dev libze-dev \
  spirv-tools distcc redis-server ccache sccache libopenblas-dev buildah netavark debootstrap \
  graphviz

# The real LLVM 22.1.8 source comes from Debian's llvm-toolchain-22 source
# package: a deb-src entry on the machine's own Debian mirror, for the suite
# the config pins.
add_deb_src() {
  local suite file=/etc/apt/sources.list.d/mlirboot-src.sources
  suite=$(mlirboot config show --json | "$PY" -c \
    'import json, sys; print(next(e["value"] for e in json.load(sys.stdin) if e["key"] == "sources.llvm.debian.suite"))')
  if ! grep -qs "^Suites: $suite\$" "$file"; then
    "$PY" bootstrap/aptsources.py deb-src "$suite" | $SUDO tee "$file" >/dev/null
    $SUDO apt-get update -q >/dev/null
  fi
}
step deb-src add_deb_src
step pip pip_install -e "$REPO[test]"

# The real LLVM 22.1.8 source, for tests that drive LLVM's own CMake: fetched
# and verified by mlirboot itself into its cache (reused on later runs).
if [ -z "${MLIRBOOT_LLVM_SOURCE:-}" ]; then
  scratch=$(mktemp -d)
  mlirboot configure --target host --set offload.provider=source -B "$scratch" >/dev/null
  MLIRBOOT_LLVM_SOURCE=$(mlirboot fetch -B "$scratch" offload --print-path)
  export MLIRBOOT_LLVM_SOURCE
  rm -rf "$scratch"
fi

# pytest's exit 5 (no test ran) is non-zero, so it fails this script too.
"$PY" -m pytest "$@"
