"""`mlirboot container`: a reproducible, multi-stage Containerfile for a target's
toolchain, and the build context it needs (apt config, pinned wheels).

Pins and where they come from:
- base image: `--base-image NAME@sha256:DIGEST` (a digest is required);
- the LLVM 22 packages and a target's extra packages: the plan of
  `mlirboot configure --target T` (configs/toolchain.yaml system.versions.<codename>);
- python3 / python3-venv (what runs mlirboot in the image) and target packages the
  config leaves unversioned: apt's candidate version on this machine when it runs the
  image's release, else unpinned and reported;
- mlirboot: the wheel of this checkout, and its dependencies at the versions
  installed here, all by sha256 (pip --require-hashes).

OCI labels (org.opencontainers.image.*): `created` (SOURCE_DATE_EPOCH if set,
else now; RFC 3339), `source` and `revision` (the mlirboot checkout's origin URL,
without credentials, and HEAD commit; left out where unknown), `licenses` (SPDX:
the license, from its recipe, of each plan component whose packages the image
installs, and mlirboot's own; one whose recipe cannot know it is named in
io.mlirboot.licenses-unknown),
`base.name` and `base.digest` (the pinned base image).
"""

from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import sys
import urllib.parse
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .. import __version__, aptsources, proc
from ..config import resolve
from ..configure import configure
from ..engine.hostinfo import os_codename
from ..errors import UsageError
from ..fsutil import sha256_file, staging_dir
from .inputs import created_time
from .sbom import spdx_and

DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
# Debian's python3 per release: decides which wheels fit the image.
PYTHON_OF = {"bookworm": "3.11", "trixie": "3.13"}
# ... and its glibc: which manylinux wheels run in the image.
GLIBC_MINOR_OF = {"bookworm": 36, "trixie": 41}
BUILD_SUPPORT = ["python3-venv"]
RUNTIME_SUPPORT = ["python3"]
REPO = Path(__file__).resolve().parents[2]

APT_SOURCES = """\
# The LLVM 22 packages are in the security/updates suites of {codename}.
# Mirrors: the ones the building machine's apt uses.
deb {archive} {codename} main
deb {archive} {codename}-updates main
deb {security} {codename}-security main
"""
DPKG_SLIM = """\
# Slim image: no docs, man pages or translations (copyright files stay).
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
"""
APT_CONF = """\
# No recommends, no translations, no downloaded .debs left in the layer.
APT::Install-Recommends "false";
APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
"""


def apt_sources(codename: str) -> str:
    try:
        archive, security = aptsources.mirror(), aptsources.mirror(security=True)
    except aptsources.AptSourcesError as err:
        raise UsageError(
            str(err),
            where="container/apt sources",
            hint="the image uses the Debian mirrors this machine's apt uses",
        ) from None
    return APT_SOURCES.format(codename=codename, archive=archive.uri, security=security.uri)


@dataclass(frozen=True)
class AptPin:
    name: str
    version: str | None

    @property
    def spec(self) -> str:
        return f"{self.name}={self.version}" if self.version else self.name


@dataclass
class Spec:
    targets: list[str]
    codename: str
    base_image: str
    epoch: int
    llvm_version: str
    llvm_prefix: str
    lock_hash: str
    runtime_packages: list[AptPin] = field(default_factory=list)
    build_packages: list[AptPin] = field(default_factory=list)
    # OCI labels; None: unknown, the label is left out.
    created: str = ""
    source: str | None = None
    revision: str | None = None
    dirty: bool = False
    licenses: str | None = None
    # Components whose recipe does not know their license (not in `licenses`).
    unlicensed: list[str] = field(default_factory=list)

    @property
    def base_digest(self) -> str | None:
        name, _, digest = self.base_image.partition("@")
        return digest if name and digest.startswith("sha256:") else None

    def labels(self) -> dict[str, str]:
        """The image's labels, in the Containerfile's order."""
        oci = "org.opencontainers.image."
        out = {
            oci + "title": f"mlirboot toolchain ({', '.join(self.targets)})",
            oci + "version": self.llvm_version,
            oci + "created": self.created,
            oci + "source": self.source,
            oci + "revision": self.revision,
            oci + "licenses": self.licenses,
            oci + "base.name": self.base_image,
            oci + "base.digest": self.base_digest,
            "io.mlirboot.lock-hash": self.lock_hash,
            "io.mlirboot.revision-dirty": "true" if self.revision and self.dirty else None,
            "io.mlirboot.licenses-unknown": ",".join(self.unlicensed) or None,
        }
        return {k: v for k, v in out.items() if v is not None}

    @property
    def unpinned(self) -> list[str]:
        return [p.name for p in self.runtime_packages + self.build_packages if not p.version]


