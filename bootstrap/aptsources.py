"""The Debian mirrors this machine's apt already uses.

Users behind a company mirror or proxy have apt set up for it, so mlirboot
reuses those entries (for deb-src lines, debootstrap roots and container
images) and never writes a mirror address of its own.

Standard library only, with no imports from the package: the README's shell
scripts run this file directly (`python3 bootstrap/aptsources.py ...`) before
any virtual environment exists."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Suites of the Debian archive itself; third-party repositories (a vendor's
# `nodistro`, `cloud-sdk-bookworm`) use other names and are skipped.
DEBIAN_SUITE = re.compile(
    r"^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing"
    r"|unstable|experimental)(-updates|-security|-backports|/updates)?$"
)


class AptSourcesError(ValueError):
    """No usable Debian entry in apt's sources."""


@dataclass(frozen=True)
class Entry:
    types: tuple[str, ...]
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str
    origin: str  # file:line, for messages

    @property
    def security(self) -> bool:
        return any(s.endswith(("-security", "/updates")) for s in self.suites)

    def is_debian(self) -> bool:
        return (
            "deb" in self.types
            and "main" in self.components
            and bool(self.suites)
            and all(DEBIAN_SUITE.match(s) for s in self.suites)
        )


def _one_line(path: Path) -> list[Entry]:
    found = []
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        options = {}
        match = re.match(r"^(deb|deb-src)\s+\[([^\]]*)\]\s+(.*)$", line)
        if match:
            kind, opts, rest = match.groups()
            for opt in opts.split():
                key, _, value = opt.partition("=")
                options[key] = value
        else:
            kind, _, rest = line.partition(" ")
        words = rest.split()
        if kind not in ("deb", "deb-src") or len(words) < 2:
            continue
        found.append(
            Entry(
                (kind,),
                words[0].rstrip("/"),
                (words[1],),
                tuple(words[2:]),
                options.get("signed-by", ""),
                f"{path}:{number}",
            )
        )
    return found


def _deb822(path: Path) -> list[Entry]:
    found = []
    text = path.read_text(errors="replace")
    line_no = 1
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1].isspace() and key:
                fields[key] += " " + raw.strip()
                continue
            key, sep, value = raw.partition(":")
            if sep:
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() != "no":
            for uri in fields.get("uris", "").split():
                found.append(
                    Entry(
                        tuple(fields.get("types", "").split()),
                        uri.rstrip("/"),
                        tuple(fields.get("suites", "").split()),
                        tuple(fields.get("components", "").split()),
                        fields.get("signed-by", ""),
                        f"{path}:{line_no}",
                    )
                )
        line_no += stanza.count("\n") + 2
    return found


def entries(root: Path = Path("/")) -> list[Entry]:
    """Every entry of apt's sources under `root`, in apt's reading order."""
    apt = root / "etc" / "apt"
    found = []
    if (apt / "sources.list").is_file():
        found += _one_line(apt / "sources.list")
    parts = apt / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                found += _one_line(path)
            elif path.suffix == ".sources":
                found += _deb822(path)
    return found


def mirror(*, security: bool = False, root: Path = Path("/")) -> Entry:
    """The first Debian archive (or security archive) entry apt uses."""
    for entry in entries(root):
        if entry.is_debian() and entry.security == security:
            return entry
    kind = "security archive" if security else "archive"
    raise AptSourcesError(
        f"no Debian {kind} entry (type deb, component main) in {root / 'etc/apt'}'s sources; "
        "add the Debian mirror your machine uses to /etc/apt/sources.list.d/ and run apt-get update"
    )


def _stanza(types: str, entry: Entry, suites: list[str]) -> str:
    lines = [
        f"Types: {types}",
        f"URIs: {entry.uri}",
        f"Suites: {' '.join(suites)}",
        "Components: main",
    ]
    if entry.signed_by:
        lines.append(f"Signed-By: {entry.signed_by}")
    return "\n".join(lines) + "\n"


def deb_src(suite: str, root: Path = Path("/")) -> str:
    """A deb822 deb-src stanza for `suite` on the machine's own Debian mirror."""
    return _stanza("deb-src", mirror(root=root), [suite])


def release_sources(codename: str, root: Path = Path("/")) -> str:
    """deb822 sources for another Debian release (a fresh root, an image) on
    the machine's own mirrors: the release, its updates and its security suite."""
    text = _stanza("deb", mirror(root=root), [codename, f"{codename}-updates"])
    # A mirror without a security archive: the release suites alone.
    with contextlib.suppress(AptSourcesError):
        text += "\n" + _stanza("deb", mirror(security=True, root=root), [f"{codename}-security"])
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="aptsources",
        description="Print apt entries built from the Debian mirror this machine already uses.",
    )
    sub = parser.add_subparsers(dest="what", required=True)
    src = sub.add_parser("deb-src", help="a deb-src stanza for SUITE")
    src.add_argument("suite")
    rel = sub.add_parser("release", help="deb entries for another release CODENAME")
    rel.add_argument("codename")
    url = sub.add_parser("mirror", help="the archive URI (for debootstrap)")
    url.add_argument("--security", action="store_true")
    for p in (src, rel, url):
        p.add_argument("--root", type=Path, default=Path("/"), help="read apt's files under ROOT")
    args = parser.parse_args(argv)
    try:
        if args.what == "deb-src":
            print(deb_src(args.suite, args.root), end="")
        elif args.what == "release":
            print(release_sources(args.codename, args.root), end="")
        else:
            print(mirror(security=args.security, root=args.root).uri)
    except (AptSourcesError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
