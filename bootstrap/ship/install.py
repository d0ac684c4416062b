"""`mlirboot install`: a package tarball (`mlirboot package`) unpacked into a
prefix anywhere, checked file by file.

One streaming pass over the archive: each member is checked for safety (no
absolute paths, `..`, links out of the tree or special files: the same checks
as source extraction), written into a staging dir beside the prefix and hashed
as it is written. Then every file is compared with the sha256 the package's
SBOM records for it, every link with the target its manifest records, and
nothing may be missing or extra. Only then is the staging dir renamed into
place. The package's `requires` (system shared libraries, tools outside the
prefix) are checked against this machine before anything is written.

The prefix must be new, an empty directory, or a prefix `mlirboot install`
made (`.mlirboot/installed.json`), which is replaced as a whole.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .. import proc
from ..engine.extract import check_member
from ..errors import BuildError, UsageError
from ..filenames import LOCK_JSON, MANIFEST_JSON, PLAN_JSON
from ..fsutil import staging_dir
from .package import SBOM_NAME, SHIPPED_MANIFEST

STATE_DIR = ".mlirboot"
MARKER = f"{STATE_DIR}/installed.json"
# Package files kept in the installed prefix, beside the marker.
META_DIR = f"{STATE_DIR}/package"
META_FILES = (LOCK_JSON, PLAN_JSON, SBOM_NAME)
REPACKAGE = "make the package again with `mlirboot package` and check where it came from"


@dataclass
class Unpacked:
    """What one pass over the archive found."""

    top: str = ""
    files: dict[str, str] = field(default_factory=dict)  # path in package -> sha256
    links: dict[str, str] = field(default_factory=dict)  # path in package -> target
    data: dict[str, bytes] = field(default_factory=dict)  # the small metadata files
    size: int = 0
    sha256: str = ""


class _Hashing:
    """A read-only file object that hashes what is read through it."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.digest = raw, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        block = self.raw.read(n)
        self.digest.update(block)
        return block


def _bad_package(package: Path, what: str) -> UsageError:
    return UsageError(
        f"{package.name} is not a usable mlirboot package: {what}",
        where=str(package),
        hint=REPACKAGE,
    )


def _tampered(package: Path, member: str, what: str) -> UsageError:
    return UsageError(
        f"{member} {what}: the package was changed after `mlirboot package` made it",
        where=str(package),
        hint=f"{REPACKAGE}; nothing was installed",
    )


def _members(
    package: Path, tar: tarfile.TarFile, out: Unpacked
) -> Iterator[tuple[tarfile.TarInfo, str]]:
    """(checked member, its path below the package's top dir)."""
    top = None
    for member in tar:
        try:
            checked = check_member(package, member, 0)
        except BuildError as err:
            raise UsageError(err.message, where=str(package), hint=REPACKAGE) from None
        assert checked is not None
        head, _, rest = checked.name.partition("/")
        top = out.top = top or head
        if head != top:
            raise _bad_package(package, f"two top-level dirs ({top}, {head})")
        if rest and rest != "toolchain":
            yield checked, rest


def _unpack(package: Path, dest: Path | None) -> Unpacked:
    """Read the archive once; write its files under `dest` (None: only hash)."""
    out = Unpacked()
    with open(package, "rb") as raw:
        hashing = _Hashing(raw)
        try:
            with tarfile.open(fileobj=hashing, mode="r|*") as tar:  # type: ignore[call-overload]
                for member, rel in _members(package, tar, out):
                    _one(package, tar, member, rel, dest, out)
            while hashing.read(1 << 20):  # the rest (gzip trailer, padding) for the sha256
                pass
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, ValueError) as err:
            why = f"not a readable .tar.gz ({err or type(err).__name__})"
            raise _bad_package(package, why) from None
    out.sha256 = hashing.digest.hexdigest()
    return out


