"""The bad-input corpus: configs, command lines, programs and inputs, and files
mlirboot wrote that were damaged afterwards. Each case runs the real CLI and
must exit 2 with exactly one stderr line naming where, carrying a hint (whose
absolute paths exist), no traceback, and nothing changed in its directory.

Together with tests/configs/broken/*.yaml (one case per file) and
tests/config/test_broken_configs.py's command lines this is the corpus."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


PROGRAM = REPO / "tests" / "backend" / "programs" / "matmul.mlir"
DIR = object()  # a file value that means "make a directory here"


class Link(str):
    """A file value that means "make a symlink to this target here"."""


Files = dict[str, object]


@dataclass
class Case:
    id: str
    argv: list[str]
    expect: str  # text the one error line must contain
    where: str = ""  # the error line must start with `mlirboot: error: {where}`
    files: Files | Callable[[dict[str, object]], Files] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None  # default: the case's own directory


def _npy(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _fn(sig: str, body: str) -> str:
    return f"func.func @f({sig}) {{\n{body}  return\n}}\n"


def _identity(type_: str) -> str:
    return f"func.func @f(%a: {type_}) -> {type_} {{\n  return %a : {type_}\n}}\n"


def _npz() -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, a=np.ones(3, np.float32))
    return buf.getvalue()


A = _npy(np.ones((64, 128), np.float32))
B = _npy(np.ones((128, 32), np.float32))


def _plan(edit: Callable[[dict], object]) -> Callable[[dict[str, object]], Files]:
    """A build dir `b` whose plan.json is the good one after `edit` (which may
    change the dict in place or return a replacement: bytes, str or data)."""

    def files(good: dict[str, object]) -> Files:
        data = json.loads(str(good["plan"]))
        out = edit(data)
        value = data if out is None else out
        text = value if isinstance(value, str | bytes) else json.dumps(value)
        return {"b/plan.json": text, "b/lock.json": str(good["lock"])}

    return files


def _manifest(edit: Callable[[dict], object]) -> Callable[[dict[str, object]], Files]:
    def files(good: dict[str, object]) -> Files:
        data = json.loads(str(good["manifest"]))
        out = edit(data)
        value = data if out is None else out
        text = value if isinstance(value, str | bytes) else json.dumps(value)
        return {"tc/toolchain.json": text, "prog.mlir": PROGRAM.read_text()}

    return files


def _artifact(edit: Callable[[dict], object] | None) -> Callable[[dict[str, object]], Files]:
    """A copy of a real host artifact of matmul.mlir as `art/`, its
    artifact.json edited (None: left intact), plus the inputs a.npy, b.npy."""

    def files(good: dict[str, object]) -> Files:
        art = Path(str(good["artifact"]))
        out: Files = {
            f"art/{p.name}": (p.read_bytes(), p.stat().st_mode & 0o777)
            for p in art.iterdir()
            if p.is_file()
        }
        if edit is not None:
            data = json.loads((art / "artifact.json").read_text())
            value = edit(data)
            value = data if value is None else value
            out["art/artifact.json"] = (
                value if isinstance(value, str | bytes) else json.dumps(value)
            )
        out["a.npy"], out["b.npy"] = A, B
        return out

    return files


def _del(key: str) -> Callable[[dict], None]:
    return lambda d: d.pop(key) and None


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda d: d.__setitem__(key, value)


LAUGHS = (
    "x=[&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], "
    + ", ".join(
        f"&{c} [" + ",".join([f"*{p}"] * 10) + "]" for p, c in zip("bcdef", "cdefg", strict=True)
    )
    + "]"
)
RUN = ["run", "art"]
AB = ["-i", "a.npy", "-i", "b.npy"]

CASES = [
    # --- config files that are not plain UTF-8 YAML ---------------------------
    Case(
        "config-latin1",
        ["configure", "--config", "c.yaml"],
        "not UTF-8: byte 0xe9 at offset 5",
        "c.yaml:1",
        {"c.yaml": b"# caf\xe9\ntargets: [host]\n"},
    ),
    Case(
        "config-latin1-line3",
        ["configure", "--config", "c.yaml"],
        "not UTF-8: byte 0xfc",
        "c.yaml:3",
        {"c.yaml": b"targets: [host]\nllvm:\n  build_type: R\xfcckgabe\n"},
    ),
    Case(
        "config-nul-byte",
        ["configure", "--config", "c.yaml"],
        "control characters",
        "c.yaml:2",
        {"c.yaml": b"targets: [host]\nprofile: \x00\n"},
    ),
    Case("config-is-directory", ["configure", "--config", "d"], "is a directory", "d", {"d": DIR}),
    Case(
        "config-is-device",
        ["configure", "--config", "/dev/null"],
        "not a regular file",
        "/dev/null",
    ),
    Case("config-missing", ["configure", "--config", "none.yaml"], "does not exist", "none.yaml"),
    Case(
        "config-symlink-loop",
        ["configure", "--config", "l1"],
        "leads nowhere",
        "l1",
        {"l1": Link("l2"), "l2": Link("l1")},
    ),
    Case(
        "config-too-large",
        ["configure", "--config", "c.yaml"],
        "larger than 1 MiB",
        "c.yaml",
        {"c.yaml": "targets: [host]\n" + "# padding\n" * 120_000},
    ),
    Case(
        "config-empty-mapping-key",
        ["configure", "--config", "c.yaml"],
        "a mapping key must be a plain name",
        "c.yaml:2",
        {"c.yaml": "targets: [host]\n? {a: 1}\n: 2\n"},
    ),
    Case(
        "config-deep-nesting",
        ["configure", "--config", "c.yaml"],
        "nested deeper than 64",
        "c.yaml:1",
        {"c.yaml": "x: " + "[" * 80 + "]" * 80 + "\n"},
    ),
    Case(
        "config-binary-tag",
        ["configure", "--config", "c.yaml"],
        "YAML tag `tag:yaml.org,2002:binary` is not supported",
        "c.yaml:2",
        {"c.yaml": "targets: [host]\nprefix: !!binary aGVsbG8=\n"},
    ),
    # --- --set: the same YAML rules, and bounds -------------------------------
    Case(
        "set-alias-bomb",
        ["configure", "--target", "host", "--set", LAUGHS],
        "YAML expands to more than 100000 values",
        "--set x=",
    ),
    Case(
        "set-recursive-alias",
        ["configure", "--target", "host", "--set", "targets=&a [*a]"],
        "recursive alias",
        "--set targets=&a [*a]",
    ),
    Case(
        "set-merge-key",
        ["configure", "--target", "host", "--set", "build={<<: {jobs: 2}}"],
        "merge keys",
        "--set build=",
    ),
    Case(
        "set-include-tag",
        ["configure", "--target", "host", "--set", "prefix=!include p.yaml"],
        "YAML tag `!include` is not supported",
        "--set prefix=",
    ),
    Case(
        "set-not-utf8",
        ["configure", "--target", "host", "--set", "prefix=caf\udce9"],
        "not UTF-8",
        "--set prefix=caf",
    ),
    Case(
        "set-malformed",
        ["configure", "--target", "host", "--set", "build=[1"],
        "malformed YAML",
        "--set build=[1: ",
    ),
    Case(
        "set-jobs-zero",
        ["configure", "--target", "host", "--set", "build.jobs=0"],
        "build.jobs: must be at least 1, got 0",
        "--set build.jobs=0",
    ),
    Case(
        "set-jobs-huge",
        ["configure", "--target", "host", "--set", "build.jobs=" + "1" + "0" * 38],
        "build.jobs: must be at most 4096",
        "--set build.jobs=",
    ),
    Case(
        "set-link-jobs-negative",
        ["configure", "--target", "host", "--set", "build.link_jobs=-1"],
        "build.link_jobs: must be at least 1, got -1",
        "--set build.link_jobs=-1",
    ),
    Case(
        "set-jobs-bool",
        ["configure", "--target", "host", "--set", "build.jobs=true"],
        "build.jobs: expected integer, got boolean true",
        "--set build.jobs=true",
    ),
    # --- YAML 1.1 readings YAML 1.2 does not share: refused, not converted ------
    Case(
        "set-yaml11-on",
        ["configure", "--target", "host", "--set", "llvm.link_dylib=on"],
        "llvm.link_dylib: `on` is boolean true in YAML 1.1 but a string in YAML 1.2",
        "--set llvm.link_dylib=on",
    ),
    Case(
        "set-yaml11-underscore",
        ["configure", "--target", "host", "--set", "build.jobs=1_0"],
        "build.jobs: `1_0` is the integer 10 in YAML 1.1 but a string in YAML 1.2",
        "--set build.jobs=1_0",
    ),
    Case(
        "config-yaml11-sexagesimal",
        ["configure", "--config", "c.yaml"],
        "pjrt.version: `1:30` is the integer 90 in YAML 1.1 but a string in YAML 1.2",
        "c.yaml:3",
        {"c.yaml": "targets: [host]\npjrt:\n  version: 1:30\n"},
    ),
    Case(
        "set-io-timeout-huge",
        [
            "configure",
            "--target",
            "host",
            "--set",
            "build.distributed={engine: distcc, hosts: [h], io_timeout: 999999999}",
        ],
        "build.distributed.io_timeout: must be at most 86400",
        "--set build.distributed=",
    ),
    Case(
        "target-twice",
        ["configure", "--target", "host,host"],
        "selected twice",
        "--target host,host",
        {},
    ),
    Case(
        "target-unknown-did-you-mean",
        ["configure", "--target", "nvdia"],
        "unknown target `nvdia`",
        "--target nvdia",
    ),
    # --- where configure writes and where the toolchain goes ------------------
    Case(
        "prefix-root",
        ["configure", "--target", "host", "--prefix", "/"],
        "prefix / is a system directory",
        "--prefix /",
    ),
    Case(
        "prefix-usr-from-config",
        ["configure", "--config", "c.yaml"],
        "prefix /usr is a system directory",
        "c.yaml:2",
        {"c.yaml": "targets: [host]\nprefix: /usr\n"},
    ),
    Case(
        "prefix-is-file",
        ["configure", "--target", "host", "--prefix", "f"],
        "exists and is not a directory",
        "--prefix f",
        {"f": "user data\n"},
    ),
    Case(
        "prefix-is-build-dir",
        ["configure", "--target", "host", "-B", "b", "--prefix", "b"],
        "is the build dir",
        "--prefix b",
    ),
    Case(
        "prefix-contains-build-dir",
        ["configure", "--target", "host", "-B", "b", "--prefix", "."],
        "contains the build dir",
        "--prefix .",
    ),
    Case(
        "prefix-in-source-cache",
        ["configure", "--target", "host", "--prefix", "cache/p"],
        "overlaps the source cache",
        "--prefix cache/p",
        {"cache": DIR},
        env={"MLIRBOOT_CACHE_DIR": "{tmp}/cache"},
    ),
    Case(
        "build-dir-is-file",
        ["configure", "--target", "host", "-B", "f"],
        "build dir exists and is not a directory",
        "{tmp}/f",
        {"f": "x\n"},
    ),
    Case(
        "build-dir-root",
        ["configure", "--target", "host", "-B", "/"],
        "build dir / is a system directory",
        "--build-dir",
    ),
    Case(
        "configure-unwritable-cwd",
        ["configure", "--target", "host"],
        "cannot write the build dir",
        "/sys/build",
        cwd="/sys",
    ),
    # --- plan.json damaged after configure ----------------------------------
    Case(
        "build-dir-is-a-file",
        ["build", "-B", "f"],
        "build plan not found: ",
        "{tmp}/f/plan.json",
        {"f": "x\n"},
    ),
    Case(
        "fetch-dir-is-a-file",
        ["fetch", "-B", "f"],
        "build plan not found",
        "f/plan.json",
        {"f": "x\n"},
    ),
    Case(
        "build-without-plan",
        ["build", "-B", "b"],
        "build plan not found",
        "{tmp}/b/plan.json",
        {"b": DIR},
    ),
    Case(
        "plan-is-list",
        ["build", "-B", "b"],
        "not a JSON object (found a list)",
        "{tmp}/b/plan.json",
        _plan(lambda d: []),
    ),
    Case(
        "plan-prefix-null",
        ["build", "-B", "b"],
        "prefix: expected string, got null",
        "{tmp}/b/plan.json",
        _plan(_set("prefix", None)),
    ),
    Case(
        "plan-is-directory",
        ["build", "-B", "b"],
        "build plan is a directory",
        "{tmp}/b/plan.json",
        {"b/plan.json": DIR},
    ),
    Case(
        "plan-is-binary",
        ["build", "-B", "b"],
        "build plan is not text",
        "{tmp}/b/plan.json",
        _plan(lambda d: b"\x7fELF\x02\x01\x01\x00\xff\xfe"),
    ),
    Case(
        "plan-truncated",
        ["build", "-B", "b"],
        "build plan is not valid JSON",
        "{tmp}/b/plan.json:",
        _plan(lambda d: json.dumps(d)[:120]),
    ),
    Case(
        "plan-schema",
        ["build", "-B", "b"],
        "plan schema 99 is not 1",
        "{tmp}/b/plan.json",
        _plan(_set("schema", 99)),
    ),
    Case(
        "plan-no-components",
        ["build", "-B", "b"],
        "lacks field `components`",
        "{tmp}/b/plan.json",
        _plan(_del("components")),
    ),
    Case(
        "plan-component-no-name",
        ["build", "-B", "b"],
        "lacks field `components[0].name`",
        "{tmp}/b/plan.json",
        _plan(lambda d: d["components"][0].pop("name") and None),
    ),
    Case(
        "plan-depends-on-int",
        ["build", "-B", "b"],
        "components[0].depends_on: expected a list",
        "{tmp}/b/plan.json",
        _plan(lambda d: d["components"][0].__setitem__("depends_on", 3)),
    ),
    Case(
        "plan-jobs-huge",
        ["build", "-B", "b"],
        "jobs 100000000000000000000 is not from 1",
        "{tmp}/b/plan.json",
        _plan(_set("jobs", 10**20)),
    ),
    Case(
        "plan-deeply-nested",
        ["build", "-B", "b"],
        "nested too deeply",
        "{tmp}/b/plan.json",
        _plan(lambda d: "[" * 100_000),
    ),
    Case(
        "doctor-plan-is-list",
        ["doctor", "-B", "b"],
        "not a JSON object",
        "{tmp}/b/plan.json",
        _plan(lambda d: []),
    ),
    Case(
        "build-jobs-flag-huge",
        ["build", "-B", "b", "-j", "99999"],
        "at most 4096",
        "build",
        _plan(lambda d: None),
    ),
    Case(
        "build-jobs-flag-zero",
        ["build", "-B", "b", "-j", "0"],
        "-j must be at least 1",
        "build",
        _plan(lambda d: None),
    ),
    # --- lock.json and toolchain.json -----------------------------------------
    Case(
        "package-truncated-lock",
        ["package", "--toolchain", "tc", "--build-dir", "b", "-o", "dist"],
        "lock file is not valid JSON",
        "b/lock.json:",
        lambda good: {
            "tc/toolchain.json": good["manifest"],
            "b/plan.json": good["plan"],
            "b/lock.json": str(good["lock"])[:50],
        },
    ),
    Case(
        "package-lock-is-list",
        ["package", "--toolchain", "tc", "--build-dir", "b", "-o", "dist"],
        "lock file is not a JSON object",
        "b/lock.json",
        lambda good: {
            "tc/toolchain.json": good["manifest"],
            "b/plan.json": good["plan"],
            "b/lock.json": "[]",
        },
    ),
    Case(
        "package-lock-schema",
        ["package", "--toolchain", "tc", "--build-dir", "b", "-o", "dist"],
        "lock file has schema 5",
        "b/lock.json",
        lambda good: {
            "tc/toolchain.json": good["manifest"],
            "b/plan.json": good["plan"],
            "b/lock.json": str(good["lock"]).replace('"schema": 1', '"schema": 5'),
        },
    ),
    Case(
        "manifest-missing-fields",
        ["compile", "prog.mlir", "-o", "o", "--toolchain", "tc"],
        "toolchain manifest lacks field `mlirboot_version`",
        "tc/toolchain.json",
        _manifest(lambda d: {"schema": 1, "tools": {}}),
    ),
    Case(
        "manifest-tools-list",
        ["compile", "prog.mlir", "-o", "o", "--toolchain", "tc"],
        "tools: expected a mapping, got a list",
        "tc/toolchain.json",
        _manifest(_set("tools", [])),
    ),
    Case(
        "manifest-schema",
        ["compile", "prog.mlir", "-o", "o", "--toolchain", "tc"],
        "has schema 3",
        "tc/toolchain.json",
        _manifest(_set("schema", 3)),
    ),
    Case(
        "manifest-invalid-json",
        ["compile", "prog.mlir", "-o", "o", "--toolchain", "tc"],
        "not valid JSON",
        "tc/toolchain.json:1",
        _manifest(lambda d: "{tools"),
    ),
    Case(
        "manifest-not-found",
        ["compile", "prog.mlir", "-o", "o", "--toolchain", "nowhere"],
        "toolchain manifest not found",
        "nowhere",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    # --- compile: programs and where outputs go -------------------------------
    Case(
        "compile-o-is-program",
        ["compile", "prog.mlir", "-o", "prog.mlir"],
        "exists and is not a directory",
        "-o prog.mlir",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-o-user-dir",
        ["compile", "prog.mlir", "-o", "work"],
        "holds files mlirboot did not write",
        "-o work",
        {"prog.mlir": PROGRAM.read_text(), "work/notes.txt": "mine\n"},
    ),
    Case(
        "compile-o-missing-parent",
        ["compile", "prog.mlir", "-o", "no/such/out"],
        "does not exist",
        "-o no/such/out",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-save-temps-cwd",
        ["compile", "prog.mlir", "-o", "o", "--save-temps", "."],
        "holds files mlirboot did not write",
        "--save-temps .",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-save-temps-user-dir",
        ["compile", "prog.mlir", "-o", "o", "--save-temps", "work"],
        "holds files mlirboot did not write",
        "--save-temps work",
        {"prog.mlir": PROGRAM.read_text(), "work/keep.txt": "mine\n"},
    ),
    Case(
        "compile-save-temps-file",
        ["compile", "prog.mlir", "-o", "o", "--save-temps", "t"],
        "exists and is not a directory",
        "--save-temps t",
        {"prog.mlir": PROGRAM.read_text(), "t": "mine\n"},
    ),
    Case(
        "compile-arch-for-host",
        ["compile", "prog.mlir", "-o", "o", "--arch", "sm_90"],
        "target host has no device architectures",
        "--arch sm_90",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-unknown-arch",
        ["compile", "prog.mlir", "-o", "o", "--target", "nvidia", "--arch", "sm_91"],
        "unknown nvidia arch `sm_91`",
        "--arch sm_91",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-program-missing",
        ["compile", "nope.mlir", "-o", "o"],
        "program not found",
        "nope.mlir",
    ),
    Case(
        "compile-program-is-dir",
        ["compile", "d", "-o", "o"],
        "the program is a directory",
        "d",
        {"d": DIR},
    ),
    Case(
        "compile-program-is-device",
        ["compile", "/dev/null", "-o", "o"],
        "not a regular file",
        "/dev/null",
    ),
    Case(
        "compile-program-is-binary",
        ["compile", "bin.mlir", "-o", "o"],
        "invalid MLIR",
        "host/parse",
        {"bin.mlir": b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))},
    ),
    Case(
        "compile-malformed-mlir",
        ["compile", "bad.mlir", "-o", "o"],
        "bad.mlir:1",
        "host/parse",
        {"bad.mlir": "func.func @f( {\n"},
    ),
    Case(
        "compile-bad-opt-flag",
        ["compile", "prog.mlir", "-O7"],
        "unrecognized arguments: -O7",
        "",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-no-output",
        ["compile", "prog.mlir"],
        "no output directory",
        "compile",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    # --- run: artifacts, inputs and outputs -----------------------------------
    Case(
        "run-artifact-truncated",
        [*RUN, *AB],
        "artifact metadata is not valid JSON",
        "art/artifact.json:",
        _artifact(lambda d: json.dumps(d)[:40]),
    ),
    Case(
        "run-artifact-list",
        [*RUN, *AB],
        "artifact metadata is not a JSON object",
        "art/artifact.json",
        _artifact(lambda d: []),
    ),
    Case(
        "run-artifact-signature",
        [*RUN, *AB],
        "malformed `signature`",
        "art/artifact.json",
        _artifact(_set("signature", {"entry": 1})),
    ),
    Case(
        "run-artifact-no-target",
        [*RUN, *AB],
        "lacks field `target`",
        "art/artifact.json",
        _artifact(_del("target")),
    ),
    Case(
        "run-dir-not-artifact",
        ["run", "d", *AB],
        "artifact metadata not found",
        "d/artifact.json",
        lambda good: {"d": DIR, "a.npy": A, "b.npy": B},
    ),
    Case(
        "run-wrong-shape",
        [*RUN, "-i", "a.npy", "-i", "s.npy"],
        "input 1 has shape (127, 32)",
        "--input s.npy",
        lambda good: {**_artifact(None)(good), "s.npy": _npy(np.ones((127, 32), np.float32))},
    ),
    Case(
        "run-wrong-dtype",
        [*RUN, "-i", "a.npy", "-i", "f64.npy"],
        "input 1 has dtype float64",
        "--input f64.npy",
        lambda good: {**_artifact(None)(good), "f64.npy": _npy(np.ones((128, 32)))},
    ),
    Case(
        "run-too-few-inputs",
        [*RUN, "-i", "a.npy"],
        "takes 2 inputs, got 1",
        "--input",
        _artifact(None),
    ),
    Case(
        "run-npz-named-npy",
        [*RUN, "-i", "a.npy", "-i", "z.npy"],
        "a .npz archive",
        "--input z.npy",
        lambda good: {**_artifact(None)(good), "z.npy": _npz()},
    ),
    Case(
        "run-csv-named-npy",
        [*RUN, "-i", "a.npy", "-i", "c.npy"],
        "not a .npy file",
        "--input c.npy",
        lambda good: {**_artifact(None)(good), "c.npy": "1,2,3\n4,5,6\n"},
    ),
    Case(
        "run-pickle-npy",
        [*RUN, "-i", "a.npy", "-i", "o.npy"],
        "holds Python objects",
        "--input o.npy",
        lambda good: {**_artifact(None)(good), "o.npy": _pickled()},
    ),
    Case(
        "run-truncated-npy",
        [*RUN, "-i", "a.npy", "-i", "t.npy"],
        "cannot read input",
        "--input t.npy",
        lambda good: {**_artifact(None)(good), "t.npy": B[:300]},
    ),
    Case(
        "run-input-missing",
        [*RUN, "-i", "a.npy", "-i", "gone.npy"],
        "input file not found",
        "--input gone.npy",
        _artifact(None),
    ),
    Case(
        "run-artifact-other-target",
        [*RUN, *AB, "--target", "tpu"],
        "the artifact was compiled for host, not tpu",
        "--target tpu",
        _artifact(None),
    ),
    Case(
        "run-artifact-other-arch",
        [*RUN, *AB, "--arch", "sm_90"],
        "compiled for arch",
        "--arch sm_90",
        _artifact(None),
    ),
    Case(
        "run-output-index-out-of-range",
        [*RUN, *AB, "--output", "c.npy", "--output", "7=x.npy"],
        "no argument 7",
        "--output 7=x.npy",
        _artifact(None),
    ),
    Case(
        "run-output-missing-dir",
        [*RUN, *AB, "--output", "no/c.npy"],
        "does not exist",
        "--output no/c.npy",
        _artifact(None),
    ),
    Case(
        "run-output-overwrites-input",
        [*RUN, *AB, "--output", "a.npy"],
        "a.npy exists; mlirboot does not overwrite files",
        "--output a.npy",
        _artifact(None),
    ),
    Case(
        "run-output-twice",
        [*RUN, *AB, "--output", "c.npy", "--output", "c.npy"],
        "named twice",
        "--output c.npy",
        _artifact(None),
    ),
    Case(
        "run-output-suffixless-exists",
        [*RUN, *AB, "--output", "a"],
        "a.npy exists",
        "--output a",
        _artifact(None),
    ),
    # --- a working directory nothing can be written to (/sys, even for root) ---
    Case(
        "compile-unwritable-cwd",
        ["compile", "{tmp}/prog.mlir", "-o", "out"],
        "not writable",
        "-o out",
        {"prog.mlir": PROGRAM.read_text()},
        cwd="/sys",
    ),
    Case(
        "compile-save-temps-unwritable",
        ["compile", "{tmp}/prog.mlir", "-o", "{tmp}/o", "--save-temps", "t"],
        "not writable",
        "--save-temps t",
        {"prog.mlir": PROGRAM.read_text()},
        cwd="/sys",
    ),
    Case(
        "run-output-unwritable",
        ["run", "{tmp}/art", "-i", "{tmp}/a.npy", "-i", "{tmp}/b.npy", "--output", "c.npy"],
        "not writable",
        "--output c.npy",
        _artifact(None),
        cwd="/sys",
    ),
    # --- install: packages and prefixes ------------------------------------------
    Case("install-not-found", ["install", "nope.tar.gz"], "package not found", "nope.tar.gz"),
    Case(
        "install-not-an-archive",
        ["install", "pkg.tar.gz", "--prefix", "p"],
        "not a readable .tar.gz",
        "pkg.tar.gz",
        {"pkg.tar.gz": "hello\n"},
    ),
    Case(
        "install-prefix-is-file",
        ["install", "pkg.tar.gz", "--prefix", "p"],
        "exists and is not a directory",
        "--prefix",
        {"pkg.tar.gz": "hello\n", "p": "mine\n"},
    ),
    Case(
        "install-prefix-foreign",
        ["install", "pkg.tar.gz", "--prefix", "p"],
        "is not empty and was not made by `mlirboot install`",
        "--prefix",
        {"pkg.tar.gz": "hello\n", "p/notes.txt": "keep\n"},
    ),
    # --- package / container output dirs ----------------------------------------
    Case(
        "package-o-is-file",
        ["package", "-o", "f"],
        "exists and is not a directory",
        "-o f",
        {"f": "mine\n"},
    ),
    Case("package-o-missing-parent", ["package", "-o", "no/dist"], "does not exist", "-o no/dist"),
    Case("package-o-unwritable", ["package", "-o", "dist"], "not writable", "-o dist", cwd="/sys"),
    Case(
        "container-o-is-file",
        ["container", "-o", "f"],
        "exists and is not a directory",
        "-o f",
        {"f": "mine\n"},
    ),
    # --- found by the hostile audit of issue 10 (second pass) -----------------
    Case(
        "compile-o-same-as-save-temps",
        ["compile", "prog.mlir", "-o", "o", "--save-temps", "o"],
        "overlap",
        "--save-temps o",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-save-temps-inside-o",
        ["compile", "prog.mlir", "-o", "o", "--save-temps", "o/t"],
        "overlap",
        "--save-temps o/t",
        {"prog.mlir": PROGRAM.read_text(), "o": DIR},
    ),
    Case(
        "compile-pjrt-plugin-for-host",
        ["compile", "prog.mlir", "-o", "o", "--pjrt-plugin", "cpu"],
        "target host does not run through a PJRT plugin",
        "--pjrt-plugin cpu",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "run-artifact-pjrt-plugin-for-host",
        [*RUN, *AB, "--pjrt-plugin", "cpu"],
        "does not run through a PJRT plugin",
        "--pjrt-plugin cpu",
        _artifact(None),
    ),
    Case(
        "run-output-empty-name",
        [*RUN, *AB, "--output", ""],
        "no file name",
        "--output ''",
        _artifact(None),
    ),
    Case(
        "run-output-index-empty-name",
        [*RUN, *AB, "--output", "0="],
        "no file name",
        "--output '0='",
        _artifact(None),
    ),
    Case(
        "run-npy-header-claims-huge-shape",
        [*RUN, "-i", "h.npy", "-i", "b.npy"],
        "its header says shape (1000000000000, 128)",
        "--input h.npy",
        lambda good: {**_artifact(None)(good), "h.npy": _header_only((1_000_000_000_000, 128))},
    ),
    Case(
        "run-npy-header-too-long",
        [*RUN, "-i", "a.npy", "-i", "l.npy"],
        "header is longer than 10000 bytes",
        "--input l.npy",
        lambda good: {**_artifact(None)(good), "l.npy": _long_header()},
    ),
    Case(
        "run-npy-zero-d",
        [*RUN, "-i", "z.npy", "-i", "b.npy"],
        "input 0 has shape ()",
        "--input z.npy",
        lambda good: {**_artifact(None)(good), "z.npy": _npy(np.float32(3.0))},
    ),
    Case(
        "run-npy-big-endian",
        [*RUN, "-i", "e.npy", "-i", "b.npy"],
        "input 0 has dtype >f4",
        "--input e.npy",
        lambda good: {**_artifact(None)(good), "e.npy": _npy(np.ones((64, 128), ">f4"))},
    ),
    Case(
        "run-npy-empty-file",
        [*RUN, "-i", "e.npy", "-i", "b.npy"],
        "no NUMPY header",
        "--input e.npy",
        lambda good: {**_artifact(None)(good), "e.npy": b""},
    ),
    Case(
        "run-input-is-dir",
        [*RUN, "-i", "d.npy", "-i", "b.npy"],
        "input is a directory",
        "--input d.npy",
        lambda good: {**_artifact(None)(good), "d.npy": DIR},
    ),
    Case(
        "run-input-dev-zero",
        [*RUN, "-i", "/dev/zero", "-i", "b.npy"],
        "not a regular file",
        "--input /dev/zero",
        _artifact(None),
    ),
    Case(
        "run-too-many-inputs",
        [*RUN, *AB, "-i", "b.npy"],
        "takes 2 inputs, got 3",
        "--input",
        _artifact(None),
    ),
    Case(
        "run-too-many-outputs",
        [*RUN, *AB, "--output", "c.npy", "--output", "d.npy"],
        "has only 1 results",
        "--output d.npy",
        _artifact(None),
    ),
    Case(
        "run-output-into-proc",
        [*RUN, *AB, "--output", "/proc/c.npy"],
        "not writable",
        "--output /proc/c.npy",
        _artifact(None),
    ),
    Case(
        "run-artifact-json-symlink-loop",
        [*RUN, *AB],
        "Too many levels of symbolic links",
        "art/artifact.json",
        lambda good: {**_artifact(None)(good), "art/artifact.json": Link("artifact.json")},
    ),
    Case(
        "run-artifact-json-dev-zero",
        [*RUN, *AB],
        "not a regular file",
        "art/artifact.json",
        lambda good: {**_artifact(None)(good), "art/artifact.json": Link("/dev/zero")},
    ),
    Case(
        "run-wrt-without-grad",
        ["run", "prog.mlir", *AB, "--wrt", "0"],
        "--wrt without --grad",
        "--wrt",
        {"prog.mlir": PROGRAM.read_text(), "a.npy": A, "b.npy": B},
    ),
    Case(
        "run-wrt-garbage",
        ["run", "prog.mlir", *AB, "--grad", "matmul", "--wrt", "x,-1"],
        "is not a list of argument indices",
        "--wrt",
        {"prog.mlir": PROGRAM.read_text(), "a.npy": A, "b.npy": B},
    ),
    Case(
        "compile-blas-for-nvidia",
        ["compile", "prog.mlir", "-o", "o", "--target", "nvidia", "--blas"],
        "--blas is not available for target nvidia",
        "--blas",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-o-into-proc",
        ["compile", "prog.mlir", "-o", "/proc/mlirboot-out"],
        "not writable",
        "-o /proc/mlirboot-out",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-o-dev-null",
        ["compile", "prog.mlir", "-o", "/dev/null"],
        "exists and is not a directory",
        "-o /dev/null",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-entry-missing",
        ["compile", "prog.mlir", "-o", "o", "--entry", "nope"],
        "no public function @nope",
        "{tmp}/prog.mlir",
        {"prog.mlir": PROGRAM.read_text()},
    ),
    Case(
        "compile-toolchain-dir-without-manifest",
        ["compile", "prog.mlir", "-o", "o", "--toolchain", "tc"],
        "toolchain manifest not found",
        "tc/toolchain.json",
        {"prog.mlir": PROGRAM.read_text(), "tc": DIR},
    ),
    Case(
        "manifest-symlink-loop",
        ["compile", "prog.mlir", "--toolchain", "tc", "-o", "o"],
        "toolchain manifest not found",
        "tc/toolchain.json",
        {
            "prog.mlir": PROGRAM.read_text(),
            "tc/toolchain.json": Link("x.json"),
            "tc/x.json": Link("toolchain.json"),
        },
    ),
    Case(
        "manifest-dev-zero",
        ["compile", "prog.mlir", "--toolchain", "tc", "-o", "o"],
        "not a regular file",
        "tc/toolchain.json",
        {"prog.mlir": PROGRAM.read_text(), "tc/toolchain.json": Link("/dev/zero")},
    ),
    Case(
        "manifest-tool-not-a-string",
        ["compile", "prog.mlir", "--toolchain", "tc", "-o", "o"],
        "expected a string, got integer 5",
        "tc/toolchain.json",
        _manifest(lambda d: d.__setitem__("tools", {k: 5 for k in d["tools"]})),
    ),
    Case(
        "manifest-not-utf8",
        ["compile", "prog.mlir", "--toolchain", "tc", "-o", "o"],
        "not text (byte 0xff at offset 0)",
        "tc/toolchain.json",
        _manifest(lambda d: b"\xff\xfe{}"),
    ),
    Case(
        "manifest-nested-too-deeply",
        ["compile", "prog.mlir", "--toolchain", "tc", "-o", "o"],
        "nested too deeply",
        "tc/toolchain.json",
        _manifest(lambda d: "[" * 100_000 + "]" * 100_000),
    ),
    Case(
        "plan-symlink-loop",
        ["build", "-B", "b", "--dry-run"],
        "Too many levels of symbolic links",
        "{tmp}/b/plan.json",
        lambda good: {"b/plan.json": Link("plan.json"), "b/lock.json": str(good["lock"])},
    ),
    Case(
        "plan-dev-zero",
        ["build", "-B", "b", "--dry-run"],
        "not a regular file",
        "{tmp}/b/plan.json",
        lambda good: {"b/plan.json": Link("/dev/zero"), "b/lock.json": str(good["lock"])},
    ),
    Case(
        "plan-empty-file",
        ["build", "-B", "b", "--dry-run"],
        "not valid JSON",
        "{tmp}/b/plan.json:1",
        _plan(lambda d: ""),
    ),
    Case(
        "config-tab-indent",
        ["configure", "--config", "c.yaml"],
        "malformed YAML",
        "c.yaml:2",
        {"c.yaml": "targets:\n\t- host\n"},
    ),
    Case(
        "config-jobs-float",
        ["configure", "--config", "c.yaml"],
        "build.jobs: expected integer, got number 2.5",
        "c.yaml:3",
        {"c.yaml": "targets: [host]\nbuild:\n  jobs: 2.5\n"},
    ),
    Case(
        "config-jobs-inf",
        ["configure", "--config", "c.yaml"],
        "expected integer, got number inf",
        "c.yaml:3",
        {"c.yaml": "targets: [host]\nbuild:\n  jobs: .inf\n"},
    ),
    Case(
        "config-jobs-hex-huge",
        ["configure", "--config", "c.yaml"],
        # YAML 1.1-only spellings (hex) are refused before the bound is checked.
        "is the integer 1099511627776 (hexadecimal)",
        "c.yaml:3",
        {"c.yaml": "targets: [host]\nbuild:\n  jobs: 0x10000000000\n"},
    ),
    Case(
        "config-targets-string",
        ["configure", "--config", "c.yaml"],
        "targets: expected a list",
        "c.yaml:1",
        {"c.yaml": "targets: host\n"},
    ),
    Case(
        "config-targets-null-item",
        ["configure", "--config", "c.yaml"],
        "targets[0]: expected string, got null",
        "c.yaml:1",
        {"c.yaml": "targets: [null]\n"},
    ),
    Case(
        "config-two-documents",
        ["configure", "--config", "c.yaml"],
        "another document",
        "c.yaml:2",
        {"c.yaml": "targets: [host]\n---\ntargets: [tpu]\n"},
    ),
    Case(
        "config-scalar",
        ["configure", "--config", "c.yaml"],
        "the top level must be a mapping",
        "c.yaml:1",
        {"c.yaml": "hello\n"},
    ),
    Case(
        "config-duplicate-nested-key",
        ["configure", "--config", "c.yaml"],
        "duplicate key `jobs`",
        "c.yaml:4",
        {"c.yaml": "targets: [host]\nbuild:\n  jobs: 2\n  jobs: 3\n"},
    ),
    Case(
        "config-utf16",
        ["configure", "--config", "c.yaml"],
        "not UTF-8: byte 0xff at offset 0",
        "c.yaml:1",
        {"c.yaml": "targets: [host]\n".encode("utf-16")},
    ),
    Case(
        "set-without-equals",
        ["configure", "--target", "host", "--set", "build.jobs"],
        "expected KEY=VALUE",
        "--set",
        {},
    ),
    Case(
        "set-empty-path-segment",
        ["configure", "--target", "host", "--set", "build..jobs=2"],
        "malformed key path",
        "--set build..jobs=2",
        {},
    ),
    Case(
        "set-index-syntax",
        ["configure", "--target", "host", "--set", "targets[0]=host"],
        "unknown key `targets[0]`",
        "--set targets[0]=host",
        {},
    ),
    Case(
        "target-empty-string",
        ["configure", "--target", ""],
        "no target selected",
        "--target",
        {},
    ),
    Case(
        "program-empty-file",
        ["compile", "p.mlir", "-o", "o"],
        "public functions are none",
        "{tmp}/p.mlir",
        {"p.mlir": ""},
    ),
    Case(
        "program-unknown-dialect-op",
        ["compile", "p.mlir", "-o", "o"],
        "Dialect `foo' not found",
        "host/parse",
        {"p.mlir": _fn("%a: tensor<4xf32>", "  %b = foo.bar %a : tensor<4xf32>\n")},
    ),
    Case(
        "program-dynamic-tensor",
        ["compile", "p.mlir", "-o", "o"],
        "dynamic shapes are not supported",
        "{tmp}/p.mlir",
        {"p.mlir": _identity("tensor<?x4xf32>")},
    ),
    Case(
        "program-two-public-entries",
        ["compile", "p.mlir", "-o", "o"],
        "public functions are @matmul, @matmul2",
        "{tmp}/p.mlir",
        {"p.mlir": PROGRAM.read_text() + PROGRAM.read_text().replace("@matmul", "@matmul2")},
    ),
    Case(
        "program-complex-element",
        ["compile", "p.mlir", "-o", "o"],
        "element type complex<f32> is not supported",
        "{tmp}/p.mlir",
        {"p.mlir": _identity("tensor<4xcomplex<f32>>")},
    ),
    Case(
        "program-index-element",
        ["compile", "p.mlir", "-o", "o"],
        "element type index is not supported",
        "{tmp}/p.mlir",
        {"p.mlir": _identity("tensor<4xindex>")},
    ),
    Case(
        "program-bf16-element",
        ["compile", "p.mlir", "-o", "o"],
        "element type bf16 is not supported",
        "{tmp}/p.mlir",
        {"p.mlir": _identity("tensor<4xbf16>")},
    ),
    Case(
        "program-unsigned-element",
        ["compile", "p.mlir", "-o", "o"],
        "element type ui8 is not supported",
        "{tmp}/p.mlir",
        {"p.mlir": "func.func @f(%a: memref<3xui8>) {\n  return\n}\n"},
    ),
    Case(
        "program-zero-sized-dim",
        ["compile", "p.mlir", "-o", "o"],
        "a dimension of size 0 is not supported",
        "{tmp}/p.mlir",
        {"p.mlir": _identity("tensor<2x0xf32>")},
    ),
    Case(
        "program-entry-named-main",
        ["compile", "p.mlir", "-o", "o"],
        "the entry cannot be named @main",
        "{tmp}/p.mlir: @main",
        {"p.mlir": PROGRAM.read_text().replace("@matmul", "@main")},
    ),
    Case(
        "program-nested-module",
        ["compile", "p.mlir", "-o", "o"],
        "modules nested in the program's module are not supported",
        "{tmp}/p.mlir",
        {"p.mlir": "module {\n  module {\n" + PROGRAM.read_text() + "  }\n}\n"},
    ),
    Case(
        "run-entry-larger-than-memory",
        ["run", "p.mlir", "-O0"],
        "its arguments and results need 3725.3 GiB",
        "@f",
        {
            "p.mlir": "func.func @f() -> tensor<1000000x1000000xf32> {\n"
            "  %z = arith.constant 1.0 : f32\n"
            "  %e = tensor.empty() : tensor<1000000x1000000xf32>\n"
            "  %c = linalg.fill ins(%z : f32) outs(%e : tensor<1000000x1000000xf32>)"
            " -> tensor<1000000x1000000xf32>\n"
            "  return %c : tensor<1000000x1000000xf32>\n}\n"
        },
    ),
    Case(
        "compile-program-inside-o",
        ["compile", "art/temps/mine.mlir", "-o", "art"],
        "is inside art, which the compile replaces",
        "-o art",
        lambda good: {**_artifact(None)(good), "art/temps/mine.mlir": PROGRAM.read_text()},
    ),
    Case(
        "program-scalar-entry-arg",
        ["compile", "p.mlir", "-o", "o"],
        "unsupported entry type `f32`",
        "{tmp}/p.mlir",
        {"p.mlir": _identity("f32")},
    ),
    Case(
        "program-vector-entry-arg",
        ["compile", "p.mlir", "-o", "o"],
        "unsupported entry type `vector<4xf32>`",
        "{tmp}/p.mlir",
        {"p.mlir": _identity("vector<4xf32>")},
    ),
    Case(
        "program-strided-memref-arg",
        ["compile", "p.mlir", "-o", "o"],
        "memref layouts/memory spaces are not supported",
        "{tmp}/p.mlir",
        {"p.mlir": "func.func @f(%a: memref<4x4xf32, strided<[8, 1]>>) {\n  return\n}\n"},
    ),
    Case(
        "program-wrong-return-type",
        ["compile", "p.mlir", "-o", "o"],
        "doesn't match function result type",
        "host/parse",
        {
            "p.mlir": "func.func @f(%a: tensor<4xf32>) -> tensor<5xf32> {\n"
            "  return %a : tensor<4xf32>\n}\n"
        },
    ),
    Case(
        "program-utf16",
        ["compile", "p.mlir", "-o", "o"],
        "unexpected character",
        "host/parse",
        {"p.mlir": PROGRAM.read_text().encode("utf-16")},
    ),
    Case(
        "program-recursion-on-tpu",
        ["compile", "p.mlir", "--target", "tpu", "-o", "o"],
        "func.call: no StableHLO translation",
        "{tmp}/p.mlir:2:8 (tpu: to-stablehlo)",
        {
            "p.mlir": "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
            "  %b = func.call @f(%a) : (tensor<4xf32>) -> tensor<4xf32>\n"
            "  return %b : tensor<4xf32>\n}\n"
        },
    ),
]


def _header_only(shape: tuple[int, ...]) -> bytes:
    """A valid .npy header for float32 `shape`, and no data."""
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def _long_header() -> bytes:
    """A version 2 .npy of f32[128, 32] whose header is padded to 300 kB."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (128, 32), }"
    header += " " * 300_000 + "\n"
    data = np.ones((128, 32), np.float32).tobytes()
    return b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header.encode() + data


