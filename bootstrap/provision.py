"""The system provider: install the distribution's LLVM 22 packages a target
needs (pinned versions, from the config data via the plan), or adopt an
existing LLVM 22 install after checking its version and contents."""

from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import proc
from .config import resolve
from .configure import configure
from .engine import planfile
from .engine.hostinfo import os_codename
from .errors import BuildError, UsageError
from .filenames import PLAN_JSON
from .toolset import TOOLS, find_system_llvm, llvm_version


@dataclass
class PackageState:
    name: str
    version: str  # wanted; "" = whatever the distribution has
    installed: str | None  # installed version, None if not installed

    @property
    def ok(self) -> bool:
        return self.installed is not None and (not self.version or self.installed == self.version)

    def spec(self) -> str:
        return f"{self.name}={self.version}" if self.version else self.name


@dataclass
class Provisioned:
    action: str  # "installed" | "adopted" | "dry-run" | "needs-root"
    llvm_prefix: str | None
    llvm_version: str | None
    packages: list[PackageState] = field(default_factory=list)
    command: list[str] | None = None
    source: str = ""  # where the package list came from

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["command"] = shlex.join(self.command) if self.command else None
        return data


def system_components(targets: list[str], build_dir: Path) -> tuple[list[planfile.Component], str]:
    """The plan's `system` components for these targets: from <build-dir>/plan.json
    if it was configured for them, else planned in memory from the config data
    with the system provider (same data, same code path as `mlirboot configure`)."""
    path = build_dir / PLAN_JSON
    if path.exists():
        plan = planfile.load(build_dir)
        if set(targets) <= set(plan.targets):
            comps = [c for c in plan.components if c.action == "system"]
            if comps:
                return comps, str(path)
    resolved = resolve(targets=targets, sets=["provider=system"])
    configured = configure(
        resolved, build_dir=build_dir, prefix=None, cwd=Path.cwd(), codename=os_codename()
    )
    data = configured.plan.to_data()
    plan = planfile.parse(data, path, build_dir)
    return [c for c in plan.components if c.action == "system"], "configs (provider=system)"


def installed_versions(names: list[str]) -> dict[str, str]:
    if not names or not proc.which("dpkg-query"):
        return {}
    result = proc.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n", *names],
        stage="provision",
        check=False,
    )
    found = {}
    for line in result.output.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2].startswith("ii"):
            found[parts[0]] = parts[1]
    return found


def adopt(components: list[planfile.Component], llvm_prefix: str | None) -> tuple[Path, str]:
    """Check an LLVM 22 install: version 22.x and the tools the plan lists."""
    prefix = find_system_llvm(llvm_prefix)
    version = llvm_version(prefix / "bin" / "llvm-config")
    wanted = sorted({t for c in components for t in c.tools if t in TOOLS})
    missing = [t for t in wanted if not (prefix / "bin" / t).exists()]
    if missing:
        raise UsageError(
            f"the LLVM {version} at {prefix} lacks {', '.join(missing)}",
            where="provision",
            hint="install the missing packages (`mlirboot provision --target ...` as root) "
            "or point --llvm-prefix at a complete install",
        )
    return prefix, version


def provision(
    targets: list[str],
    *,
    build_dir: Path,
    llvm_prefix: str | None = None,
    dry_run: bool = False,
    log: Path | None = None,
) -> Provisioned:
    components, origin = system_components(targets, build_dir)
    if not components:
        raise UsageError(
            "the plan has no system components: nothing to provision",
            where="provision",
            hint="provision serves the system provider (`--set provider=system`)",
        )
    if llvm_prefix:
        prefix, version = adopt(components, llvm_prefix)
        return Provisioned("adopted", str(prefix), version, source=origin)
    wanted = [(p.name, p.version or "") for c in components for p in c.packages]
    have = installed_versions([n for n, _ in wanted])
    states = [PackageState(n, v, have.get(n)) for n, v in wanted]
    todo = [s for s in states if not s.ok]
    if not todo:
        prefix, version = adopt(components, None)
        return Provisioned("adopted", str(prefix), version, states, source=origin)
    command = ["apt-get", "install", "-y", "--no-install-recommends", *[s.spec() for s in todo]]
    if dry_run:
        return Provisioned("dry-run", None, None, states, command, origin)
    if os.geteuid() != 0:
        return Provisioned("needs-root", None, None, states, command, origin)
    try:
        proc.run(
            command,
            stage="provision",
            log_path=log,
            env={"DEBIAN_FRONTEND": "noninteractive"},
            hint="run `apt-get update`; check that the pinned versions exist "
            "(`apt-cache policy " + todo[0].name + "`)",
        )
    except BuildError:
        raise
    have = installed_versions([n for n, _ in wanted])
    states = [PackageState(n, v, have.get(n)) for n, v in wanted]
    prefix, version = adopt(components, None)
    return Provisioned("installed", str(prefix), version, states, command, origin)
