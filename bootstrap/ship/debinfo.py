"""The .debs behind pinned Debian packages: SHA256 and source package, from
apt's metadata (no download). One apt-cache call for all of them: each call
loads apt's whole cache (~1 s)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import proc

DebInfo = dict[tuple[str, str], dict[str, str]]


def deb_infos(pins: Iterable[tuple[str, str]]) -> DebInfo:
    """(name, version) -> {"sha256", "source"}; pins apt does not know are
    missing (the SBOM then has no hash for them, and `package` says so)."""
    wanted = sorted(set(pins))
    if not wanted or proc.which("apt-cache") is None:
        return {}
    result = proc.run(
        ["apt-cache", "show", *(f"{n}={v}" for n, v in wanted)], stage="sbom/apt-cache", check=False
    )
    out: DebInfo = {}
    for stanza in result.output.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            field, sep, value = line.partition(":")
            if sep and not line.startswith(" "):
                fields[field] = value.strip()
        key = (fields.get("Package", ""), fields.get("Version", ""))
        # First stanza wins: the same version may be listed by several mirrors.
        if key in wanted and key not in out and fields.get("SHA256"):
            out[key] = {
                "sha256": fields["SHA256"],
                "source": fields.get("Source", key[0]).split(" ")[0],
            }
    return out
