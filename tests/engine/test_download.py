"""Downloads against a real HTTP server on 127.0.0.1 (http.server in a
thread) that fails the way networks do: 503 once, a connection dropped in the
middle of the body, Range honoured or ignored, a resumed range with wrong
bytes. The file must complete, resume (the server sees the Range request),
and be checked against its sha256; a 404 fails at once, in one line."""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlirboot.bootstrap.engine import download, fetch
from mlirboot.bootstrap.engine.progress import DownloadMeter
from mlirboot.bootstrap.errors import BuildError

from .conftest import component, mlirboot, write_plan

DATA = bytes(range(256)) * 4096  # 1 MiB, so a dropped connection leaves a real part
SHA = hashlib.sha256(DATA).hexdigest()


@dataclass
class Server:
    url: str
    # per path: what the next GETs do, in order ("ok" once the script runs out)
    script: dict[str, list[str]] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            asked = self.headers.get("Range")
            server.seen.append((self.path, asked))
            script = server.script.setdefault(self.path, [])
            action = script.pop(0) if script else "ok"
            if action in ("404", "503"):
                body = f"{action}\n".encode()
                self.send_response(int(action))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", asked or "")
            if match and action != "ignore-range":
                start = int(match.group(1))
            body = DATA[start:]
            if action == "corrupt":
                body = bytes(len(body))
            if start:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if action == "drop":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    state = Server(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(state)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "BACKOFF_S", 0.0)


def _get(server: Server, cache: Path, meter: DownloadMeter | None = None) -> Path:
    return fetch.download(f"{server.url}/src.tar.gz", SHA, cache, "src/fetch", meter)


def test_503_then_a_dropped_connection_resume_with_range(server: Server, _cache_dir: Path):
    server.script["/src.tar.gz"] = ["503", "drop"]
    shown = io.StringIO()
    path = _get(server, _cache_dir, DownloadMeter(stream=shown, tty=False))
    assert path.read_bytes() == DATA and fetch.sha256_file(path) == SHA
    half = len(DATA) // 2
    assert server.seen == [
        ("/src.tar.gz", None),
        ("/src.tar.gz", None),
        ("/src.tar.gz", f"bytes={half}-"),
    ]
    assert not list(path.parent.glob("*.part"))
    assert f"resuming at {half // 1024}.0 KiB" in shown.getvalue()
    assert "1.0 MiB / 1.0 MiB (100%)" in shown.getvalue()


def test_a_server_that_ignores_range_starts_the_file_again(server: Server, _cache_dir: Path):
    server.script["/src.tar.gz"] = ["drop", "ignore-range"]
    path = _get(server, _cache_dir)
    assert path.read_bytes() == DATA
    assert server.seen[1][1] == f"bytes={len(DATA) // 2}-"  # asked, got a 200: restarted


def test_a_resumed_file_with_the_wrong_hash_is_downloaded_again(server: Server, _cache_dir: Path):
    server.script["/src.tar.gz"] = ["drop", "corrupt"]
    path = _get(server, _cache_dir)
    assert path.read_bytes() == DATA
    # The resumed range (wrong bytes) failed the sha256 check; then one fresh GET.
    assert [r for _, r in server.seen] == [None, f"bytes={len(DATA) // 2}-", None]


def test_a_wrong_file_fails_its_hash_and_is_deleted(server: Server, _cache_dir: Path):
    server.script["/src.tar.gz"] = ["corrupt"]
    with pytest.raises(BuildError, match=r"checksum mismatch for src\.tar\.gz"):
        _get(server, _cache_dir)
    assert not [p for p in _cache_dir.rglob("*") if p.is_file()]


def test_a_run_that_gives_up_leaves_the_part_and_the_next_resumes(server: Server, _cache_dir: Path):
    server.script["/src.tar.gz"] = ["drop"] * download.ATTEMPTS
    with pytest.raises(BuildError) as err:
        _get(server, _cache_dir)
    assert f"(after {download.ATTEMPTS} tries)" in str(err.value)
    assert "next run resumes" in str(err.value)
    (part,) = _cache_dir.rglob("*.part")
    assert 0 < part.stat().st_size < len(DATA)
    size = part.stat().st_size
    server.seen.clear()
    path = _get(server, _cache_dir)
    assert path.read_bytes() == DATA
    assert server.seen == [("/src.tar.gz", f"bytes={size}-")]


def test_404_fails_at_once_in_one_line(server: Server, tmp_path: Path, _cache_dir: Path):
    url = f"{server.url}/missing.tar.gz"
    server.script["/missing.tar.gz"] = ["404"] * 10
    build = tmp_path / "build"
    write_plan(
        build, tmp_path / "prefix", [component("p", {"kind": "tarball", "url": url, "sha256": SHA})]
    )
    result = mlirboot("fetch", "-B", build)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert url in result.stderr and "404" in result.stderr and "Traceback" not in result.stderr
    assert server.seen == [("/missing.tar.gz", None)]  # no retry
    assert not [p for p in _cache_dir.rglob("*") if p.is_file()]


def test_progress_shows_with_v_and_not_with_q_or_json(server: Server, tmp_path: Path):
    url = f"{server.url}/src.tar.gz"
    build = tmp_path / "build"
    write_plan(
        build, tmp_path / "prefix", [component("p", {"kind": "tarball", "url": url, "sha256": SHA})]
    )
    env = {"MLIRBOOT_CACHE_DIR": str(tmp_path / "c1")}
    # The archive is not a tarball, so unpacking fails after the download: fine here.
    verbose = mlirboot("fetch", "-B", build, "-v", env=env)
    assert "downloading src.tar.gz: 1.0 MiB / 1.0 MiB (100%)" in verbose.stderr
    for flag in ("-q", "--json"):
        quiet = mlirboot(
            "fetch", "-B", build, flag, env={"MLIRBOOT_CACHE_DIR": str(tmp_path / flag)}
        )
        assert "downloading" not in quiet.stderr, quiet.stderr
