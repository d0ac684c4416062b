"""Sources: fetch into the cache, verify, extract; return the source tree.

Kinds (the plan's `source.kind`): tarball (url + sha256), git (url + commit),
debian (a Debian source package's orig tarball via `apt-get source`), local (a
directory). Components with the same source share one cached tree.

Nothing cached is reused on trust: an archive is re-hashed when its stat stamp
(size, mtime, ctime, inode) changed and before every unpack; an unpacked tree
or checkout is checked against its content stamp (treestamp) each time it is
resolved. A mismatch is said (naming the files) and the cache entry is fetched
or unpacked again; an edited tree is moved aside, not deleted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import localsource, proc
from ..errors import BuildError, UsageError
from ..fsutil import atomic_write_text, sha256_file, staging_dir
from . import extract as extract_mod
from . import treestamp
from .cachedir import cache_dir
from .planfile import Component
from .progress import DownloadMeter
from .stamps import key as hash_key

log = logging.getLogger("mlirboot.fetch")
VERIFIED = ".verified"  # beside a cached archive: its stat when last hashed


@dataclass(frozen=True)
class SourceTree:
    path: Path  # root of the source (before source_subdir)
    key: str  # identity of the source, for stamp keys
    immutable: bool  # false for local dirs: their content may change under us


def effective_source(comp: Component) -> dict[str, Any] | None:
    """The component's source, with its env override (MLIRBOOT_*_SOURCE) applied."""
    return localsource.override(comp.source, comp.source_env, os.environ)


def tree_path(source: dict[str, Any], cache: Path | None = None) -> Path | None:
    """Where the source's tree is (or will be, once fetched): a local dir, or
    its place in the cache; None for an unknown kind. Reads nothing."""
    kind = source.get("kind")
    if kind == "local":
        return Path(source["path"]).expanduser()
    cache = cache or cache_dir()
    if kind in ("tarball", "debian"):
        return (
            cache / "src" / hash_key("archive", source["sha256"], int(source.get("strip", 1)))[:32]
        )
    if kind == "git":
        return cache / "git" / hash_key("git", source["url"], source["commit"])[:32]
    return None


def resolve(
    comp: Component,
    log_dir: Path,
    cache: Path | None = None,
    checked: set[Path] | None = None,
    meter: DownloadMeter | None = None,
) -> SourceTree:
    """The component's source tree, fetched and unpacked if needed. `checked`
    holds trees already verified in this run (one stat walk per tree per run);
    `meter` shows a download's progress."""
    source = effective_source(comp)
    where = f"{comp.name}/fetch"
    if source is None:
        raise UsageError(
            f"component `{comp.name}` has no source",
            where=where,
            hint=(
                f"set {comp.source_env} to a source checkout"
                if comp.source_env
                else "add a source for it in the config"
            ),
        )
    cache = cache or cache_dir()
    kind = source["kind"]
    if kind == "local":
        path = Path(source["path"]).expanduser().resolve()
        if not path.is_dir():
            origin = f"${source['env']}" if source.get("env") else "source.path"
            raise UsageError(
                f"local source {path} is not a directory",
                where=where,
                hint=f"point {origin} at an unpacked source tree",
            )
        return SourceTree(path, hash_key("local", str(path)), immutable=False)
    checked = set() if checked is None else checked
    if kind == "tarball":
        return _unpack(
            lambda: download(source["url"], source["sha256"], cache, where, meter),
            _cached_path(cache, source["sha256"], _url_name(source["url"])),
            source,
            cache,
            where,
            checked,
        )
    if kind == "debian":
        return _unpack(
            lambda: apt_source(source, cache, log_dir / "fetch.log", where),
            _cached_path(cache, source["sha256"], source["file"]),
            source,
            cache,
            where,
            checked,
        )
    if kind == "git":
        return git_checkout(source, cache, log_dir / "fetch.log", where, checked)
    raise UsageError(f"unknown source kind {kind!r}", where=where)


def _unpack(
    fetch_archive: Callable[[], Path],
    cached: Path,
    source: dict[str, Any],
    cache: Path,
    where: str,
    checked: set[Path],
) -> SourceTree:
    """The unpacked tree of an archive source. The archive is fetched only when
    the tree must be made again; a cached one is checked either way (a cheap
    stat check, a re-hash when that changed)."""
    strip = int(source.get("strip", 1))
    ident = hash_key("archive", source["sha256"], strip)
    dest = cache / "src" / ident[:32]  # = tree_path(source, cache)
    cached_archive(cached, source["sha256"], where)
    if not reuse_tree(dest, checked):
        archive = fetch_archive()
        # Every unpack hashes the archive itself, whatever its stat stamp says.
        if not _matches(archive, source["sha256"], where):
            archive = fetch_archive()
        extract_mod.extract(archive, dest, strip=strip)
        checked.add(dest)
    return SourceTree(dest, ident, immutable=True)


