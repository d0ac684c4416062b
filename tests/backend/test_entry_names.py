"""An entry named like a C keyword (`long`) or like the launcher's own
helpers (`load`, `store`) is a valid MLIR function: it compiles and returns
the right result (`store` once called the launcher's helper instead: all
zeros; `load` ran out of memory). Names the executable or the C library
define (`main`, `free`) are refused in one line. Real tools; vs numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program
from mlirboot.bootstrap.errors import UsageError

PROGRAM = (Path(__file__).parent / "programs" / "matmul.mlir").read_text()


@pytest.mark.parametrize(
    ("name", "target"),
    [("long", "host"), ("load", "host"), ("store", "host"), ("store", "offload-host")],
)
def test_entry_named_like_c_names_runs(tmp_path, name, target):
    prog = tmp_path / "p.mlir"
    prog.write_text(PROGRAM.replace("@matmul", f"@{name}"))
    art = compile_program(prog, target=target, opt="O0", out=tmp_path / "art")
    rng = np.random.default_rng(3)
    a = rng.standard_normal((64, 128)).astype(np.float32)
    b = rng.standard_normal((128, 32)).astype(np.float32)
    (got,) = art.run(a, b, isolated=True)
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["main", "free", "mlirboot_load"])
def test_reserved_entry_names_are_refused(tmp_path, name):
    prog = tmp_path / "p.mlir"
    prog.write_text(PROGRAM.replace("@matmul", f"@{name}"))
    with pytest.raises(UsageError, match=f"the entry cannot be named @{name}"):
        compile_program(prog, target="host", out=tmp_path / "art")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.mlir"]
