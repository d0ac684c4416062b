"""ninja status parsing, ETA and the two display modes; job defaults."""

from __future__ import annotations

import io

from mlirboot.bootstrap.engine import hostinfo, progress


def test_parse_ninja_status() -> None:
    assert progress.parse("[12/340] Building CXX object foo.o") == progress.Status(12, 340)
    assert progress.parse("ninja: no work to do.") is None
    assert progress.parse("FAILED: foo.o") is None
    assert progress.parse("[x/3] nope") is None


def test_eta() -> None:
    assert progress.eta(0, 10, 5.0) is None
    assert progress.eta(5, 10, 10.0) == 10.0
    assert progress.fmt_seconds(3725) == "1h02m"
    assert progress.fmt_seconds(75) == "1m15s"
    assert progress.fmt_seconds(None) == "--"


def test_plain_lines_when_not_a_tty() -> None:
    out = io.StringIO()
    rep = progress.Reporter(out, tty=False)
    rep.begin("llvm: build")
    for i in range(1, 101):
        rep.on_line(f"[{i}/100] Building thing{i}.o")
    lines = out.getvalue().splitlines()
    assert len(lines) == 11  # the first edge, then one per 10%
    assert lines[-1].startswith("mlirboot: llvm: build: 100% (100/100")
    assert "\r" not in out.getvalue()


def test_bar_on_a_tty() -> None:
    out = io.StringIO()
    rep = progress.Reporter(out, tty=True)
    rep.begin("llvm: build")
    rep.on_line("[25/100] x")
    rep.end()
    text = out.getvalue()
    assert "\r" in text and " 25% 25/100 ETA" in text and "#######" in text
    assert text.endswith("\r\033[K")


def test_job_defaults_are_sane() -> None:
    assert 1 <= hostinfo.default_jobs() <= hostinfo.cpu_count()
    assert hostinfo.default_link_jobs() >= 1
