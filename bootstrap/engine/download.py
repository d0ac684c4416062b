"""One URL into one file, the way a flaky network needs: transient failures
(connection reset or refused, a timeout, a truncated body, HTTP 5xx/408/429)
are retried with backoff, and each retry resumes the partial file with an
HTTP Range request; a server that ignores Range (200 instead of 206) or a
range that does not fit (416) starts the file again from zero. Anything else
(404, 403, a bad URL) fails at once. The caller verifies the sha256 and
decides what a mismatch means (fetch.py: a resumed file is fetched once more
from zero)."""

from __future__ import annotations

import http.client
import logging
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import BinaryIO

from .progress import DownloadMeter

log = logging.getLogger("mlirboot.fetch")

ATTEMPTS = 5
BACKOFF_S = 1.0  # before retry n: BACKOFF_S * 2**(n-1), at most MAX_BACKOFF_S
MAX_BACKOFF_S = 30.0
TIMEOUT_S = 60.0
CHUNK = 1 << 20
_TRANSIENT_HTTP = frozenset((408, 429, 500, 502, 503, 504))
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Failed(Exception):
    """The download failed for good; `reason` is one line."""

    def __init__(self, reason: str, *, transient: bool, tried: int):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.tried = tried


class WriteError(Exception):
    """Writing the file failed (the disk, not the network): not retried."""

    def __init__(self, err: OSError):
        super().__init__(str(err))
        self.err = err


class _Short(Exception):
    """The body ended before its length: the connection dropped."""


def fetch(
    url: str,
    out: BinaryIO,
    *,
    name: str,
    meter: DownloadMeter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Complete `out` (opened "a+b"; what it holds is the first part of the
    file) from `url`. Returns whether the finished file joins bytes of more
    than one response (a resume). Raises Failed or WriteError."""
    for attempt in range(1, ATTEMPTS + 1):
        have = size(out)
        try:
            return _get(url, out, have, name, meter)
        except urllib.error.HTTPError as err:
            if err.code == 416 and have:  # the part does not fit the file: start again
                truncate(out)
                reason, transient = "HTTP 416 for the partial file", True
            else:
                reason = f"HTTP {err.code} {err.reason}".rstrip()
                transient = err.code in _TRANSIENT_HTTP
        except (urllib.error.URLError, OSError, http.client.HTTPException, _Short) as err:
            reason, transient = _reason(err), _transient(err)
        if not transient or attempt == ATTEMPTS:
            raise Failed(reason, transient=transient, tried=attempt)
        delay = min(BACKOFF_S * 2 ** (attempt - 1), MAX_BACKOFF_S)
        got = size(out)
        log.warning(
            "downloading %s: %s; retry %d of %d in %.0fs%s",
            name,
            reason,
            attempt,
            ATTEMPTS - 1,
            delay,
            f", resuming at {got} bytes" if got else "",
        )
        sleep(delay)
    raise AssertionError("unreachable")


def _get(url: str, out: BinaryIO, have: int, name: str, meter: DownloadMeter | None) -> bool:
    """One request; returns whether the `have` bytes already in `out` were kept."""
    headers = {"Range": f"bytes={have}-"} if have else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
        status = getattr(resp, "status", None)
        start, total = 0, _int(resp.headers.get("Content-Length"))
        if have and status == 206:
            match = _CONTENT_RANGE.fullmatch(resp.headers.get("Content-Range", "").strip())
            if match is None or int(match.group(1)) != have:
                truncate(out)  # the next try starts from zero
                raise _Short("206 with an unexpected Content-Range")
            start = have
            total = None if match.group(3) == "*" else int(match.group(3))
        else:
            # No range asked, or the server ignored it (200: the whole file).
            truncate(out)
            if total is not None and status not in (None, 200):
                total = None
        if meter is not None:
            meter.start(name, total, start)
        done = start
        try:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as err:
                    raise WriteError(err) from None
                done += len(chunk)
                if meter is not None:
                    meter.update(done)
        finally:
            if meter is not None:
                meter.end()
        try:
            out.flush()
        except OSError as err:
            raise WriteError(err) from None
        if total is not None and done != total:
            raise _Short(f"connection closed at {done} of {total} bytes")
    return start > 0


def size(out: BinaryIO) -> int:
    out.seek(0, 2)
    return out.tell()


def truncate(out: BinaryIO) -> None:
    try:
        out.seek(0)
        out.truncate(0)
    except OSError as err:
        raise WriteError(err) from None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err.reason, str):
        return _reason(err.reason)
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    if isinstance(err, http.client.IncompleteRead):
        return f"connection closed after {len(err.partial)} bytes of the body"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower() if err.strerror.istitle() else err.strerror
    return str(err) or type(err).__name__


def _transient(err: BaseException) -> bool:
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        return isinstance(reason, BaseException) and _transient(reason)
    if isinstance(err, socket.gaierror):
        return err.errno == socket.EAI_AGAIN  # "temporary failure in name resolution"
    return isinstance(err, (_Short, http.client.HTTPException, TimeoutError, ConnectionError))