def _one(
    package: Path,
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    rel: str,
    dest: Path | None,
    out: Unpacked,
) -> None:
    if rel in out.files or rel in out.links:
        raise _tampered(package, rel, "appears twice in the archive")
    if rel in META_FILES or rel == SHIPPED_MANIFEST:
        if not member.isfile() or member.size > 256 << 20:
            raise _bad_package(package, f"{rel} is not a regular file")
        src = tar.extractfile(member)
        assert src is not None
        data = src.read()
        out.data[rel] = data
        out.files[rel] = hashlib.sha256(data).hexdigest()
        if dest is not None and rel != SHIPPED_MANIFEST:
            path = dest / META_DIR / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        elif dest is not None:
            (dest / MANIFEST_JSON).write_bytes(data)
        return
    if not rel.startswith("toolchain/"):
        raise _bad_package(package, f"unexpected member {rel}")
    inner = rel.removeprefix("toolchain/")
    if inner.split("/")[0] == STATE_DIR:
        raise _bad_package(package, f"member {rel} would overwrite mlirboot's own records")
    parents = inner.split("/")
    for i in range(1, len(parents)):
        if "toolchain/" + "/".join(parents[:i]) in out.links:
            raise _tampered(package, rel, "lies below a link of the package")
    target = dest / inner if dest is not None else None
    if member.isdir():
        if target is not None:
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(member.mode)
        return
    if member.issym():
        resolved = os.path.normpath(os.path.join(os.path.dirname(inner), member.linkname))
        if resolved == ".." or resolved.startswith("../"):
            raise _tampered(package, rel, f"links out of the prefix ({member.linkname})")
        out.links[rel] = member.linkname
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(member.linkname, target)
        return
    if not member.isfile():
        raise _bad_package(package, f"{rel} is a hard link (packages hold none)")
    src = tar.extractfile(member)
    assert src is not None
    digest = hashlib.sha256()
    with contextlib.ExitStack() as stack:
        sink = None
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            sink = stack.enter_context(open(target, "wb"))
        while block := src.read(1 << 20):
            digest.update(block)
            if sink is not None:
                sink.write(block)
    if target is not None:
        target.chmod(member.mode)
    out.files[rel] = digest.hexdigest()
    out.size += member.size


def _verify(package: Path, found: Unpacked) -> dict[str, Any]:
    """Every file against the SBOM's sha256, every link against the manifest;
    returns the shipped manifest's JSON data."""
    if SBOM_NAME not in found.data:
        raise _bad_package(package, f"it has no {SBOM_NAME}")
    if SHIPPED_MANIFEST not in found.data:
        raise _bad_package(
            package, f"it has no {SHIPPED_MANIFEST} (made by an mlirboot older than `install`?)"
        )
    try:
        sbom = json.loads(found.data[SBOM_NAME])
        listed = {
            c["name"]: c["hashes"][0]["content"]
            for c in sbom.get("components", [])
            if c.get("type") == "file"
        }
        manifest = json.loads(found.data[SHIPPED_MANIFEST])
        links = {
            f"toolchain/{f['path']}": f["symlink"] for f in manifest["files"] if "symlink" in f
        }
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        raise _bad_package(package, f"its SBOM or manifest is malformed ({err})") from None
    for rel, digest in sorted(found.files.items()):
        if rel == SBOM_NAME:
            continue
        if rel not in listed:
            raise _tampered(package, rel, "is not in the package's SBOM")
        if listed[rel] != digest:
            raise _tampered(package, rel, "does not match its sha256 in the SBOM")
    missing = sorted(set(listed) - set(found.files))
    if missing:
        raise _tampered(package, missing[0], "is in the SBOM but missing from the package")
    for rel, target in sorted(found.links.items()):
        if links.get(rel) != target:
            raise _tampered(package, rel, f"is a link to {target}, which the manifest does not say")
    missing = sorted(set(links) - set(found.links))
    if missing:
        raise _tampered(
            package, missing[0], "is a link in the manifest but missing from the package"
        )
    return manifest


def _known_sonames() -> set[str] | None:
    """Sonames the dynamic loader finds here: ldconfig's cache plus
    $LD_LIBRARY_PATH. None when there is no ldconfig to ask."""
    ldconfig = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.path.exists(p)), None
    )
    if ldconfig is None:
        return None
    listing = proc.run([ldconfig, "-p"], stage="install/requirements", check=False).output
    names = {line.split()[0] for line in listing.splitlines()[1:] if line.strip()}
    for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep):
        if d and os.path.isdir(d):
            names |= set(os.listdir(d))
    return names


# What clang, as a driver, takes from the system to compile C and link: the C
# library's headers and start files, and a linker (Debian's clang-22 depends on
# libc6-dev, libgcc-12-dev and binutils). The backend's launcher is C.
C_TOOLCHAIN_HINT = "Debian: apt-get install libc6-dev libgcc-12-dev binutils"


def _c_toolchain_missing() -> list[str]:
    missing = []
    if not Path("/usr/include/stdio.h").exists():
        missing.append("C library headers (stdio.h)")
    globs = ("lib/*/crt1.o", "lib64/crt1.o", "lib/crt1.o")
    if not any(next(Path("/usr").glob(g), None) for g in globs):
        missing.append("C start files (crt1.o)")
    if shutil.which("ld") is None:
        missing.append("a linker (ld)")
    return missing


