"""The typed config model. One tree, written by every layer: the built-in
configs/toolchain.yaml, a profile, the user's mlirboot.yaml and --set.
The JSON Schema in configs/mlirboot.schema.json is generated from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .schema import doc

Provider = Literal["system", "source"]
SourceKind = Literal["tarball", "git", "debian", "local"]
BuildType = Literal["Release", "Debug", "RelWithDebInfo", "MinSizeRel"]
Launcher = Literal["ccache", "sccache"]
OffloadMode = Literal["in-tree", "standalone"]
Plugin = Literal["host", "cuda", "amdgpu", "level_zero"]
DistEngine = Literal["distcc", "icecream", "sccache-dist"]
CacheTool = Literal["ccache", "sccache"]
# Bounds on numbers (a typo like 10**38 jobs must not reach ninja).
MAX_JOBS = 4096
MAX_SECONDS = 86400
# CMake cache values: strings, numbers, booleans (ON/OFF) or lists (;-joined).
CMakeValue = str | int | bool | list[str]


@dataclass
class TarballSource:
    """A release tarball, checked by sha256."""

    url: str = field(metadata=doc("download URL"))
    sha256: str = field(metadata=doc("expected sha256 of the file"))
    strip: int = field(
        default=1, metadata=doc("leading path components to drop", minimum=0, maximum=16)
    )


@dataclass
class GitSource:
    """A git repository pinned to a commit."""

    url: str = field(metadata=doc("clone URL"))
    commit: str = field(metadata=doc("full commit hash: the pin"))
    tag: str | None = field(default=None, metadata=doc("the tag the commit belongs to"))


@dataclass
class DebianSource:
    """A Debian source package, fetched with `apt-get source --download-only`."""

    package: str = field(metadata=doc("source package name"))
    suite: str = field(metadata=doc("suite with a deb-src entry, e.g. trixie"))
    file: str = field(metadata=doc("the orig tarball to use"))
    sha256: str = field(metadata=doc("expected sha256 of that tarball"))
    strip: int = field(
        default=1, metadata=doc("leading path components to drop", minimum=0, maximum=16)
    )


@dataclass
class Source:
    """Where a component's source comes from: `use` picks one of the kinds."""

    use: SourceKind = field(metadata=doc("which of the source kinds below to use"))
    tarball: TarballSource | None = None
    git: GitSource | None = None
    debian: DebianSource | None = None
    local: str | None = field(default=None, metadata=doc("path to an unpacked source tree"))


@dataclass
class Sources:
    llvm: Source = field(metadata=doc("the LLVM monorepo (llvm, mlir, clang, lld, offload, ...)"))
    enzyme: Source = field(metadata=doc("EnzymeAD/Enzyme"))
    stablehlo: Source = field(metadata=doc("openxla/stablehlo"))


@dataclass
class SystemPackage:
    name: str = field(metadata=doc("distribution package name"))
    component: Literal["llvm", "offload"] = field(metadata=doc("toolchain component it provides"))


@dataclass
class SystemProvider:
    """The distribution's prebuilt LLVM 22 (the embedded default)."""

    llvm_prefix: str | None = field(
        default=None, metadata=doc("existing LLVM 22 prefix; default: found via llvm-config-22")
    )
    versions: dict[str, str] = field(
        default_factory=dict,
        metadata=doc("pinned package version per distribution release (codename -> version)"),
    )
    packages: list[SystemPackage] = field(
        default_factory=list, metadata=doc("packages every target needs")
    )


@dataclass
class LLVM:
    """LLVM + MLIR + clang + lld, built once for all selected targets."""

    build_type: BuildType = field(default="Release", metadata=doc("CMAKE_BUILD_TYPE"))
    assertions: bool = field(default=False, metadata=doc("LLVM_ENABLE_ASSERTIONS"))
    projects: list[str] = field(
        default_factory=list, metadata=doc("LLVM_ENABLE_PROJECTS before targets add theirs")
    )
    targets_to_build: list[str] = field(
        default_factory=list, metadata=doc("host backends; each target adds its device backends")
    )
    link_dylib: bool = field(
        default=True, metadata=doc("one libLLVM.so / libMLIR.so (LLVM_LINK_LLVM_DYLIB)")
    )
    tools: list[str] = field(
        default_factory=list,
        metadata=doc("distribution components installed (LLVM_DISTRIBUTION_COMPONENTS)"),
    )
    cmake: dict[str, CMakeValue] = field(
        default_factory=dict, metadata=doc("extra cache entries for the llvm build")
    )


@dataclass
class MLIR:
    """MLIR options (built inside the llvm component)."""

    runner_utils: bool = field(default=True, metadata=doc("install mlir_runner_utils libraries"))
    python_bindings: bool = field(default=False, metadata=doc("MLIR_ENABLE_BINDINGS_PYTHON"))
    cmake: dict[str, CMakeValue] = field(default_factory=dict)


@dataclass
class Offload:
    """The LLVM offload + OpenMP runtimes (libomptarget / liboffload)."""

    provider: Provider | None = field(
        default=None, metadata=doc("override the top-level provider for this component")
    )
    mode: OffloadMode = field(
        default="in-tree",
        metadata=doc("source builds: inside the llvm build, or standalone from <src>/runtimes"),
    )
    plugins: list[Plugin] = field(
        default_factory=list, metadata=doc("plugins besides those the targets bring (host always)")
    )
    cmake: dict[str, CMakeValue] = field(default_factory=dict)


