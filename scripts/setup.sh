#!/usr/bin/env bash
# Install what mlirboot and its tests need on Debian 12/13 (as root), the package
# itself (editable), and the distribution's LLVM 22 through mlirboot's own
# `provision` (pinned versions). Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# deb-src for trixie: the LLVM 22.1.8 source comes from Debian's
# llvm-toolchain-22 source package (see DESIGN notes in README).
if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
   || ! grep -rqs "trixie" /etc/apt/sources.list.d/mlirboot-src.sources 2>/dev/null; then
  $SUDO tee /etc/apt/sources.list.d/mlirboot-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# Build/test tools besides LLVM itself (LLVM 22 comes from `mlirboot provision`).
$SUDO apt-get install -y -q --no-install-recommends \
  ca-certificates git xz-utils libzstd-dev libffi-dev libze-dev spirv-tools \
  distcc redis-server ccache sccache \
  libopenblas-dev buildah debootstrap \
  >/dev/null

"$PY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$PY" -m pip install -q -e '.[test]'
"$PY" -m mlirboot.bootstrap.cli provision --target host