def check_base(ref: str) -> str:
    if not DIGEST_REF.match(ref):
        raise UsageError(
            f"base image {ref!r} is not pinned by digest",
            where="--base-image",
            hint="pass NAME@sha256:<64 hex>, e.g. the digest `buildah images --digests` shows",
        )
    return ref


def apt_candidates(names: list[str], codename: str) -> dict[str, str]:
    """apt's candidate versions here, only when this machine runs `codename`
    (another release's versions would be wrong pins)."""
    if not names or os_codename() != codename or proc.which("apt-cache") is None:
        return {}
    return _apt_policy(tuple(sorted(names)))


@cache  # each apt-cache call loads apt's whole cache (~1-2 s)
def _apt_policy(names: tuple[str, ...]) -> dict[str, str]:
    out = proc.run(["apt-cache", "policy", *names], stage="container/apt-cache", check=False).output
    found: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            current = line[:-1]
        elif current and line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                found[current] = version
    return found


def make_spec(targets: list[str], codename: str, base_image: str, epoch: int, cwd: Path) -> Spec:
    """The pins for `targets` from the config (pure but for apt candidates)."""
    if codename not in PYTHON_OF:
        raise UsageError(
            f"unknown release {codename!r}",
            where="--codename",
            hint=f"one of: {', '.join(PYTHON_OF)}",
        )
    resolved = resolve(targets=targets, cwd=cwd)
    configured = configure(
        resolved, build_dir=cwd / "build", prefix=None, cwd=cwd, codename=codename
    )
    plan = configured.plan
    pins: dict[str, str | None] = {}
    for comp in plan.components:
        for pkg in comp.packages:
            pins.setdefault(pkg["name"], pkg.get("version") or None)
    for name in RUNTIME_SUPPORT:
        pins.setdefault(name, None)
    build = {name: None for name in BUILD_SUPPORT}
    missing = [n for n, v in {**pins, **build}.items() if not v]
    candidates = apt_candidates(missing, codename)
    llvm = next((c for c in plan.components if c.name == "llvm"), None)
    source, revision, dirty = checkout(REPO)
    shipped = [c for c in plan.components if c.packages]
    return Spec(
        targets=list(plan.targets),
        codename=codename,
        base_image=check_base(base_image),
        epoch=epoch,
        llvm_version=llvm.version if llvm else "",
        llvm_prefix=(llvm.llvm_prefix if llvm and llvm.llvm_prefix else "/usr/lib/llvm-22"),
        lock_hash=plan.lock_hash or "",
        runtime_packages=[AptPin(n, v or candidates.get(n)) for n, v in pins.items()],
        build_packages=[AptPin(n, candidates.get(n)) for n in build],
        created=created_time(),
        source=source,
        revision=revision,
        dirty=dirty,
        # What the image holds: the system components' packages, and mlirboot.
        licenses=spdx_and([*(c.license for c in shipped), _own_license()]),
        unlicensed=[c.name for c in shipped if not c.license],
    )


def _own_license() -> str | None:
    """mlirboot's SPDX license (its package metadata): it is in the image too."""
    try:
        meta = md.metadata("mlirboot")
    except md.PackageNotFoundError:
        return None
    return (meta.get_all("License-Expression") or [None])[0]