@dataclass
class Enzyme:
    """Enzyme automatic differentiation (LLVM plugin, optionally Enzyme-MLIR)."""

    enabled: bool = field(default=False, metadata=doc("build Enzyme"))
    plugin: bool = field(
        default=True, metadata=doc("LLVMEnzyme-22.so, the opt plugin of the backend's --grad")
    )
    rustc: bool = field(
        default=False,
        metadata=doc(
            "libEnzymeStatic-22.a, which `mlirboot rust enable-autodiff` links "
            "against a rustc's own LLVM (std::autodiff)"
        ),
    )
    mlir: bool = field(default=False, metadata=doc("ENZYME_MLIR (enzymemlir-opt)"))
    cmake: dict[str, CMakeValue] = field(default_factory=dict)


@dataclass
class StableHLO:
    """StableHLO, built against the toolchain's MLIR (tpu)."""

    enabled: bool = field(default=False)
    cmake: dict[str, CMakeValue] = field(default_factory=dict)


@dataclass
class PJRT:
    """The PJRT plugin package a TPU program runs through (libtpu)."""

    enabled: bool = field(default=False)
    package: str = field(default="libtpu", metadata=doc("PyPI package holding the plugin"))
    version: str = field(default="", metadata=doc("pinned version"))


@dataclass
class Distributed:
    """Compile on other machines through an existing engine. Links stay local."""

    engine: DistEngine = field(
        metadata=doc(
            "distcc (distccd servers), icecream (an icecc scheduler) or "
            "sccache-dist (an sccache-dist scheduler)"
        )
    )
    hosts: list[str] = field(
        default_factory=list,
        metadata=doc(
            "servers as HOST[:PORT][/SLOTS]: distcc: each distccd (port 3632, "
            "slots 4); icecream: the scheduler (port 8765); sccache-dist: the "
            "scheduler (port 10600). SLOTS: parallel compiles the host takes"
        ),
    )
    local_slots: int = field(
        default=0,
        metadata=doc(
            "compile jobs also run on this machine (distcc: `localhost/N`); "
            "ninja -j is the sum of the live hosts' slots plus this",
            minimum=0,
            maximum=MAX_JOBS,
        ),
    )
    connect_timeout: float = field(
        default=2.0,
        metadata=doc("seconds for the pre-build TCP check of each host", maximum=MAX_SECONDS),
    )
    io_timeout: int = field(
        default=120,
        metadata=doc(
            "distcc: DISTCC_IO_TIMEOUT, seconds before a silent server counts as dead",
            minimum=0,
            maximum=MAX_SECONDS,
        ),
    )
    backoff: int = field(
        default=60,
        metadata=doc(
            "distcc: DISTCC_BACKOFF_PERIOD, seconds a failed host is left alone",
            minimum=0,
            maximum=MAX_SECONDS,
        ),
    )
    fallback: bool = field(
        default=True,
        metadata=doc("distcc: DISTCC_FALLBACK, compile locally when no server can"),
    )


@dataclass
class Cache:
    """A compile cache, optionally shared between machines through a remote backend."""

    tool: CacheTool = field(metadata=doc("ccache (>= 4.4 for remote) or sccache"))
    remote: str | None = field(
        default=None,
        metadata=doc(
            "shared backend, e.g. redis://127.0.0.1:6379 (ccache remote_storage, "
            "sccache SCCACHE_REDIS_ENDPOINT)"
        ),
    )
    dir: str | None = field(
        default=None, metadata=doc("local cache dir; default: the tool's own (~/.cache/...)")
    )
    max_size: str | None = field(default=None, metadata=doc("local cache size limit, e.g. 10G"))


@dataclass
class Build:
    """How builds run."""

    jobs: int | None = field(
        default=None,
        metadata=doc("parallel jobs; default from cores/RAM", minimum=1, maximum=MAX_JOBS),
    )
    link_jobs: int | None = field(
        default=None,
        metadata=doc(
            "parallel link jobs; default from RAM (LLVM_PARALLEL_LINK_JOBS)",
            minimum=1,
            maximum=MAX_JOBS,
        ),
    )
    compiler_launcher: Launcher | None = field(
        default=None, metadata=doc("CMAKE_<LANG>_COMPILER_LAUNCHER")
    )
    c_compiler: str | None = field(default=None, metadata=doc("host C compiler"))
    cxx_compiler: str | None = field(default=None, metadata=doc("host C++ compiler"))
    distributed: Distributed | None = field(
        default=None, metadata=doc("compile on other machines (distcc, icecream, sccache-dist)")
    )
    cache: Cache | None = field(
        default=None, metadata=doc("compile cache (ccache/sccache), shared through `remote`")
    )


@dataclass
class Config:
    """mlirboot configuration (mlirboot.yaml)."""

    llvm_version: str = field(default="", metadata=doc("the pinned LLVM release"))
    targets: list[str] = field(
        default_factory=list, metadata=doc("accelerator targets: host, nvidia, amd, intel, tpu")
    )
    profile: str = field(default="release", metadata=doc("a profile from configs/profiles"))
    provider: Provider = field(
        default="system",
        metadata=doc(
            "system: the distribution's LLVM 22 plus source builds of what it lacks; "
            "source: build everything"
        ),
    )
    prefix: str | None = field(
        default=None, metadata=doc("install prefix; default <build-dir>/toolchain")
    )
    archs: dict[str, list[str]] = field(
        default_factory=dict, metadata=doc("device architectures per target (overrides defaults)")
    )
    sources: Sources | None = None
    system: SystemProvider = field(default_factory=SystemProvider)
    llvm: LLVM = field(default_factory=LLVM)
    mlir: MLIR = field(default_factory=MLIR)
    offload: Offload = field(default_factory=Offload)
    enzyme: Enzyme = field(default_factory=Enzyme)
    stablehlo: StableHLO = field(default_factory=StableHLO)
    pjrt: PJRT = field(default_factory=PJRT)
    build: Build = field(default_factory=Build)
