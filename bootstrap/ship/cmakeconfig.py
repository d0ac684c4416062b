"""The CMake package configs of a --dev package, made to fit what it ships.

LLVM's and MLIR's exported target files (`lib/cmake/*/*Targets-<config>.cmake`,
`*Exports-<config>.cmake`) compute their prefix from their own location, so
they work from any prefix. But at `find_package` time they check that every
file of every imported target exists. A package ships the shared libraries and
tools, not the static component libraries (Debian's MLIRTargets check 440 of
them, 730 MB), so those checks would fail: for each target whose file is not
shipped, its `list(APPEND _cmake_import_check_targets ...)` line is commented
out, as Debian's own LLVMExports already does for most LLVM targets. The
targets stay defined: linking one that is not shipped fails at build time,
naming the missing file.
"""

from __future__ import annotations

import re

# Export files of one build configuration: the ones that hold the checks.
EXPORT_FILE = re.compile(r"^lib/cmake/[^/]+/[^/]*(Targets|Exports)-[a-z]+\.cmake$")
_TARGET = re.compile(r"^list\(APPEND _cmake_import_check_targets (\S+) \)$", re.M)
_FILES = re.compile(r"^list\(APPEND _cmake_import_check_files_for_(\S+) (.*) \)$", re.M)
MARK = "# mlirboot package: file not shipped: "


def trim_import_checks(text: str, shipped: set[str]) -> str | None:
    """`text` with the existence checks of targets whose files are not in
    `shipped` (paths relative to the prefix) commented out; None if none are."""
    missing: set[str] = set()
    for target, files in _FILES.findall(text):
        for path in re.findall(r'"([^"]*)"', files):
            if not path.startswith("${_IMPORT_PREFIX}/"):
                continue  # outside the prefix: the system's, not ours to judge
            if path.removeprefix("${_IMPORT_PREFIX}/") not in shipped:
                missing.add(target)
    if not missing:
        return None

    def comment(m: re.Match[str]) -> str:
        return f"{MARK}{m.group(0)}" if m.group(1) in missing else m.group(0)

    new = _TARGET.sub(comment, text)
    return None if new == text else new
