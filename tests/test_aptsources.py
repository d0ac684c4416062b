"""apt entries are derived from the Debian mirror the machine's apt already
uses (a company mirror or proxy included), never from an address of ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlirboot.bootstrap import aptsources

MODULE = Path(aptsources.__file__)


def _root(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / "etc" / "apt" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


DEB822 = """\
Types: deb
URIs: http://mirror.example.corp/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.corp/debian-security
Suites: bookworm-security
Components: main
"""
VENDOR = """\
Types: deb
URIs: https://vendor.example/node
Suites: nodistro
Components: main
"""


def test_deb822_mirror_skips_vendor_repositories(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {"sources.list.d/a-vendor.sources": VENDOR, "sources.list.d/debian.sources": DEB822},
    )
    assert aptsources.mirror(root=root).uri == "http://mirror.example.corp/debian"
    assert (
        aptsources.mirror(security=True, root=root).uri
        == "http://mirror.example.corp/debian-security"
    )
    stanza = aptsources.deb_src("trixie", root)
    assert stanza.splitlines() == [
        "Types: deb-src",
        "URIs: http://mirror.example.corp/debian",
        "Suites: trixie",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
    ]


def test_one_line_format_with_options_and_comments(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {
            "sources.list": (
                "# deb http://old.example/debian bookworm main\n"
                "deb [arch=amd64 signed-by=/k.gpg] http://proxy.example:3142/debian trixie main\n"
                "deb http://proxy.example:3142/security trixie-security main\n"
            )
        },
    )
    entry = aptsources.mirror(root=root)
    assert (entry.uri, entry.signed_by) == ("http://proxy.example:3142/debian", "/k.gpg")
    release = aptsources.release_sources("bookworm", root)
    assert "Suites: bookworm bookworm-updates" in release
    assert "URIs: http://proxy.example:3142/security\nSuites: bookworm-security" in release


def test_no_debian_entry_is_one_clear_error(tmp_path: Path) -> None:
    root = _root(tmp_path, {"sources.list.d/vendor.sources": VENDOR})
    with pytest.raises(aptsources.AptSourcesError, match="no Debian archive entry"):
        aptsources.mirror(root=root)
    done = subprocess.run(
        [sys.executable, str(MODULE), "deb-src", "trixie", "--root", str(root)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "sources.list.d" in done.stderr


def test_runs_as_a_plain_script_before_any_venv(tmp_path: Path) -> None:
    """The README's scripts call the file directly with the system python3."""
    root = _root(tmp_path, {"sources.list.d/debian.sources": DEB822})
    done = subprocess.run(
        [sys.executable, "-I", str(MODULE), "mirror", "--root", str(root)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "http://mirror.example.corp/debian\n"
