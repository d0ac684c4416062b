"""Sources: fetch into the cache, verify, extract; return the source tree.

Kinds (the plan's `source.kind`): tarball (url + sha256), git (url + commit),
debian (a Debian source package's orig tarball via `apt-get source`), local (a
directory). Components with the same source share one cached tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import proc
from ..errors import BuildError, UsageError
from ..fsutil import sha256_file, staging_dir, staging_file
from . import extract as extract_mod
from .cachedir import cache_dir
from .planfile import Component
from .stamps import key as hash_key


@dataclass(frozen=True)
class SourceTree:
    path: Path  # root of the source (before source_subdir)
    key: str  # identity of the source, for stamp keys
    immutable: bool  # false for local dirs: their content may change under us


def effective_source(comp: Component) -> dict[str, Any] | None:
    """The component's source, with its env override (MLIRBOOT_*_SOURCE) applied."""
    if comp.source_env and os.environ.get(comp.source_env):
        return {"kind": "local", "path": os.environ[comp.source_env], "env": comp.source_env}
    return comp.source


def resolve(comp: Component, log_dir: Path, cache: Path | None = None) -> SourceTree:
    source = effective_source(comp)
    where = f"{comp.name}/fetch"
    if source is None:
        raise UsageError(
            f"component `{comp.name}` has no source",
            where=where,
            hint=(f"set {comp.source_env} to a source checkout" if comp.source_env
                  else "add a source for it in the config"),
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
    if kind == "tarball":
        archive = download(source["url"], source["sha256"], cache, where)
        return _unpack(archive, source, cache)
    if kind == "debian":
        archive = apt_source(source, cache, log_dir / "fetch.log", where)
        return _unpack(archive, source, cache)
    if kind == "git":
        return git_checkout(source, cache, log_dir / "fetch.log", where)
    raise UsageError(f"unknown source kind {kind!r}", where=where)


def _unpack(archive: Path, source: dict[str, Any], cache: Path) -> SourceTree:
    strip = int(source.get("strip", 1))
    ident = hash_key("archive", source["sha256"], strip)
    tree = extract_mod.extract(archive, cache / "src" / ident[:32], strip=strip)
    return SourceTree(tree, ident, immutable=True)


def _cached_path(cache: Path, sha256: str, name: str) -> Path:
    return cache / "downloads" / sha256 / name


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


def download(url: str, sha256: str, cache: Path, where: str) -> Path:
    # Imported here: urllib.request is slow to import and a no-op build never downloads.
    import urllib.error
    import urllib.request

    name = url.rstrip("/").rsplit("/", 1)[-1] or "download"
    final = _cached_path(cache, sha256, name)
    if final.exists():  # stored only after verification
        return final
    fd, tmp = staging_file(final.parent, f".{name}.", ".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        verify(tmp, sha256, where, url)
        os.replace(tmp, final)
    except (urllib.error.URLError, OSError) as err:
        raise BuildError(
            f"download failed: {url}: {getattr(err, 'reason', err)}",
            where=where,
            hint="check the network/URL, or set the component's MLIRBOOT_*_SOURCE "
            "to a local source tree",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return final


def apt_source(source: dict[str, Any], cache: Path, log: Path, where: str) -> Path:
    """`apt-get source --download-only` the package, keep only the named orig
    tarball. apt's exit code is not trusted: the .dsc or debian.tar.xz may 404
    while the orig tarball arrived fine; the file's checksum decides."""
    name, sha256 = source["file"], source["sha256"]
    final = _cached_path(cache, sha256, name)
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".apt-source.", dir=final.parent))
    try:
        package = source["package"]
        spec = f"{package}/{source['suite']}" if source.get("suite") else package
        result = proc.run(
            ["apt-get", "source", "--download-only", spec],
            stage=where, log_path=log, cwd=work, check=False,
        )
        got = work / name
        if not got.exists() and spec != package:
            # The suite may not be configured by that name; any deb-src of the
            # package whose orig tarball has the right checksum will do.
            result = proc.run(
                ["apt-get", "source", "--download-only", package],
                stage=where, log_path=log, cwd=work, check=False,
            )
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def git_checkout(source: dict[str, Any], cache: Path, log: Path, where: str) -> SourceTree:
    url, commit = source["url"], source["commit"]
    ident = hash_key("git", url, commit)
    dest = cache / "git" / ident[:32]
    if (dest / extract_mod.COMPLETE).exists():
        return SourceTree(dest, ident, immutable=True)
    if dest.exists():
        shutil.rmtree(dest)
    tmp = staging_dir(dest.parent, f".{dest.name}.")
    try:
        git = ["git", "-C", str(tmp)]
        proc.run(["git", "init", "-q", str(tmp)], stage=where, log_path=log)
        proc.run([*git, "fetch", "--depth", "1", url, commit], stage=where, log_path=log,
                 hint=f"is {commit} a full commit id reachable in {url}?")
        proc.run([*git, "checkout", "-q", "FETCH_HEAD"], stage=where, log_path=log)
        head = proc.run([*git, "rev-parse", "HEAD"], stage=where).output.strip()
        if head != commit:
            raise BuildError(
                f"git checkout of {url} is at {head}, expected {commit}",
                where=where, hint="pin a full 40-character commit id in the config",
            )
        shutil.rmtree(tmp / ".git")  # the tree is keyed by commit; history is dead weight
        (tmp / extract_mod.COMPLETE).write_text(f"{url} {commit}\n")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return SourceTree(dest, ident, immutable=True)