def reuse_tree(dest: Path, checked: set[Path]) -> bool:
    """True when the cached tree at `dest` is complete and unchanged since it
    was stamped. A changed tree is moved aside (edits kept) or, without a
    stamp to go by, removed; the caller then makes it again."""
    if not treestamp.is_complete(dest):
        return False
    if dest in checked:
        return True
    problem = treestamp.check(dest)
    if problem is None:
        checked.add(dest)
        return True
    if problem == treestamp.NO_STAMP:
        log.warning("cached source %s: %s; unpacking it again", dest, problem)
        shutil.rmtree(dest)
        return False
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = dest.with_name(f"{dest.name}.edited-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = dest.with_name(f"{dest.name}.edited-{stamp}-{n}")
    try:
        os.replace(dest, aside)
    except FileNotFoundError:
        return False  # another build moved it first
    log.warning(
        "cached source %s changed since it was unpacked (%s); moved it to %s and "
        "unpacking it again (to build edited sources, point the component's "
        "MLIRBOOT_*_SOURCE at a copy)",
        dest,
        problem,
        aside,
    )
    return False


def _url_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1] or "download"


def _cached_path(cache: Path, sha256: str, name: str) -> Path:
    return cache / "downloads" / sha256 / name


def _stat_stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "ino": st.st_ino,
        "dev": st.st_dev,
    }


def _remember(path: Path) -> None:
    """Record the stat of an archive whose hash was just checked."""
    with contextlib.suppress(OSError):  # only an optimisation: a re-hash next time
        atomic_write_text(
            path.parent / VERIFIED, json.dumps({"name": path.name, **_stat_stamp(path)})
        )


def _matches(path: Path, expected: str, where: str) -> bool:
    """Hash a cached archive; on a mismatch say so and delete it (the caller
    fetches it again)."""
    got = sha256_file(path)
    if got == expected.lower():
        _remember(path)
        return True
    log.warning(
        "%s: cached %s does not match its sha256 (expected %s, got %s): it was "
        "replaced or damaged; removed it (it is fetched again when needed)",
        where,
        path,
        expected,
        got,
    )
    path.unlink(missing_ok=True)
    (path.parent / VERIFIED).unlink(missing_ok=True)
    return False


def cached_archive(final: Path, expected: str, where: str) -> bool:
    """True when `final` is in the cache and still the archive it was: its stat
    matches the one recorded when it was last hashed, or a new hash matches."""
    if not final.exists():
        return False
    try:
        seen = json.loads((final.parent / VERIFIED).read_text())
        if seen == {"name": final.name, **_stat_stamp(final)}:
            return True
    except (OSError, ValueError):
        pass
    return _matches(final, expected, where)


def verify(path: Path, expected: str, where: str, origin: str) -> None:
    """Check the sha256; on mismatch delete the file and say expected vs got."""
    got = sha256_file(path)
    if got != expected.lower():
        path.unlink(missing_ok=True)
        raise BuildError(
            f"checksum mismatch for {path.name}: expected sha256 {expected}, got {got}",
            where=where,
            hint=f"the file from {origin} was deleted; if the new checksum is right, "
            "update it in the config, otherwise retry the download",
        )


def download(
    url: str, sha256: str, cache: Path, where: str, meter: DownloadMeter | None = None
) -> Path:
    """The verified archive in the cache, downloaded if needed. Bytes arrive in
    `<name>.part` beside it, which a failed or interrupted download leaves for
    the next one to resume (engine/download.py: retries, HTTP Range). One
    process at a time per archive (a lock on its cache dir). A resumed file
    whose sha256 does not match is downloaded once more from zero; a fresh one
    that does not match is an error, as before."""
    name = _url_name(url)
    final = _cached_path(cache, sha256, name)
    if cached_archive(final, sha256, where):
        return final
    part = final.parent / f"{name}.part"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(final.parent, os.O_RDONLY)
    except OSError as err:
        raise _disk_or(err, name, where, final.parent) from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cached_archive(final, sha256, where):  # another process finished it
            return final
        for fresh in (False, True):
            resumed = _download_to(url, part, name, where, meter, fresh)
            if resumed and not fresh and sha256_file(part) != sha256.lower():
                log.warning(
                    "%s: the resumed %s does not match its sha256; downloading it again "
                    "from the start",
                    where,
                    name,
                )
                continue
            verify(part, sha256, where, url)
            break
        os.replace(part, final)
        _remember(final)
    finally:
        os.close(lock)
    return final


