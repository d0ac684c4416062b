"""What is reused from the source cache is re-verified: a replaced archive, an
edited, added or removed file in an unpacked tree, an old unstamped tree; a
full disk is reported as such."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from mlirboot.bootstrap.engine import extract, fetch, treestamp
from mlirboot.bootstrap.engine.planfile import Component
from mlirboot.bootstrap.errors import BuildError

from .conftest import component, make_project, make_tarball, mlirboot, sha, write_cache, write_plan


def _source(tmp: Path, greeting: str = "hello") -> tuple[dict, Path]:
    src = make_project(tmp / greeting, greeting=greeting)
    (src / "lib.c").write_text(f'const char *greet(void) {{ return "{greeting}"; }}\n')
    archive = make_tarball(src, tmp / greeting / "proj-1.0.tar.gz")
    source = {"kind": "tarball", "url": archive.as_uri(), "sha256": sha(archive), "strip": 1}
    return source, archive


def _comp(source: dict) -> Component:
    return Component(name="p", recipe="p", action="cmake", version="1", source=source)


def _resolve(source: dict, tmp: Path) -> Path:
    return fetch.resolve(_comp(source), tmp / "logs").path


def _cached_archive(cache: Path) -> Path:
    [archive] = (cache / "downloads").rglob("*.tar.gz")
    return archive


def test_replaced_archive_is_detected_and_fetched_again(
    tmp_path: Path, _cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, _ = _source(tmp_path)
    tree = _resolve(source, tmp_path)
    cached = _cached_archive(_cache_dir)
    _other, other_archive = _source(tmp_path, "evil")
    cached.write_bytes(other_archive.read_bytes())  # another valid tarball
    with caplog.at_level(logging.WARNING):
        assert _resolve(source, tmp_path) == tree
    assert "does not match its sha256" in caplog.text and cached.name in caplog.text
    assert not cached.exists()  # removed; the tree is intact so it is not needed now
    # The next unpack fetches the right archive again.
    (tree / treestamp.COMPLETE).unlink()
    tree = _resolve(source, tmp_path)
    assert "hello" in (tree / "lib.c").read_text()
    assert sha(cached) == source["sha256"]


def test_every_unpack_hashes_the_archive_even_with_a_matching_stat_stamp(
    tmp_path: Path, _cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, _ = _source(tmp_path)
    tree = _resolve(source, tmp_path)
    cached = _cached_archive(_cache_dir)
    _other, other_archive = _source(tmp_path, "evil")
    cached.write_bytes(other_archive.read_bytes())
    # Forge the stat stamp so the cheap check passes; the unpack still re-hashes.
    st = cached.stat()
    (cached.parent / fetch.VERIFIED).write_text(
        json.dumps(
            {
                "name": cached.name,
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "ctime_ns": st.st_ctime_ns,
                "ino": st.st_ino,
                "dev": st.st_dev,
            }
        )
    )
    (tree / treestamp.COMPLETE).unlink()
    with caplog.at_level(logging.WARNING):
        tree = _resolve(source, tmp_path)
    assert "does not match its sha256" in caplog.text
    assert "hello" in (tree / "lib.c").read_text() and sha(cached) == source["sha256"]


def test_unchanged_archive_is_not_rehashed(
    tmp_path: Path, _cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = _source(tmp_path)
    _resolve(source, tmp_path)
    hashed: list[Path] = []
    real = fetch.sha256_file
    monkeypatch.setattr(fetch, "sha256_file", lambda p: hashed.append(p) or real(p))
    _resolve(source, tmp_path)
    assert hashed == []  # stat stamp and tree stamp both match: no hashing


@pytest.mark.parametrize(
    "change, said",
    [
        (lambda t: (t / "lib.c").write_text("/* edited */\n"), "edited: lib.c"),
        (lambda t: (t / "extra.c").write_text("int x;\n"), "added: extra.c"),
        (lambda t: (t / "main.c").unlink(), "removed: main.c"),
        (lambda t: (t / "lib.h").chmod(0o755), "edited: lib.h"),
    ],
    ids=["edited", "added", "removed", "chmod"],
)
def test_changed_tree_is_named_moved_aside_and_unpacked_again(
    tmp_path: Path, change, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    source, _ = _source(tmp_path)
    tree = _resolve(source, tmp_path)
    pristine = (tree / "lib.c").read_text()
    change(tree)
    with caplog.at_level(logging.WARNING):
        again = _resolve(source, tmp_path)
    assert again == tree
    assert said in caplog.text and "changed since it was unpacked" in caplog.text
    assert (tree / "lib.c").read_text() == pristine and (tree / "main.c").exists()
    assert "extra.c" not in os.listdir(tree)
    # The user's edit is kept, moved aside; its path is said.
    [aside] = tree.parent.glob(f"{tree.name}.edited-*")
    assert str(aside) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _resolve(source, tmp_path)
    assert caplog.text == ""  # pristine again: reused silently


def test_tree_without_a_content_stamp_is_unpacked_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, _ = _source(tmp_path)
    tree = _resolve(source, tmp_path)
    (tree / "lib.c").write_text("/* edited by hand */\n")
    (tree / treestamp.COMPLETE).write_text("/old/style/marker.tar.gz\n")  # older mlirboot
    with caplog.at_level(logging.WARNING):
        _resolve(source, tmp_path)
    assert "no content stamp" in caplog.text
    assert "edited" not in (tree / "lib.c").read_text()


def test_pycache_in_the_tree_is_not_an_edit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, _ = _source(tmp_path)
    tree = _resolve(source, tmp_path)
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    with caplog.at_level(logging.WARNING):
        _resolve(source, tmp_path)
    assert caplog.text == ""


def test_edited_cached_source_via_cli(tmp_path: Path, _cache_dir: Path) -> None:
    source, _ = _source(tmp_path)
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    write_cache(build, "p")
    write_plan(build, prefix, [component("p", source)])
    assert mlirboot("build", "--build-dir", build).returncode == 0
    [tree] = [p for p in (_cache_dir / "src").iterdir() if not p.name.startswith(".")]
    (tree / "lib.c").write_text('const char *greet(void) { return "edited"; }\n')
    result = mlirboot("build", "--build-dir", build)
    assert result.returncode == 0, result.stderr
    assert "lib.c" in result.stderr and "changed since it was unpacked" in result.stderr
    assert "hello" in (tree / "lib.c").read_text()
    out = subprocess.run([prefix / "bin" / "hello-tool"], capture_output=True, text=True)
    assert out.stdout.strip() == "hello"


# -- a full disk ---------------------------------------------------------------


def test_enospc_while_extracting_is_not_a_corrupt_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _source(tmp_path)[1]

    def full(*args: object, **kw: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "out" / "x"))

    monkeypatch.setattr(tarfile.TarFile, "extractall", full)
    with pytest.raises(BuildError) as info:
        extract.extract(archive, tmp_path / "out", strip=1)
    msg = str(info.value)
    assert "no space left on device" in msg and "corrupt" not in msg
    assert not (tmp_path / "out").exists()


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A real 512 KiB tmpfs (needs root and mount; skipped elsewhere)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _big_tarball(tmp: Path, data: bytes) -> dict:
    src = make_project(tmp / "big")
    (src / "blob.bin").write_bytes(data)
    archive = make_tarball(src, tmp / "big.tar.gz")
    return {"kind": "tarball", "url": archive.as_uri(), "sha256": sha(archive), "strip": 1}


def test_full_disk_during_download_says_no_space(
    tmp_path: Path, tiny_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _big_tarball(tmp_path, os.urandom(1 << 20))  # incompressible: > 512 KiB
    monkeypatch.setenv("MLIRBOOT_CACHE_DIR", str(tiny_disk))
    with pytest.raises(BuildError) as info:
        _resolve(source, tmp_path)
    assert "no space left on device while downloading big.tar.gz" in str(info.value)
    assert not [p for p in tiny_disk.rglob("*") if p.is_file()]  # no partial file left


def test_full_disk_during_extract_says_no_space(
    tmp_path: Path, tiny_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _big_tarball(tmp_path, b"\0" * (4 << 20))  # tiny archive, 4 MiB unpacked
    monkeypatch.setenv("MLIRBOOT_CACHE_DIR", str(tiny_disk))
    with pytest.raises(BuildError) as info:
        _resolve(source, tmp_path)
    msg = str(info.value)
    assert "no space left on device while extracting big.tar.gz" in msg, msg
    assert "corrupt" not in msg
    assert not list((tiny_disk / "src").iterdir())  # the half-extracted tree is gone


def test_failed_debootstrap_hint_names_a_log_that_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rootfs is made in a temp dir that is removed; its log must not be."""
    from mlirboot.bootstrap.ship import rootfs

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "debootstrap"  # stands in for the real one to reach the error path
    fake.write_text("#!/bin/sh\necho 'E: Couldn'\"'\"'t download release file'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with pytest.raises(BuildError) as info:
        rootfs.rootfs_tarball("bookworm", "20260101")
    hint = info.value.hint or ""
    log = Path(hint.rsplit("log: ", 1)[1])
    assert log.is_file() and "download release file" in log.read_text()


def test_edited_git_checkout_is_checked_out_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo = make_project(tmp_path / "repo")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    source = {"kind": "git", "url": repo.as_uri(), "commit": commit}
    tree = _resolve(source, tmp_path)
    (tree / "lib.c").write_text("/* edited */\n")
    with caplog.at_level(logging.WARNING):
        assert _resolve(source, tmp_path) == tree
    assert "edited: lib.c" in caplog.text
    assert "edited" not in (tree / "lib.c").read_text()


def test_two_edits_in_one_second_both_kept(tmp_path: Path) -> None:
    source, _ = _source(tmp_path)
    tree = _resolve(source, tmp_path)
    for text in ("/* one */\n", "/* two */\n"):
        (tree / "lib.c").write_text(text)
        _resolve(source, tmp_path)
    kept = sorted((p / "lib.c").read_text() for p in tree.parent.glob(f"{tree.name}.edited-*"))
    assert kept == ["/* one */\n", "/* two */\n"]


def test_fetch_command_names_an_edited_tree(tmp_path: Path, _cache_dir: Path) -> None:
    source, _ = _source(tmp_path)
    build = tmp_path / "build"
    write_cache(build, "p")
    write_plan(build, tmp_path / "prefix", [component("p", source)])
    first = mlirboot("fetch", "--build-dir", build, "--print-path")
    assert first.returncode == 0, first.stderr
    tree = Path(first.stdout.strip())
    (tree / "main.c").unlink()
    again = mlirboot("fetch", "--build-dir", build, "--print-path")
    assert again.returncode == 0, again.stderr
    assert "removed: main.c" in again.stderr and (tree / "main.c").exists()


def test_apt_source_on_a_full_disk_says_no_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apt-get leaves a truncated orig tarball: not a checksum mismatch."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    apt = fake_bin / "apt-get"  # stands in for apt to reach the error path
    apt.write_text(
        "#!/bin/sh\nprintf 'partial' > pkg_1.0.orig.tar.gz\n"
        "echo 'E: Write error - write (28: No space left on device)'\nexit 100\n"
    )
    apt.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    comp = Component(
        name="p",
        recipe="p",
        action="cmake",
        version="1",
        source={
            "kind": "debian",
            "package": "pkg",
            "file": "pkg_1.0.orig.tar.gz",
            "sha256": "1" * 64,
        },
    )
    with pytest.raises(BuildError) as info:
        fetch.resolve(comp, tmp_path / "logs")
    msg = str(info.value)
    assert "no space left on device while downloading pkg_1.0.orig.tar.gz" in msg
    assert "checksum" not in msg
