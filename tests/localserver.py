"""A local HTTP server in a thread on a random port of 127.0.0.1: the stand-ins for outside
services (OAuth, directories, approvals, the CRM) share its life cycle and address."""
from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LocalServer:
    """Serves `handler` (a BaseHTTPRequestHandler that finds this object as `server.standin`)
    while used as a context manager; `seen` and `lock` are for what it records."""

    def __init__(self, handler):
        self.seen: list[dict] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.standin = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"
