"""The access log: one JSON line per request on the `trimtab.access` logger.

Each line has the request id (the caller's `X-Request-Id` when it is a plain token, else a new
one; sent back in the answer's `X-Request-Id`), method, path, status, the refusal's code, the
latency, the answer's size, the caller's address (after ProxyFix), the webhook client or
platform and the signed-in person.  Never a secret: no query string (OAuth codes and states
ride there), no header values but the client's name, and path segments that are tokens (明道云
puts its token in the URL) are masked.

It is WSGI middleware, not a Flask hook, so it also times what Flask's own hooks cost and sees
answers Flask never routed.  The standard library's logging does the writing (no dependency):
`configure()` attaches a JSON-lines handler — `trimtab serve` and gunicorn call it; in tests
and other embeddings nothing is written unless someone configures the logger.
`configure_events()` does the same for the server's other loggers (`trimtab.*`), as plain lines.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

log = logging.getLogger("trimtab.access")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Path segments that are credentials, masked before anything is written.
SECRET_SEGMENTS = [(re.compile(r"^(/platforms/mingdao/hooks/[^/]+/)[^/]+$"), r"\1***")]
MAX_PATH, MAX_AGENT = 256, 160
# What the application leaves in the WSGI environ for this log (set in errors.py and access.py).
ERROR_CODE, PERSON = "trimtab.error_code", "trimtab.person"


def masked(path: str) -> str:
    for pattern, replacement in SECRET_SEGMENTS:
        path = pattern.sub(replacement, path)
    return path if len(path) <= MAX_PATH else path[:MAX_PATH] + "…"


class AccessLog:
    """Wraps a WSGI app: gives each request an id and logs a line when the answer starts."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ["trimtab.request_id"] = request_id
        started = time.perf_counter()

        def start(status, headers, exc_info=None):
            headers.append(("X-Request-Id", request_id))
            if log.isEnabledFor(logging.INFO):
                _write(environ, request_id, status, headers, started)
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)

        return self.app(environ, start)


def _write(environ, request_id, status, headers, started) -> None:
    size = next((v for k, v in headers if k.lower() == "content-length"), None)
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "request_id": request_id,
        "method": environ.get("REQUEST_METHOD"),
        "path": masked(environ.get("PATH_INFO", "")),
        "status": int(status.split(" ", 1)[0]),
        "code": environ.get(ERROR_CODE),
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "bytes": int(size) if size and size.isdigit() else None,
        "remote": environ.get("REMOTE_ADDR"),
        "client": environ.get("HTTP_X_TRIMTAB_CLIENT", "")[:64] or None,
        "person": environ.get(PERSON),
        "agent": environ.get("HTTP_USER_AGENT", "")[:MAX_AGENT] or None,
    }
    log.info("%s", json.dumps({k: v for k, v in entry.items() if v is not None},
                              ensure_ascii=False))


def configure(stream=None) -> None:
    """Write the access log as JSON lines to `stream` (stderr); once per process."""
    if _attach(log, "trimtab_access", "%(message)s", stream):
        log.propagate = False


def configure_events(stream=None) -> None:
    """The server's own events — sign-ins, each process's rule-set swap, warnings — as plain
    lines on `stream` (stderr) from INFO up, once per process.  Without a handler Python would
    write only warnings, and without the time or the process."""
    # The access log is not an event: its lines are JSON, written by configure()'s own handler,
    # and it stays off (not even built) unless configure() turns it on (TRIMTAB_ACCESS_LOG=0).
    log.propagate = False
    if not _attached(log, "trimtab_access"):
        log.setLevel(logging.WARNING)
    _attach(logging.getLogger("trimtab"), "trimtab_events",
            "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s", stream)


def _attached(logger: logging.Logger, mark: str) -> bool:
    return any(getattr(h, mark, False) for h in logger.handlers)


def _attach(logger: logging.Logger, mark: str, layout: str, stream) -> bool:
    """A handler writing `layout` lines to `stream` (stderr) on `logger` from INFO up, marked
    `mark`, unless one is there already (→ whether this added it)."""
    if _attached(logger, mark):
        return False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(layout))
    setattr(handler, mark, True)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return True
