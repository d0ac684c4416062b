"""The tpu launcher takes libtpu from the toolchain (the pjrt component's pip
install, recorded in the manifest) rather than from wherever Python finds it."""

from __future__ import annotations

from pathlib import Path

from mlirboot import backend
from mlirboot.bootstrap.toolset import system_manifest

PROGRAMS = Path(__file__).parent / "programs"


def test_tpu_artifact_records_the_toolchains_libtpu(tmp_path: Path):
    manifest = system_manifest()
    libtpu = tmp_path / "lib" / "python" / "libtpu" / "libtpu.so"
    libtpu.parent.mkdir(parents=True)
    libtpu.write_bytes(b"\x7fELF")
    manifest.libraries["libtpu"] = str(libtpu)
    manifest.write(tmp_path / "toolchain.json")

    with_libtpu = backend.compile(PROGRAMS / "matmul.mlir", target="tpu", toolchain=tmp_path)
    assert with_libtpu.meta["info"]["libtpu"] == str(libtpu)

    plain = tmp_path / "plain"
    system_manifest().write(plain / "toolchain.json")
    without = backend.compile(PROGRAMS / "matmul.mlir", target="tpu", toolchain=plain)
    assert "libtpu" not in without.meta["info"]
