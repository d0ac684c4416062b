"""Files mlirboot writes get the modes a plain open()/mkdir() would give under
the user's umask, not tempfile's private 0600/0700: a toolchain made by root
is usable by every other user of the machine."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mlirboot.bootstrap import fsutil

SYSTEM_LLVM = Path("/usr/lib/llvm-22/bin/llvm-config")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_writes_and_staging_dirs_follow_the_umask(tmp_path: Path) -> None:
    fsutil.atomic_write_text(tmp_path / "plain.json", "{}")
    fsutil.atomic_write_text(tmp_path / "tool", "#!/bin/sh\n", executable=True)
    staged = fsutil.staging_dir(tmp_path, ".stage.")
    umask = fsutil.umask()
    assert _mode(tmp_path / "plain.json") == 0o666 & ~umask
    assert _mode(tmp_path / "tool") == 0o777 & ~umask
    assert _mode(staged) == 0o777 & ~umask


def test_umask_is_read_not_guessed() -> None:
    old = os.umask(0o027)
    os.umask(old)
    assert fsutil.umask() == old


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
@pytest.mark.skipif(not SYSTEM_LLVM.exists(), reason="no LLVM 22 at /usr/lib/llvm-22")
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="no setpriv (util-linux)")
def test_toolchain_made_by_root_is_usable_by_another_user() -> None:
    # pytest's own tmp dirs are private to root: this one is open to all.
    base = Path(tempfile.mkdtemp(prefix="mlirboot-modes-"))
    try:
        base.chmod(0o755)
        build, prefix = base / "build", base / "prefix"

        def as_root(*args: str | Path) -> None:
            done = subprocess.run(
                [sys.executable, "-m", "mlirboot.bootstrap.cli", *map(str, args)],
                capture_output=True,
                text=True,
                umask=0o022,
                cwd=base,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr

        as_root("configure", "--target", "host", "-B", build, "--prefix", prefix)
        # The system components: no compile, so the test stays fast.
        as_root("build", "-B", build, "llvm", "offload")
        manifest = prefix / "toolchain.json"
        for path in (
            build / "plan.json",
            build / "lock.json",
            build / "CMakePresets.json",
            manifest,
        ):
            assert oct(_mode(path)) == "0o644", path
        for path in (build, prefix):
            assert oct(_mode(path)) == "0o755", path

        def as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv],
                capture_output=True,
                text=True,
                timeout=60,
            )

        read = as_nobody("cat", str(manifest))
        assert read.returncode == 0, read.stderr
        tools = json.loads(read.stdout)["tools"]
        ran = as_nobody(tools["mlir-opt"], "--version")
        assert ran.returncode == 0 and "22." in ran.stdout, ran.stderr
        assert as_nobody("cat", str(build / "plan.json")).returncode == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_extraction_drops_special_bits_and_foreign_owners(tmp_path: Path) -> None:
    """What tarfile's `data` filter does, done by mlirboot itself: Python 3.11.2
    (Debian 12) has no extraction filters."""
    import io
    import tarfile

    from mlirboot.bootstrap.engine import extract

    archive = tmp_path / "src.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, mode in (("top/setuid-tool", 0o4777), ("top/private", 0o000)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = 2, mode, 12345, 12345
            tar.addfile(info, io.BytesIO(b"hi"))
        info = tarfile.TarInfo("top/dir")
        info.type, info.mode = tarfile.DIRTYPE, 0o777
        tar.addfile(info)
    out = extract.extract(archive, tmp_path / "out", strip=1)
    assert _mode(out / "setuid-tool") == 0o755
    assert _mode(out / "private") == 0o600
    assert _mode(out / "dir") == 0o755
    assert _mode(out) == 0o777 & ~fsutil.umask()
    assert (out / "setuid-tool").stat().st_uid == os.getuid()