def _download_to(
    url: str, part: Path, name: str, where: str, meter: DownloadMeter | None, fresh: bool
) -> bool:
    """Fill `part` from `url` (resuming what it holds unless `fresh`); returns
    whether earlier bytes were kept."""
    # Imported here: urllib.request is slow to import and a no-op build never downloads.
    from . import download as download_mod

    try:
        out = open(part, "a+b")  # noqa: SIM115 (closed below; errors mapped apart)
    except OSError as err:
        raise _disk_or(err, name, where, part.parent) from None
    try:
        if fresh:
            download_mod.truncate(out)
        return download_mod.fetch(url, out, name=name, meter=meter)
    except download_mod.WriteError as err:
        out.close()
        part.unlink(missing_ok=True)  # a full disk: nothing worth resuming
        raise _disk_or(err.err, name, where, part.parent) from None
    except download_mod.Failed as err:
        kept = download_mod.size(out) > 0
        out.close()
        if not kept:
            part.unlink(missing_ok=True)
        tries = f" (after {err.tried} tries)" if err.tried > 1 else ""
        raise BuildError(
            f"download failed: {url}: {err.reason}{tries}",
            where=where,
            hint=(
                "the partial file is kept and the next run resumes it; check the network"
                if kept and err.transient
                else "check the URL in the config"
                if not err.transient
                else "check the network/URL"
            )
            + ", or set the component's MLIRBOOT_*_SOURCE to a local source tree",
        ) from None
    finally:
        out.close()


def _disk_or(err: OSError, name: str, where: str, place: Path) -> BaseException:
    disk = extract_mod.disk_error(err, f"downloading {name}", where, place)
    return disk if disk is not None else err


def apt_source(source: dict[str, Any], cache: Path, log: Path, where: str) -> Path:
    """`apt-get source --download-only` the package, keep only the named orig
    tarball. apt's exit code is not trusted: the .dsc or debian.tar.xz may 404
    while the orig tarball arrived fine; the file's checksum decides."""
    name, sha256 = source["file"], source["sha256"]
    final = _cached_path(cache, sha256, name)
    if cached_archive(final, sha256, where):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".apt-source.", dir=final.parent))
    try:
        package = source["package"]
        spec = f"{package}/{source['suite']}" if source.get("suite") else package
        result = proc.run(
            ["apt-get", "source", "--download-only", spec],
            stage=where,
            log_path=log,
            cwd=work,
            check=False,
        )
        got = work / name
        _say_no_space(result.output, name, where, work)
        if not got.exists() and spec != package:
            # The suite may not be configured by that name; any deb-src of the
            # package whose orig tarball has the right checksum will do.
            result = proc.run(
                ["apt-get", "source", "--download-only", package],
                stage=where,
                log_path=log,
                cwd=work,
                check=False,
            )
            _say_no_space(result.output, name, where, work)
        if not got.exists():
            tail = "\n".join(result.output.splitlines()[-30:])
            raise BuildError(
                f"apt-get source {package} did not produce {name}",
                where=where,
                hint="add a deb-src line for the Debian main archive"
                + (f" (suite {source['suite']})" if source.get("suite") else "")
                + f" and run `apt-get update`; log: {log}",
                details=tail,
            )
        verify(got, sha256, where, f"apt-get source {package}")
        os.replace(got, final)
        _remember(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _say_no_space(output: str, name: str, where: str, place: Path) -> None:
    """A tool that hit a full disk (its file may be there, truncated): say so,
    not "checksum mismatch" or "no such package"."""
    if "No space left on device" in output or "Disk quota exceeded" in output:
        err = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise extract_mod.disk_error(err, f"downloading {name}", where, place.parent) or err


def git_checkout(
    source: dict[str, Any], cache: Path, log: Path, where: str, checked: set[Path] | None = None
) -> SourceTree:
    url, commit = source["url"], source["commit"]
    ident = hash_key("git", url, commit)
    dest = cache / "git" / ident[:32]  # = tree_path(source, cache)
    checked = set() if checked is None else checked
    if reuse_tree(dest, checked):
        return SourceTree(dest, ident, immutable=True)
    if dest.exists():
        shutil.rmtree(dest)
    tmp = staging_dir(dest.parent, f".{dest.name}.")
    try:
        git = ["git", "-C", str(tmp)]
        proc.run(["git", "init", "-q", str(tmp)], stage=where, log_path=log)
        proc.run(
            [*git, "fetch", "--depth", "1", url, commit],
            stage=where,
            log_path=log,
            hint=f"is {commit} a full commit id reachable in {url}?",
        )
        proc.run([*git, "checkout", "-q", "FETCH_HEAD"], stage=where, log_path=log)
        head = proc.run([*git, "rev-parse", "HEAD"], stage=where).output.strip()
        if head != commit:
            raise BuildError(
                f"git checkout of {url} is at {head}, expected {commit}",
                where=where,
                hint="pin a full 40-character commit id in the config",
            )
        shutil.rmtree(tmp / ".git")  # the tree is keyed by commit; history is dead weight
        treestamp.record(tmp, f"{url} {commit}")
        os.replace(tmp, dest)
        checked.add(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return SourceTree(dest, ident, immutable=True)
