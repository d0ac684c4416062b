"""`mlirboot rust enable-autodiff`: rustc's std::autodiff on mlirboot's Enzyme.

The round trips (marker `enzyme`) use the Enzyme this session built (the
`enzyme_toolchain` fixture) and rustup's nightly rustc, never the user's real
toolchain: an overlay sysroot in a temp dir, or a hard-linked copy of the
nightly toolchain for the install-and-undo check. The clear errors run
everywhere against fake rustc scripts."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mbtest import REPO, cargo, cargo_env
from mlirboot.bootstrap.ship.elf import needed

PROGRAM = Path(__file__).parent / "rust" / "autodiff.rs"
HOST = "x86_64-unknown-linux-gnu"


def _rustc_nightly() -> Path | None:
    if not shutil.which("rustup"):
        return None
    out = subprocess.run(
        ["rustc", "+nightly", "--print", "sysroot"], capture_output=True, text=True
    )
    sysroot = Path(out.stdout.strip())
    return sysroot if out.returncode == 0 and (sysroot / "bin" / "rustc").exists() else None


NIGHTLY = _rustc_nightly()
needs_nightly = pytest.mark.skipif(
    NIGHTLY is None, reason="no rustup nightly rustc (`rustup toolchain install nightly`)"
)


def fake_rustc(tmp_path: Path, release: str, llvm: str, sysroot: Path) -> Path:
    script = tmp_path / "rustc"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-vV" ]; then\n'
        f"  printf 'rustc {release}\\nbinary: rustc\\nhost: {HOST}\\n"
        f"release: {release}\\nLLVM version: {llvm}\\n'\n"
        f"else echo {sysroot}; fi\n"
    )
    script.chmod(0o755)
    return script


def fake_sysroot(tmp_path: Path) -> Path:
    sysroot = tmp_path / "sysroot"
    (sysroot / "lib" / "rustlib" / HOST / "lib").mkdir(parents=True)
    return sysroot


@pytest.mark.parametrize(
    "release, llvm, message",
    [
        ("1.95.0", "22.1.2", "rustc 1.95.0 (RUSTC) is not a nightly: std::autodiff needs"),
        ("1.99.0-nightly", "23.0.0", "rustc 1.99.0-nightly uses LLVM 23.0.0, not 22.x"),
    ],
)
def test_a_rustc_it_cannot_serve_is_one_line(cli, tmp_path, release, llvm, message):
    rustc = fake_rustc(tmp_path, release, llvm, fake_sysroot(tmp_path))
    result = cli("rust", "enable-autodiff", "--rustc", rustc)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message.replace("RUSTC", str(rustc)) in lines[0], lines
    assert "Traceback" not in result.stderr


def test_a_missing_sysroot_is_one_line(cli, tmp_path):
    rustc = fake_rustc(tmp_path, "1.97.0-nightly", "22.1.4", tmp_path / "gone")
    result = cli("rust", "enable-autodiff", "--rustc", rustc)
    assert result.returncode == 2
    assert f"sysroot {tmp_path / 'gone'} has no lib/rustlib" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_libenzyme_mlirboot_did_not_put_there_is_never_replaced(cli, tmp_path):
    sysroot = fake_sysroot(tmp_path)
    theirs = sysroot / "lib" / "rustlib" / HOST / "lib" / "libEnzyme-22.so"
    theirs.write_bytes(b"someone else's")
    rustc = fake_rustc(tmp_path, "1.97.0-nightly", "22.1.4", sysroot)
    toolchain = tmp_path / "tc"
    toolchain.mkdir()
    (toolchain / "toolchain.json").write_text(
        json.dumps(
            {
                "schema": 2,
                "mlirboot_version": "0",
                "provider": "system",
                "llvm_version": "22.1.8",
                "prefix": str(toolchain),
            }
        )
    )
    result = cli("rust", "enable-autodiff", "--rustc", rustc, "--toolchain", toolchain)
    assert result.returncode == 2, result.stderr
    assert "exists and mlirboot did not put it there" in result.stderr
    assert theirs.read_bytes() == b"someone else's"
    undo = cli("rust", "enable-autodiff", "--rustc", rustc, "--undo")
    assert undo.returncode == 2 and "mlirboot added nothing" in undo.stderr
    assert theirs.read_bytes() == b"someone else's"


# --- the round trips: real Enzyme, real nightly rustc ------------------------


def analytic() -> dict[str, float]:
    w = [0.3, -0.7, 0.2, 0.5]
    s = sum((i + 1) * wi * wi for i, wi in enumerate(w))
    x, (rx, ry) = 0.8, (1.3, 0.4)
    expected = {"weighted": math.sin(s)}
    for i, wi in enumerate(w):
        expected[f"d_weighted[{i}]"] = math.cos(s) * 2 * (i + 1) * wi
    expected["xexp"] = x * math.exp(x)
    expected["d_xexp"] = (1 + x) * math.exp(x)
    expected["rosen"] = (1 - rx) ** 2 + 100 * (ry - rx * rx) ** 2
    expected["d_rosen_x"] = -2 * (1 - rx) - 400 * rx * (ry - rx * rx)
    return expected


def compile_and_check(rustc: list[str], tmp_path: Path) -> None:
    assert NIGHTLY is not None
    exe = tmp_path / "autodiff"
    build = subprocess.run(
        [*rustc, "-Zautodiff=Enable", "-C", "lto=fat", "-O", PROGRAM, "-o", exe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "LD_DEBUG": "files"},  # the loader names every library it loads
    )
    assert build.returncode == 0, build.stderr[-3000:]
    loaded = {
        line.split("file=")[1].split()[0]
        for line in build.stderr.splitlines()
        if "file=" in line and ("libLLVM" in line or "libEnzyme" in line)
    }
    # One LLVM in rustc: its own, which libEnzyme resolves against.
    assert any(f.endswith("libEnzyme-22.so") for f in loaded), loaded
    assert {Path(f).name for f in loaded if "libLLVM" in f} == {
        p.name for p in (NIGHTLY / "lib").glob("libLLVM.so.22*")
    }, loaded
    out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    got = {name: float(value) for name, value in (line.split() for line in out.splitlines())}
    expected = analytic()
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name


def tree_digest(root: Path) -> dict[str, str]:
    """Every path under root with its symlink target or content hash."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if path.is_symlink():
                seen[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                seen[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                seen[rel] = "dir"
    return seen


@pytest.mark.enzyme
@pytest.mark.slow
@needs_nightly
def test_autodiff_through_an_overlay_sysroot(cli, tmp_path, enzyme_toolchain):
    assert NIGHTLY is not None
    real_lib = NIGHTLY / "lib" / "rustlib" / HOST / "lib"
    before = sorted(p.name for p in real_lib.iterdir())
    overlay = tmp_path / "sysroot"
    result = cli(
        "rust", "enable-autodiff", "--toolchain", enzyme_toolchain,
        "--overlay", overlay, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    library = Path(report["library"])
    assert library == overlay / "lib" / "rustlib" / HOST / "lib" / "libEnzyme-22.so"
    assert report["rustflags"] == f"-Zautodiff=Enable --sysroot {overlay}"
    assert 'lto = "fat"' in report["cargo_profile"]
    # One LLVM in rustc: libEnzyme needs the rustc's own, not the toolchain's.
    deps = needed(library)  # DT_NEEDED, read by mlirboot's ELF reader
    rust_llvm = [p.name for p in (NIGHTLY / "lib").glob("libLLVM.so.22*")]
    assert [d for d in deps if d.startswith("libLLVM")] == rust_llvm
    compile_and_check(["rustc", "+nightly", "--sysroot", str(overlay)], tmp_path)
    # The rustc's own toolchain is untouched.
    assert sorted(p.name for p in real_lib.iterdir()) == before
    # Run again: the overlay is ours, so it is rebuilt; --undo removes it.
    again = cli("rust", "enable-autodiff", "--toolchain", enzyme_toolchain, "--overlay", overlay)
    assert again.returncode == 0, again.stderr
    assert f'RUSTFLAGS="-Zautodiff=Enable --sysroot {overlay}"' in again.stdout
    undo = cli("rust", "enable-autodiff", "--overlay", overlay, "--undo")
    assert undo.returncode == 0 and not overlay.exists()


@pytest.mark.enzyme
@pytest.mark.slow
@needs_nightly
def test_autodiff_installed_into_a_sysroot_and_undone_byte_for_byte(
    cli, tmp_path, enzyme_toolchain
):
    """Into a hard-linked copy of rustup's nightly (new files only: the real
    toolchain's files are never written), then --undo."""
    assert NIGHTLY is not None
    copy = tmp_path / "nightly"
    subprocess.run(["cp", "-al", NIGHTLY, copy], check=True)
    rustc = copy / "bin" / "rustc"
    before = tree_digest(copy)
    result = cli("rust", "enable-autodiff", "--toolchain", enzyme_toolchain, "--rustc", rustc)
    assert result.returncode == 0, result.stderr
    installed = copy / "lib" / "rustlib" / HOST / "lib" / "libEnzyme-22.so"
    assert f"installed {installed}" in result.stdout
    assert 'RUSTFLAGS="-Zautodiff=Enable" cargo run --release' in result.stdout
    compile_and_check([str(rustc)], tmp_path)
    undo = cli("rust", "enable-autodiff", "--rustc", rustc, "--undo", "--json")
    assert undo.returncode == 0, undo.stderr
    assert str(installed) in json.loads(undo.stdout)["removed"]
    assert tree_digest(copy) == before


@pytest.mark.enzyme
@pytest.mark.slow
@needs_nightly
@pytest.mark.skipif(cargo() is None, reason="cargo is not installed (rustup.rs)")
def test_autodiff_around_an_offload_kernel_example(cli, tmp_path, enzyme_toolchain):
    """examples/rust/autodiff_offload: std::autodiff's dL/dP (mlirboot's Enzyme
    in rustc) and the two products through the offload-host kernel, checked by
    the program against an f64 reference; the kernels ran on the offload device."""
    overlay = tmp_path / "sysroot"
    enable = cli("rust", "enable-autodiff", "--toolchain", enzyme_toolchain, "--overlay", overlay)
    assert enable.returncode == 0, enable.stderr
    example = tmp_path / "autodiff_offload"
    shutil.copytree(
        REPO / "examples" / "rust" / "autodiff_offload",
        example,
        ignore=shutil.ignore_patterns("target", "Cargo.lock"),
    )
    cargo_path = cargo()
    assert cargo_path is not None
    env = cargo_env(
        cargo_path,
        tmp_path / "target",
        RUSTFLAGS=f"-Zautodiff=Enable --sysroot {overlay}",
        OMP_TARGET_OFFLOAD="MANDATORY",
        LIBOMPTARGET_INFO="1",
    )
    res = subprocess.run(
        [cargo_path, "+nightly", "run", "--release", "--offline"],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout + res.stderr[-5000:]
    assert "ok: std::autodiff's dL/dP through the offload kernel's products matches" in res.stdout
    # Two matmul calls, each entering the offload runtime's kernels.
    assert res.stderr.count("Exiting OpenMP data region") == 2, res.stderr[-3000:]
    assert "Entering OpenMP kernel" in res.stderr
