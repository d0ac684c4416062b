#!/usr/bin/env bash
# A packaged toolchain on a machine where it was not built (README: "Install a
# package elsewhere"), checked inside a throwaway Debian root:
#
#   scripts/fresh-root.sh bookworm 'bash scripts/install-elsewhere.sh --throwaway-root'
#
# Builds the host toolchain (README command 1), `mlirboot package --dev`, purges
# every LLVM 22 package, then `mlirboot install` (refused in one line until the
# system libraries the package names are there), moves the prefix, compiles and
# runs a program through it on host and offload-host against numpy, and builds
# a CMake project with find_package(MLIR CONFIG) against it. It purges LLVM
# from the machine it runs on, hence the flag.
set -euo pipefail
if [ "${1:-}" != --throwaway-root ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
work=$(mktemp -d)

bash scripts/quickstart.sh >"$work/quickstart.log" 2>&1 || { tail -20 "$work/quickstart.log"; exit 1; }
. .venv/bin/activate
mlirboot package --dev -o "$work/pkg" -q
pkg=$(ls "$work"/pkg/*.tar.gz)

echo "== purge the distribution's LLVM 22"
pkgs=$(dpkg-query -W -f '${Package}\n' |
  grep -E '^(llvm|clang|lld|mlir|libmlir|libclang|libllvm|libomp|liboffload).*22' | tr '\n' ' ')
apt-get purge -y -q $pkgs >/dev/null
apt-get autoremove -y -q --purge >/dev/null
if [ -e /usr/lib/llvm-22 ]; then echo "install-elsewhere: /usr/lib/llvm-22 is still there" >&2; exit 1; fi

echo "== install without the system libraries the package needs: one line, exit 2"
set +e
mlirboot install "$pkg" --prefix /opt/a/llvm 2>"$work/err"
rc=$?
set -e
cat "$work/err"
[ "$rc" -eq 2 ] && [ "$(wc -l <"$work/err")" -eq 1 ] && [ ! -e /opt/a/llvm ]

# What the refusal names, plus what clang needs to compile C and link.
apt-get install -y -q --no-install-recommends libz3-4 libxml2 libedit2 libcurl4 \
  libc6-dev libgcc-12-dev binutils g++ >/dev/null
echo "== install, move"
mlirboot install "$pkg" --prefix /opt/a/llvm
mv /opt/a/llvm /opt/moved

cd "$work"
python - <<'PY'
import numpy as np
rng = np.random.default_rng(0)
np.save("a.npy", rng.random((64, 128), dtype=np.float32))
np.save("b.npy", rng.random((128, 32), dtype=np.float32))
PY
for target in host offload-host; do
  mlirboot run "$REPO/examples/matmul.mlir" --target "$target" --toolchain /opt/moved \
    --input a.npy --input b.npy --output "c-$target.npy" -v >"run-$target.log" 2>&1
  grep -q /opt/moved "run-$target.log"
  if grep -q /usr/lib/llvm-22 "run-$target.log"; then echo "used /usr/lib/llvm-22" >&2; exit 1; fi
  python -c "
import numpy as np
np.testing.assert_allclose(np.load('c-$target.npy'), np.load('a.npy') @ np.load('b.npy'), rtol=1e-4)
print('$target: the moved toolchain compiled and ran matmul; matches numpy')"
done

echo "== find_package(MLIR CONFIG) against the moved prefix"
mkdir tiny
cat >tiny/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(tiny CXX)
find_package(MLIR CONFIG REQUIRED)
message(STATUS "found MLIR at ${MLIR_DIR}")
add_executable(tiny main.cpp)
target_include_directories(tiny PRIVATE ${MLIR_INCLUDE_DIRS} ${LLVM_INCLUDE_DIRS})
target_link_libraries(tiny PRIVATE MLIR LLVM)
CMAKE
cat >tiny/main.cpp <<'CPP'
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include <cstdio>
int main() {
  mlir::MLIRContext ctx;
  mlir::OpBuilder b(&ctx);
  auto m = mlir::ModuleOp::create(b.getUnknownLoc());
  std::printf("an MLIR module with %u region(s)\n", m->getNumRegions());
  m->erase();
  return 0;
}
CPP
cmake -S tiny -B tiny/b -G Ninja -DCMAKE_PREFIX_PATH=/opt/moved >cmake.log 2>&1 || { tail -30 cmake.log; exit 1; }
grep "found MLIR at /opt/moved/" cmake.log
ninja -C tiny/b >ninja.log 2>&1 || { tail -30 ninja.log; exit 1; }
tiny/b/tiny
# grep reads all of ldd's output: with -q it may exit first and, under pipefail, ldd's SIGPIPE fails the check.
ldd tiny/b/tiny | grep "libMLIR.so.* => /opt/moved/" >/dev/null
echo "install-elsewhere: passed"