def checkout(repo: Path) -> tuple[str | None, str | None, bool]:
    """(source URL, HEAD commit, dirty) of the mlirboot checkout at `repo`;
    None where it is not a git checkout or has no usable origin URL."""
    if proc.which("git") is None or not (repo / ".git").exists():
        return None, None, False

    def git(*args: str) -> str | None:
        result = proc.run(
            ["git", "-C", str(repo), *args],
            stage="container/git",
            check=False,
            env={"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
        return result.output.strip() if result.returncode == 0 else None

    revision = git("rev-parse", "--verify", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return public_url(git("config", "--get", "remote.origin.url")), revision, dirty


def public_url(url: str | None) -> str | None:
    """A remote URL fit for a label: credentials dropped, scp-like
    `git@host:path` as ssh://; None for a local path (a machine's, not a source)."""
    if not url:
        return None
    scp = re.fullmatch(r"(?:[^@/]+@)?([^/:]+):(?!//)(.+)", url)
    if scp and "://" not in url:
        return f"ssh://{scp.group(1)}/{scp.group(2)}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https", "ssh", "git") or not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def render(spec: Spec) -> str:
    """The Containerfile text: a pure function of the spec."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    return env.get_template("Containerfile.j2").render(
        targets=spec.targets,
        mlirboot_version=__version__,
        base_image=spec.base_image,
        epoch=spec.epoch,
        build_packages=spec.build_packages,
        runtime_packages=spec.runtime_packages,
        unpinned=spec.unpinned,
        llvm_prefix=spec.llvm_prefix,
        labels=[(k, _label_value(v)) for k, v in spec.labels().items()],
    )


def _label_value(value: str) -> str:
    """A double-quoted LABEL value: backslashes, quotes and `$` (variable
    expansion) escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def _requirements(project: str = "mlirboot") -> list[tuple[str, str]]:
    """mlirboot's dependencies (transitively) at the versions installed here."""
    from packaging.requirements import Requirement

    seen: dict[str, str] = {}
    queue = [project]
    while queue:
        dist = md.distribution(queue.pop())
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            key = req.name.lower()
            if key not in seen:
                try:
                    seen[key] = md.version(key)
                except md.PackageNotFoundError:
                    raise UsageError(
                        f"mlirboot dependency {key} is not installed here",
                        where="container/wheels",
                        hint=f"pip install {key} (its version gets pinned)",
                    ) from None
                queue.append(key)
    return sorted(seen.items())


def _platform_args(codename: str) -> list[str]:
    """pip matches platform tags exactly: every manylinux the image's glibc runs."""
    tags = [f"manylinux_2_{n}_x86_64" for n in range(GLIBC_MINOR_OF[codename], 4, -1)]
    tags += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "any"]
    return [arg for tag in tags for arg in ("--platform", tag)]


def _direct_requirements(python: str, project: str = "mlirboot") -> list[str]:
    """mlirboot's own requirement specifiers that apply on `python` (X.Y)."""
    from packaging.requirements import Requirement

    env = {"extra": "", "python_version": python, "python_full_version": f"{python}.0"}
    reqs = [Requirement(text) for text in md.distribution(project).requires or []]
    return [str(r).split(";")[0].strip() for r in reqs if not r.marker or r.marker.evaluate(env)]


def stage_python(dest: Path, codename: str, log_dir: Path) -> list[str]:
    """wheels/ (mlirboot of this checkout + pinned dependencies) and
    requirements.txt with their sha256."""
    wheels = dest / "wheels"
    wheels.mkdir(parents=True)
    if not (REPO / "pyproject.toml").exists():
        raise UsageError(
            "mlirboot is not running from a source checkout",
            where=str(REPO),
            hint="run `mlirboot container` from a clone of mlirboot",
        )
    proc.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            wheels,
            REPO,
        ],
        stage="container/mlirboot-wheel",
        log_path=log_dir / "mlirboot-wheel.log",
        hint="pip install 'scikit-build-core>=1.1' (builds mlirboot's wheel)",
    )
    py = PYTHON_OF[codename]
    if py == f"{sys.version_info[0]}.{sys.version_info[1]}":
        # The image's Python is this one: the versions installed and tested here.
        deps, pip_flags = [f"{n}=={v}" for n, v in _requirements()], ["--no-deps"]
    else:
        # Another Python: what is installed here may not exist for it (numpy
        # drops old Pythons); pip picks, for that Python, what mlirboot asks for.
        deps, pip_flags = _direct_requirements(py), []
    proc.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            *pip_flags,
            "--only-binary=:all:",
            "--python-version",
            py,
            "--implementation",
            "cp",
            "--abi",
            f"cp{py.replace('.', '')}",
            "--abi",
            "abi3",
            "--abi",
            "none",
            *_platform_args(codename),
            "-d",
            wheels,
            *deps,
        ],
        stage="container/wheels",
        log_path=log_dir / "pip-download.log",
    )
    lines = []
    for whl in sorted(wheels.glob("*.whl")):
        name, version = whl.name.split("-")[:2]
        lines.append(
            f"{name.replace('_', '-').lower()}=={version} --hash=sha256:{sha256_file(whl)}"
        )
    (dest / "requirements.txt").write_text("\n".join(lines) + "\n")
    return lines


def write_context(spec: Spec, out_dir: Path) -> dict[str, object]:
    """The build context in out_dir, replaced as a whole (a temp dir beside it,
    then renamed): Containerfile, apt/, dpkg/, python/."""
    out_dir = out_dir.resolve()
    tmp = staging_dir(out_dir.parent, f".{out_dir.name}.")
    try:
        (tmp / "apt" / "apt.conf.d").mkdir(parents=True)
        (tmp / "apt" / "sources.list").write_text(apt_sources(spec.codename))
        (tmp / "apt" / "apt.conf.d" / "90mlirboot").write_text(APT_CONF)
        (tmp / "dpkg").mkdir()
        (tmp / "dpkg" / "90mlirboot-slim").write_text(DPKG_SLIM)
        requirements = stage_python(tmp / "python", spec.codename, tmp / ".logs")
        shutil.rmtree(tmp / ".logs", ignore_errors=True)
        (tmp / "Containerfile").write_text(render(spec))
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "context": str(out_dir),
        "containerfile": str(out_dir / "Containerfile"),
        "python_requirements": requirements,
    }