def requirements(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the package needs from this machine, and what of it is missing."""
    requires = manifest.get("requires") or {}
    libs = sorted(requires.get("system_libraries") or [])
    tools = dict(requires.get("tools") or {})
    known = _known_sonames()
    # ld.so itself is named by path in PT_INTERP, not looked up by soname.
    missing_libs = (
        [] if known is None else [s for s in libs if s not in known and not s.startswith("ld-")]
    )
    return {
        "system_libraries": libs,
        "missing_libraries": missing_libs,
        "checked_libraries": known is not None,
        "tools": tools,
        "missing_tools": sorted(n for n, p in tools.items() if not os.path.exists(p)),
        # clang is shipped, but compiling with it needs these from the system
        "missing_for_clang": _c_toolchain_missing() if "clang" in manifest.get("tools", {}) else [],
    }


def check_prefix(prefix: Path) -> bool:
    """True if `prefix` is an install of mlirboot's to replace; False if it
    is new or an empty dir; else a one-line error."""
    if not os.path.lexists(prefix):
        return False
    if not prefix.is_dir() or prefix.is_symlink():
        kind = "a symlink" if prefix.is_symlink() else "not a directory"
        raise UsageError(
            f"{prefix} exists and is {kind}",
            where="--prefix",
            hint="pick a new path or an empty directory",
        )
    if (prefix / MARKER).is_file():
        return True
    try:
        empty = not any(os.scandir(prefix))
    except OSError as err:
        raise UsageError(
            f"cannot read {prefix}: {err.strerror}",
            where="--prefix",
            hint="pick a directory you can write",
        ) from None
    if not empty:
        raise UsageError(
            f"{prefix} is not empty and was not made by `mlirboot install`: refusing to "
            "write into it",
            where="--prefix",
            hint="pick a new path or an empty directory",
        )
    return False


def _staging(prefix: Path) -> Path:
    try:
        return staging_dir(prefix.parent, f".{prefix.name}.install-")
    except OSError as err:
        raise UsageError(
            f"cannot write beside the prefix in {prefix.parent}: {err.strerror}",
            where="--prefix",
            hint="pick a prefix in a directory you can write (the install is built next "
            "to it and renamed into place)",
        ) from None


def install(
    package: Path,
    prefix: Path,
    *,
    dry_run: bool = False,
    sha256: str | None = None,
    ignore_requirements: bool = False,
) -> dict[str, Any]:
    if package.suffix == ".whl":
        raise UsageError(
            f"{package.name} is a wheel",
            where=str(package),
            hint="install wheels with pip; `mlirboot install` takes the tar.gz of "
            "`mlirboot package --format tar`",
        )
    if not package.is_file():
        raise UsageError(
            "package not found" if not package.exists() else "package is not a file",
            where=str(package),
            hint="pass the .tar.gz that `mlirboot package` wrote",
        )
    prefix = prefix.absolute()
    replaces = check_prefix(prefix)
    staging = None if dry_run else _staging(prefix)
    try:
        try:
            found = _unpack(package, staging)
        except OSError as err:
            raise UsageError(
                f"cannot write the install: {err.strerror} ({err.filename or prefix})",
                where="--prefix",
                hint="free space or pick a prefix on a writable file system",
            ) from None
        if sha256 and found.sha256 != sha256.lower():
            raise UsageError(
                f"{package.name} has sha256 {found.sha256}, not the {sha256} given",
                where="--sha256",
                hint="the download is corrupt or not the package you meant; fetch it again",
            )
        manifest = _verify(package, found)
        needs = requirements(manifest)
        if needs["missing_libraries"] and not ignore_requirements:
            raise UsageError(
                "this machine lacks shared libraries the package's tools load: "
                + ", ".join(needs["missing_libraries"]),
                where=str(package),
                hint="install them (Debian: `apt-cache search --names-only` finds the "
                "package of each), or pass --ignore-requirements",
            )
        result: dict[str, Any] = {
            "package": str(package),
            "sha256": found.sha256,
            "prefix": str(prefix),
            "files": len(found.files) + len(found.links),
            "bytes": found.size,
            "llvm_version": manifest.get("llvm_version"),
            "targets": manifest.get("targets", []),
            "replaces": replaces,
            "requires": needs,
        }
        if staging is None:
            return {"dry_run": True, **result}
        (staging / MARKER).parent.mkdir(parents=True, exist_ok=True)
        (staging / MARKER).write_text(
            json.dumps(
                {"package": package.name, "sha256": found.sha256, "top": found.top}, indent=2
            )
            + "\n"
        )
        _publish(staging, prefix, replaces)
        staging = None
        return result
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, prefix: Path, replaces: bool) -> None:
    """Rename the checked staging dir into place. An earlier install is moved
    aside first (rename), and removed once the new one is in place."""
    if replaces != check_prefix(prefix):  # changed under us since the start
        raise UsageError(
            f"{prefix} changed during the install",
            where="--prefix",
            hint="run the command again",
        )
    old = None
    if replaces:
        old = prefix.parent / f".{prefix.name}.old-{os.getpid()}"
        os.rename(prefix, old)
    try:
        os.rename(staging, prefix)  # also over an empty directory
    except OSError as err:
        if old is not None:
            os.rename(old, prefix)
        raise UsageError(
            f"cannot put the install in place: {err.strerror}",
            where=str(prefix),
            hint="pick a prefix in a directory you can write",
        ) from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
