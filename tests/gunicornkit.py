"""A real gunicorn with the shipped settings (server/gunicorn_conf.py) on a free port, for tests
about several worker processes: one truth for the rule set, metrics summed across processes."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from conftest import ROOT
from serverkit import ADMIN, CLIENT, SECRET

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """`trimtab migrate`, then `gunicorn -c python:trimtab.server.gunicorn_conf -w N trimtab.server.wsgi:app`
    in `cwd` (its var/ holds the metrics directory)."""

    def __init__(self, cwd: Path, database_url: str, workers: int = 4, **env):
        self.cwd, self.workers, self.port = cwd, workers, free_port()
        self.env = {**os.environ, "DATABASE_URL": database_url, "TRIMTAB_RULES": str(ROOT / "rules"),
                    "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN,
                    "PYTHONPATH": str(ROOT), **env}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)      # the settings file names it
        self.base, self.proc = f"http://127.0.0.1:{self.port}", None

    @property
    def metrics_dir(self) -> Path:
        return self.cwd / "var" / "metrics"

    def start(self) -> "Gunicorn":
        migrate = subprocess.run([str(BIN / "trimtab"), "migrate"], env=self.env, cwd=self.cwd,
                                 capture_output=True, text=True, timeout=60)
        assert migrate.returncode == 0, migrate.stderr
        self.log = open(self.cwd / "gunicorn.log", "wb")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "python:trimtab.server.gunicorn_conf", "-w", str(self.workers),
             "-b", f"127.0.0.1:{self.port}", "--timeout", "30", "trimtab.server.wsgi:app"],
            env=self.env, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60             # every worker loads the rules as it boots
        while len(self.worker_pids()) < self.workers or not self._answers():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.output()
            time.sleep(0.2)
        return self

    def _answers(self) -> bool:
        try:
            return requests.get(self.base + "/healthz", timeout=10).ok
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def output(self) -> str:
        return (self.cwd / "gunicorn.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        if self.proc is not None:
            self.log.close()
