"""The scheduled matmul (transform dialect + upstream passes, real LLVM 22 tools)
computes what numpy computes, for tile multiples and remainders alike."""

from __future__ import annotations

import numpy as np
import pytest

from mlirboot.backend.schedules import cabi, matmul

from .programs import batch_matmul_acc, matmul_acc, matmul_fill

NP = {"f32": np.float32, "f64": np.float64}
TOL = {"f32": 1e-4, "f64": 1e-12}


def _inputs(rng: np.random.Generator, dtype: str, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    return [rng.standard_normal(s).astype(NP[dtype]) for s in shapes]


@pytest.mark.parametrize(
    ("m", "n", "k", "dtype"),
    [
        (64, 128, 32, "f32"),  # examples/matmul.mlir: n a multiple of NR, m not of 6
        (96, 48, 80, "f32"),  # examples/loop_matmul.mlir's shape
        (7, 13, 5, "f32"),  # smaller than one register tile in every dim
        (130, 70, 300, "f32"),  # k > KC with a remainder, m/n remainders
        (50, 40, 30, "f64"),
        (19, 9, 260, "f64"),
    ],
)
def test_matmul_accumulates_like_numpy(build, m, n, k, dtype):
    lib = build(matmul_acc(m, n, k, dtype))
    a, b, c = _inputs(np.random.default_rng(m * n + k), dtype, (m, k), (k, n), (m, n))
    want = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    got = cabi.call(lib, "mm", [a, b, c], result=(2, NP[dtype]))
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * np.sqrt(k))


def test_fill_then_matmul_example_form(build):
    lib = build(matmul_fill(64, 32, 128))
    a, b = _inputs(np.random.default_rng(1), "f32", (64, 128), (128, 32))
    got = cabi.call(lib, "mm", [a, b], result=(2, np.float32))
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-3)


def test_batch_matmul(build):
    lib = build(batch_matmul_acc(3, 20, 24, 17))
    a, b, c = _inputs(np.random.default_rng(2), "f32", (3, 20, 17), (3, 17, 24), (3, 20, 24))
    want = c + a @ b  # before the call: the function updates c in place
    got = cabi.call(lib, "mm", [a, b, c], result=(3, np.float32))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_other_register_tile_is_still_correct(build):
    # The AVX-512 shape (8 x 32) compiles and runs on any x86-64 host: LLVM splits
    # the wide vectors when zmm registers are absent, so correctness is checkable here.
    lib = build(matmul_acc(37, 45, 21), tiling=matmul.Tiling(mr=8, nr=32, kc=16, mb=2))
    a, b, c = _inputs(np.random.default_rng(3), "f32", (37, 21), (21, 45), (37, 45))
    want = c + a @ b
    got = cabi.call(lib, "mm", [a, b, c], result=(2, np.float32))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_schedule_renders_all_entry_points(tmp_path):
    path = matmul.schedule_file(matmul.Tiling(mr=6, nr=16), tmp_path)
    text = path.read_text()
    for entry in (matmul.TENSOR_ENTRY, matmul.MEMREF_ENTRY, matmul.MAIN_ENTRY):
        assert f"@{entry}(" in text
    assert "packed_sizes = [6, 16, 0]" in text and "tile_sizes [0, 0, 256]" in text


@pytest.mark.parametrize(
    ("cpu", "dtype", "want"),
    [
        # (mr, nr, kc, mb, kc_few). kc: 8 micro panels of A plus a panel of B in
        # half of L2; kc_few: a panel of B in half of L1d.
        # AVX2, 32 KiB L1d, 512 KiB L2 (Zen 3): 256 KiB / ((48 + 16) x 4 B) = 1024
        (matmul.HostCpu(False, 32 << 10, 512 << 10), "f32", (6, 16, 1024, 8, 256)),
        # f64: 256 KiB / ((48 + 8) x 8 B) = 585 -> 512
        (matmul.HostCpu(False, 32 << 10, 512 << 10), "f64", (6, 8, 512, 8, 256)),
        # AVX-512: twice the lanes, so half the few-rows k block for the same L1d
        (matmul.HostCpu(True, 32 << 10, 1 << 20), "f32", (8, 32, 1024, 8, 128)),
        (matmul.HostCpu(True, 48 << 10, 2 << 20), "f64", (8, 16, 1024, 8, 128)),
        # a small L2: kc no smaller than kc_few, and the row block shrinks:
        # (64 KiB / 2) / (6 rows x 256 x 4 B) = 5
        (matmul.HostCpu(False, 32 << 10, 64 << 10), "f32", (6, 16, 256, 5, 256)),
        # sizes unknown: 32 KiB L1d, 256 KiB L2
        (matmul.HostCpu(False, None, None), "f32", (6, 16, 512, 8, 256)),
    ],
)
def test_tiles_follow_vector_width_and_caches(cpu, dtype, want):
    t = matmul.Tiling.for_host(dtype, cpu=cpu)
    assert (t.mr, t.nr, t.kc, t.mb, t.kc_few) == want


