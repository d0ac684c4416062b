"""The .deb behind a pinned Debian package: its SHA256 and source package, from
apt's metadata (no download)."""

from __future__ import annotations

from functools import cache

from .. import proc


@cache
def deb_info(name: str, version: str) -> dict[str, str]:
    """{"sha256", "source"} of NAME=VERSION; {} when apt does not know it (the
    SBOM then has no hash for it, and the package command says so)."""
    if proc.which("apt-cache") is None:
        return {}
    result = proc.run(["apt-cache", "show", f"{name}={version}"], stage=f"sbom/{name}",
                      check=False)
    if result.returncode != 0:
        return {}
    info: dict[str, str] = {}
    for line in result.output.splitlines():
        if not line.strip():
            break  # first stanza only: one version, possibly listed by several mirrors
        key, _, value = line.partition(":")
        if key == "SHA256":
            info["sha256"] = value.strip()
        elif key == "Source":
            info["source"] = value.strip().split(" ")[0]
    return info