def _pickled() -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{}], dtype=object), allow_pickle=True)
    return buf.getvalue()


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Files as mlirboot writes them: a configured build dir's plan and lock,
    the system toolchain manifest, and a compiled host artifact of matmul.mlir."""
    from mlirboot.backend.driver import compile_program
    from mlirboot.bootstrap.toolset import system_manifest

    work = tmp_path_factory.mktemp("good")
    result = run_cli("configure", "--target", "host", "-B", "b", cwd=work)
    assert result.returncode == 0, result.stderr
    compile_program(PROGRAM, target="host", out=work / "art")
    return {
        "plan": (work / "b" / "plan.json").read_text(),
        "lock": (work / "b" / "lock.json").read_text(),
        "manifest": system_manifest().to_json(),
        "artifact": str(work / "art"),
    }


def _snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = ("link", str(path.readlink()))
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = path.read_bytes()
    return out


def _materialize(root: Path, files: Files) -> None:
    for name, value in files.items():
        path = root / name
        if value is DIR:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, Link):
            path.symlink_to(str(value))
        elif isinstance(value, tuple):  # (bytes, mode)
            path.write_bytes(value[0])
            path.chmod(value[1])
        elif isinstance(value, bytes):
            path.write_bytes(value)
        else:
            path.write_text(str(value))


def test_corpus_is_large_enough():
    broken = list((REPO / "tests" / "configs" / "broken").glob("*.yaml"))
    assert len(CASES) >= 120
    assert len(CASES) + len(broken) >= 90
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_line(case: Case, tmp_path: Path, good: dict[str, object]):
    work = tmp_path / "case"
    work.mkdir()
    files = case.files(good) if callable(case.files) else case.files
    _materialize(work, files)
    before = _snapshot(work)

    def fill(text: str) -> str:
        return text.replace("{tmp}", str(work))

    result = run_cli(
        *[fill(a) for a in case.argv],
        cwd=Path(case.cwd) if case.cwd else work,
        env={k: fill(v) for k, v in case.env.items()},
        timeout=120,
    )

    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"mlirboot: error: {fill(case.where)}"), line
    assert case.expect in line, line
    hint = re.search(r"\(hint: (.*)\)$", line)
    assert hint and hint.group(1).strip(), f"no hint: {line}"
    for path in re.findall(r"(?<![\w.<>])(/[\w.+-]+(?:/[\w.+-]+)*)", hint.group(1)):
        assert Path(path).exists(), f"hint names {path}, which does not exist: {line}"
    assert _snapshot(work) == before, "the command changed files on disk"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "case"]
    assert not leftovers


def test_failed_run_names_no_deleted_file(tmp_path: Path, good: dict[str, object]):
    """A program that fails at run time: exit 1, and the hint names no file in
    the run's scratch dir (deleted by then); the output's tail follows."""
    _materialize(tmp_path, _artifact(None)(good))
    prog = tmp_path / "art" / "prog"
    prog.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    prog.chmod(0o755)
    result = run_cli("run", "art", *AB, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    first = result.stderr.splitlines()[0]
    assert "boom" in first and "mlirboot-run-" not in first, first
    assert "Traceback" not in result.stderr


def test_save_temps_and_output_dirs_are_reused_only_when_ours(tmp_path: Path):
    """A second compile may replace its own artifact and temps, never a file
    the user put beside them."""
    (tmp_path / "prog.mlir").write_text(PROGRAM.read_text())
    args = ["compile", "prog.mlir", "-o", "out", "--save-temps", "temps", "-O0"]
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    (tmp_path / "temps" / "notes.txt").write_text("mine\n")
    first = sorted(p.name for p in (tmp_path / "temps").iterdir())
    second = run_cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "temps" / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in (tmp_path / "temps").iterdir()) == first
    assert (tmp_path / "out" / "artifact.json").is_file()
    (tmp_path / "out" / "notes.txt").write_text("mine\n")
    third = run_cli(*args, cwd=tmp_path)
    assert third.returncode == 2 and "did not write" in third.stderr
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine\n"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
