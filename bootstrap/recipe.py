"""What a component recipe works with: the planning context, CMake cache
entries, and the planned component. Recipes (bootstrap/<name>/recipe.py)
declare only what differs; fetching, configuring, building and installing
are the engine's, shared by all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import buildfarm
from .config_model import CMakeValue, Config
from .targets import Expansion


@dataclass(frozen=True)
class CacheEntry:
    key: str
    value: CMakeValue
    comment: str = ""

    @property
    def cmake_type(self) -> str:
        if isinstance(self.value, bool):
            return "BOOL"
        if self.key.endswith("_DIR") or self.key.endswith("_PREFIX"):
            return "PATH"
        return "STRING"

    @property
    def cmake_value(self) -> str:
        value = self.value
        if isinstance(value, bool):
            return "ON" if value else "OFF"
        if isinstance(value, list):
            return ";".join(value)
        return str(value)


@dataclass
class Section:
    title: str
    entries: list[CacheEntry] = field(default_factory=list)

    def add(self, key: str, value: CMakeValue, comment: str = "") -> None:
        self.entries.append(CacheEntry(key, value, comment))

    def extend(self, values: Mapping[str, CMakeValue], comment: str = "") -> None:
        for key in values:
            self.add(key, values[key], comment)


# LLVM's license (llvm-project LICENSE.TXT); Enzyme carries the same.
LLVM_LICENSE = "Apache-2.0 WITH LLVM-exception"

# CMake package name of each LLVM sub-project's config (lib/cmake/<dir>).
CMAKE_PACKAGES = {"llvm": "LLVM", "clang": "Clang", "mlir": "MLIR"}


@dataclass
class Context:
    """Everything planning needs; all of it plain data (planning is pure)."""

    config: Config
    expansion: Expansion
    build_dir: Path
    prefix: Path
    # Where the toolchain's LLVM lives once built or adopted.
    llvm_provider: str  # "system" | "source"
    llvm_prefix: Path

    def provider_of(self, component: str) -> str:
        override = getattr(getattr(self.config, component, None), "provider", None)
        return override or self.config.provider

    @property
    def clang(self) -> Path:
        return self.llvm_prefix / "bin" / "clang"

    @property
    def clangxx(self) -> Path:
        return self.llvm_prefix / "bin" / "clang++"

    def against_toolchain(
        self, title: str, packages: list[str], build_type: str | None = None
    ) -> Section:
        """The entries every build against the toolchain's own LLVM shares:
        `<Package>_DIR` for each CMake package (llvm, clang, mlir), build type,
        install prefix, and the toolchain's clang, so one LLVM major and one
        C++ ABI serve the whole toolchain."""
        section = Section(title)
        cmake_dir = self.llvm_prefix / "lib" / "cmake"
        for package in packages:
            section.add(f"{CMAKE_PACKAGES[package]}_DIR", str(cmake_dir / package))
        section.add("CMAKE_BUILD_TYPE", build_type or self.config.llvm.build_type)
        section.add("CMAKE_INSTALL_PREFIX", str(self.prefix))
        self.compiler_entries(section, toolchain_clang=True)
        return section

    def compiler_entries(self, section: Section, *, toolchain_clang: bool = False) -> None:
        """Host compiler and launcher: the toolchain's own clang for runtimes
        (they must match it), the configured compiler otherwise."""
        build = self.config.build
        cc = str(self.clang) if toolchain_clang else build.c_compiler
        cxx = str(self.clangxx) if toolchain_clang else build.cxx_compiler
        if cc:
            section.add("CMAKE_C_COMPILER", cc)
            section.add("CMAKE_ASM_COMPILER", cc)
        if cxx:
            section.add("CMAKE_CXX_COMPILER", cxx)
        launcher = buildfarm.launcher(self.config)
        if launcher:
            section.add("CMAKE_C_COMPILER_LAUNCHER", launcher)
            section.add("CMAKE_CXX_COMPILER_LAUNCHER", launcher)


# An install_targets entry naming a CMake install component (installed with
# `cmake --install --component`), not a ninja target.
CMAKE_COMPONENT = "component:"


@dataclass
class Component:
    """One planned component: an entry of plan.json."""

    name: str
    recipe: str
    action: str  # "cmake" | "system" | "pip"
    version: str
    description: str
    source: dict[str, Any] | None = None
    source_env: str | None = None
    source_subdir: str = ""
    cache_file: str | None = None
    depends_on: list[str] = field(default_factory=list)
    build_targets: list[str] = field(default_factory=list)
    install_targets: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    # provided library name -> its file relative to the prefix (toolchain.json
    # lists it when the build installed it)
    library_files: dict[str, str] = field(default_factory=dict)
    packages: list[dict[str, str]] = field(default_factory=list)
    pip: dict[str, str] | None = None
    # system components: where the distribution's LLVM lives
    llvm_prefix: str | None = None
    # SPDX license expression of what the component is made from (the SBOM's
    # and the container's `licenses`); None where the recipe cannot know it.
    license: str | None = None
    settings_hash: str = ""
    # Not serialized: the cache file's content, rendered from these sections.
    sections: list[Section] = field(default_factory=list)

    def add_section(self, section: Section) -> None:
        """Another recipe's entries, placed before the user's extra entries (last)."""
        self.sections.insert(len(self.sections) - 1, section)

    def add_distribution(self, names: list[str]) -> None:
        """Install (and so build) more of this build: LLVM_DISTRIBUTION_COMPONENTS."""
        for section in self.sections:
            for i, entry in enumerate(section.entries):
                if entry.key == "LLVM_DISTRIBUTION_COMPONENTS":
                    current = list(entry.value)  # type: ignore[arg-type]
                    current += [n for n in names if n not in current]
                    section.entries[i] = CacheEntry(entry.key, current, entry.comment)
                    return
        raise ValueError(f"{self.name} has no distribution list")
