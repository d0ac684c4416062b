"""-O2 and above let a*b+c become one fused multiply-add (the pipelines'
mlirboot-fp-contract): the loop-written matmul's kernel is FMA instructions
on the host, not separate multiplies and adds (clang ignores -ffp-contract
for LLVM IR input, so without the flags it ran at about half speed); -O0
keeps every rounding. Real tools; results vs numpy."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program
from mlirboot.backend.toolbox import Toolbox

EXAMPLE = Path(__file__).parents[2] / "examples" / "loop_matmul.mlir"
HOST_HAS_FMA = bool(re.search(r"^flags\s*:.*\bfma\b", Path("/proc/cpuinfo").read_text(), re.M))


def _compile(tmp_path: Path, opt: str, target: str = "host") -> tuple[Path, np.ndarray]:
    temps = tmp_path / f"temps-{target}-{opt}"
    art = compile_program(
        EXAMPLE, target=target, opt=opt, out=tmp_path / f"art-{target}-{opt}", save_temps=temps
    )
    rng = np.random.default_rng(3)
    a = rng.standard_normal((96, 80)).astype(np.float32)
    b = rng.standard_normal((80, 48)).astype(np.float32)
    c = art.run(a, b, np.zeros((96, 48), np.float32))[-1]
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    return temps, c


@pytest.mark.parametrize("target", ["host", "offload-host"])
def test_contract_flags_only_from_O2(tmp_path: Path, target: str) -> None:
    o0, _ = _compile(tmp_path, "O0", target)
    o2, _ = _compile(tmp_path, "O2", target)
    ir0 = "".join(p.read_text() for p in o0.glob("*.ll"))
    ir2 = "".join(p.read_text() for p in o2.glob("*.ll"))
    assert re.search(r"\bfmul\b", ir0) and not re.search(r"\bcontract\b", ir0)
    assert re.search(r"fmul contract", ir2) and re.search(r"fadd contract", ir2)


@pytest.mark.skipif(not HOST_HAS_FMA, reason="this CPU has no FMA instructions")
def test_host_matmul_kernel_is_fma(tmp_path: Path) -> None:
    temps, _ = _compile(tmp_path, "O2")
    (obj,) = temps.glob("*host-object.o")
    objdump = Toolbox(None).tool("llvm-objdump")
    asm = subprocess.run(
        [str(objdump), "-d", "--no-show-raw-insn", str(obj)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fma = len(re.findall(r"\bvfmadd\w*ps\b", asm))
    unfused = len(re.findall(r"\bvmulps\b", asm))
    assert fma >= 8 and unfused == 0, (fma, unfused)
