"""The PJRT runtime: a pinned Python package (libtpu) holding the plugin."""

from __future__ import annotations

from ..recipe import Component, Context

LICENSE: str | None = None  # the wheel's own metadata says; not known here


def plan(ctx: Context) -> list[Component]:
    if "pjrt" not in ctx.expansion.components:
        return []
    pjrt = ctx.config.pjrt
    return [
        Component(
            name="pjrt",
            recipe="pjrt",
            license=LICENSE,
            action="pip",
            version=pjrt.version,
            description=f"PJRT plugin from PyPI {pjrt.package}=={pjrt.version}",
            pip={"package": pjrt.package, "version": pjrt.version},
            provides={"libraries": ["pjrt-plugin"]},
        )
    ]
