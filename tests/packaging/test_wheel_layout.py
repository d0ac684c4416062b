"""The distribution installs only under `mlirboot/`: no generic top-level
`bootstrap` or `backend` package lands in site-packages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from mbtest import REPO


def test_wheel_holds_only_the_mlirboot_namespace(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("mlirboot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"mlirboot", next(t for t in tops if t.endswith(".dist-info"))}
    for needed in (
        "mlirboot/bootstrap/cli.py",
        "mlirboot/backend/__init__.py",
        "mlirboot/configs/toolchain.yaml",
        "mlirboot/configs/targets/tpu.yaml",
        "mlirboot/configs/mlirboot.schema.json",
        "mlirboot/bootstrap/templates/cache.cmake.j2",
    ):
        assert needed in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "mlirboot = mlirboot.bootstrap.cli:main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def test_installed_package_imports_as_mlirboot():
    import mlirboot.backend
    import mlirboot.bootstrap

    assert Path(mlirboot.bootstrap.__file__).parent.name == "bootstrap"
    assert mlirboot.backend.__name__ == "mlirboot.backend"
