"""Helpers for tests that run real `trimtab worker` processes: a private redis-server, waiting
for a condition, stopping a worker, clearing what workers left on a shared Redis."""
from __future__ import annotations

import signal
import subprocess
import time


def eventually(check, timeout_s: float = 15.0) -> bool:
    """True once `check()` is; a receiver can see a message a moment before the worker's
    transaction marking it sent commits."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def clear_queue(redis_url: str) -> None:
    """Remove what a test's workers left on the shared Redis: queued and scheduled jobs that
    point at the test's (dropped) database."""
    import redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry
    queue = Queue("trimtab", connection=redis.Redis.from_url(redis_url))
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    queue.empty()


def stop(worker: subprocess.Popen) -> None:
    """SIGTERM (RQ's warm shutdown), then SIGKILL if it lingers."""
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=10)


class PrivateRedis:
    """A real redis-server of this machine's, on its own port, that a test may stop and start
    again without disturbing the shared one."""

    def __init__(self, tmp_path):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url, self.dir, self.proc = f"redis://127.0.0.1:{self.port}/0", tmp_path, None

    def start(self):
        import redis
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_worker(config: dict, database: str, cwd, args=(), log=None, **env) -> subprocess.Popen:
    """`trimtab worker *args` on the app's database, Redis, channels, rules and clients (its
    `config`), with `env` on top (e.g. TRIMTAB_LANG="en"; the app's other settings — its
    language, time zone, platforms — are not passed on): the worker reads the deployment's
    environment, as in production.  Its output goes to `log` (a path), else nowhere."""
    import os
    import sys
    from pathlib import Path
    clients = ",".join(f"{k}:{v}" for k, v in config.get("CLIENTS", {}).items())
    settings = {"DATABASE_URL": database, "REDIS_URL": config.get("REDIS_URL") or "",
                "TRIMTAB_CHANNELS": config["CHANNELS_PATH"],
                "TRIMTAB_RULES": config["RULES_PATH"], "TRIMTAB_CLIENTS": clients,
                "TRIMTAB_ADMIN_TOKEN": config.get("ADMIN_TOKEN") or "",
                "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = open(log, "wb") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen([str(Path(sys.executable).parent / "trimtab"), "worker", *args],
                                env={**os.environ, **settings, **env}, cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            out.close()                 # the worker holds its own copy of the descriptor