def test_cache_sizes_from_sysfs():
    if not matmul.CACHE_DIR.is_dir():
        pytest.skip("no /sys/devices/system/cpu/cpu0/cache here")
    sizes = matmul.cache_sizes()
    listed = {
        (p / "level").read_text().strip()
        for p in matmul.CACHE_DIR.glob("index*")
        if (p / "type").read_text().strip() != "Instruction"
    }
    assert {str(level) for level in sizes} == listed
    assert 4 << 10 <= sizes[1] < sizes[2]  # L1d, then a larger L2
    assert matmul.cache_sizes(matmul.CACHE_DIR / "absent") == {}


# Few rows (M < 2 * mr = 16 here): B read in place, no packed copies (no
# malloc in the lowered code), nr_few-lane vectors; from 2 * mr rows: packed.
FEW_TILING = matmul.Tiling(mr=8, nr=32, kc=16, mb=2)


@pytest.mark.parametrize(
    ("m", "n", "k", "dtype", "few"),
    [
        (1, 256, 64, "f32", True),  # a matrix-vector product, n a multiple of nr_few
        (1, 200, 37, "f32", True),  # n with a peeled remainder, k with a kc remainder
        (15, 130, 40, "f32", True),  # the last row count on the few-rows path
        (3, 300, 50, "f64", True),
        (16, 70, 20, "f32", False),  # the first on the packed path
    ],
)
def test_few_rows_read_b_in_place(build, tools, tmp_path, m, n, k, dtype, few):
    lib = build(matmul_acc(m, n, k, dtype), tiling=FEW_TILING)
    a, b, c = _inputs(np.random.default_rng(m + n + k), dtype, (m, k), (k, n), (m, n))
    want = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    got = cabi.call(lib, "mm", [a, b, c], result=(2, NP[dtype]))
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * np.sqrt(k))

    out = tmp_path / "structure" / "p.o"
    out.parent.mkdir()
    matmul.lower_to_object(matmul_acc(m, n, k, dtype), out, tools=tools, tiling=FEW_TILING)
    lowered = (out.parent / "p.work" / "llvm.mlir").read_text()
    # Row tiles of B read in place: nr_few-lane loads (the packed path's A
    # transposes also make vectors that wide, as shuffles, not loads).
    wide = f"-> vector<{FEW_TILING.nr_few}x{dtype}>"
    assert (wide in lowered, "@malloc" in lowered) == (few, not few)


@pytest.mark.parametrize(("n", "masked"), [(100, True), (200, True), (40, False), (128, False)])
def test_ragged_few_rows_tiles_are_masked_vectors(build, tools, tmp_path, n, masked):
    """A few-rows tile with more than half of nr_few columns but not all
    (100; 200 = 128 + 72) computes nr_few-lane vectors under a mask: a vector
    of an odd width is built an element at a time. Narrower and full tiles
    use vectors of their own width, unmasked."""
    m, k = 3, 70
    lib = build(matmul_acc(m, n, k, "f32"), tiling=FEW_TILING)
    a, b, c = _inputs(np.random.default_rng(n), "f32", (m, k), (k, n), (m, n))
    want = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    got = cabi.call(lib, "mm", [a, b, c], result=(2, np.float32))
    np.testing.assert_allclose(got, want, rtol=TOL["f32"], atol=TOL["f32"] * np.sqrt(k))
    out = tmp_path / "structure" / "p.o"
    out.parent.mkdir()
    matmul.lower_to_object(matmul_acc(m, n, k, "f32"), out, tools=tools, tiling=FEW_TILING)
    lowered = (out.parent / "p.work" / "llvm.mlir").read_text()
    assert ("llvm.intr.masked.load" in lowered) == masked
