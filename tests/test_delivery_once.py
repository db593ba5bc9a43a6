"""Each message delivered once, counted at the receivers — every POST they take, not distinct
ids — through two real `trimtab worker` processes on PostgreSQL and a private redis-server:
a burst with the sweepers running, a slow receiver, a worker SIGKILLed, PostgreSQL backends
terminated and Redis stopped, each mid-burst.  Each test prints a FIGURES line (pytest -s)."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from conftest import ROOT
from receivers import Receiver
from serverkit import ADMIN, CLIENT, PG_ADMIN, SECRET, Hooks, fresh_database, load_org, make_app, week
from workerkit import PrivateRedis, eventually, stop

pytestmark = pytest.mark.slow          # every test here takes over ~3 s

TRIMTAB = str(Path(sys.executable).parent / "trimtab")
ROUTES = {"direct_manager": "a", "hrbp": "b", "regional_manager": "c"}   # a red alert: 3 messages


class Rig:
    """A fresh PostgreSQL database, a private redis-server, webhook receivers (one channel
    each), the app in process for the webhooks, and `trimtab worker` processes."""

    def __init__(self, tmp_path, monkeypatch, receivers: dict, timeout_s: float = 3):
        self.tmp, self.receivers, self.workers, self.weeks = tmp_path, receivers, [], 0
        self.url, self._drop = fresh_database("postgresql", tmp_path)
        self.redis = PrivateRedis(tmp_path)
        self.redis.start()
        channels = tmp_path / "channels.yaml"
        lines = ["channels:"]
        for name, receiver in receivers.items():
            monkeypatch.setenv(f"T_ONCE_{name.upper()}", receiver.url)
            lines.append(f"  {name}: {{type: webhook, url_env: T_ONCE_{name.upper()}, timeout_s: {timeout_s}}}")
        lines += ["routes:"] + [f"  {role}: {name}" for role, name in ROUTES.items()]
        channels.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.env = {**os.environ, "DATABASE_URL": self.url, "REDIS_URL": self.redis.url,
                    "TRIMTAB_CHANNELS": str(channels), "TRIMTAB_RULES": str(ROOT / "rules"),
                    "PYTHONPATH": str(ROOT), "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}",
                    "TRIMTAB_ADMIN_TOKEN": ADMIN,
                    **{f"T_ONCE_{n.upper()}": r.url for n, r in receivers.items()}}
        self.app = make_app(self.url, REDIS_URL=self.redis.url, CHANNELS_PATH=str(channels))
        load_org(self.app)
        self.hooks = Hooks(self.app.test_client())

    def start_workers(self, n: int = 2, sweep_s: float = 0.5) -> None:
        """`n` workers, each in its own process group (a SIGKILL takes its job process too)."""
        for _ in range(n):
            log = open(self.tmp / f"worker{len(self.workers)}.log", "wb")
            self.workers.append(subprocess.Popen(
                [TRIMTAB, "worker", "--sweep-s", str(sweep_s)], env=self.env, cwd=self.tmp,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        listening = lambda: len(redis.Redis.from_url(self.redis.url).keys("rq:worker:*")) >= len(self.workers)
        assert eventually(listening, 30), self.logs()

    def burst(self, webhooks: int, pause_s: float = 0.01) -> int:
        """`webhooks` red alerts (a new week each); how many messages they queued."""
        queued = 0
        for _ in range(webhooks):
            self.weeks += 1
            facts, delivery = dict(week(self.weeks, 5, 0.9), negative_feedback=3), uuid.uuid4().hex
            for _ in range(3):          # a 503 when a test has just terminated our connections
                r = self.hooks.post("weekly_metrics", facts, delivery=delivery)
                if r.status_code != 503:
                    break
            assert r.status_code == 200, r.json
            queued += r.json["notifications_queued"]
            time.sleep(pause_s)
        return queued

    def outbox(self) -> dict:
        """message id -> status, read on a connection of its own (a test may be terminating
        the app's)."""
        with psycopg.connect(self.url.replace("+psycopg", "")) as conn:
            return dict(conn.execute("SELECT message_id, status FROM outbox").fetchall())

    def deliveries(self) -> collections.Counter:
        """Every message each receiver took, by id — repeats counted."""
        total = collections.Counter()
        for receiver in self.receivers.values():
            total.update(receiver.counts())
        return total

    def wait_all_sent(self, timeout_s: float) -> bool:
        def done():
            rows = self.outbox()
            return set(rows.values()) == {"sent"} and set(rows) <= set(self.deliveries())
        return eventually(done, timeout_s)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("worker*.log")))

    def figures(self, case: str, **more) -> dict:
        counts, ids = self.deliveries(), self.outbox()
        extra = sum(c - 1 for c in counts.values())
        found = {"case": case, "messages": len(ids), "deliveries": sum(counts.values()),
                 "extra": extra, "tracebacks": self.logs().count("Traceback"), **more}
        print("FIGURES", " ".join(f"{k}={v}" for k, v in found.items()))
        return found

    def close(self) -> None:
        for worker in self.workers:
            stop(worker)
        self.redis.stop()
        for receiver in self.receivers.values():
            receiver.close()
        self.app.extensions["trimtab.engine"].dispose()
        self._drop()


@pytest.fixture
def make_rig(tmp_path, monkeypatch):
    rigs = []

    def make(_opts=None, **named) -> Rig:
        rigs.append(Rig(tmp_path, monkeypatch, named, **(_opts or {})))
        return rigs[-1]
    yield make
    for rig in rigs:
        rig.close()


def receivers(delay_s: float = 0.0, **slow) -> dict:
    found = {name: Receiver(scheme="webhook", delay_s=delay_s) for name in ROUTES.values()}
    found.update(slow)
    return found


def assert_each_once(rig: Rig) -> None:
    counts, ids = rig.deliveries(), rig.outbox()
    assert set(counts) == set(ids), f"{len(set(ids) - set(counts))} never delivered"
    again = {i: c for i, c in counts.items() if c > 1}
    assert not again, f"{sum(c - 1 for c in again.values())} extra deliveries of {len(ids)} messages"


def test_a_burst_with_the_sweepers_running(make_rig):
    """The sweeper thread and RQ's forked job processes of the same worker all deliver."""
    rig = make_rig(**receivers())
    rig.start_workers(2, sweep_s=0.2)
    queued = rig.burst(40, pause_s=0.15)
    assert queued == 120
    assert rig.wait_all_sent(30), rig.figures("burst")
    time.sleep(1.0)                             # a repeat would arrive now
    rig.figures("burst")
    assert_each_once(rig)
    assert "Traceback" not in rig.logs(), rig.logs()[-3000:]


def test_a_slow_receiver_holds_only_its_own_messages(make_rig):
    """One receiver takes 1.5 s per message: the other channels' messages all arrive before it
    is through, and nothing is sent twice."""
    slow = Receiver(scheme="webhook", delay_s=1.5)
    rig = make_rig(**receivers(a=slow))
    rig.start_workers(2, sweep_s=0.5)
    start = time.monotonic()
    rig.burst(20)
    fast = lambda: sum(len(rig.receivers[n].received) for n in ("b", "c")) >= 40
    assert eventually(fast, 20)
    fast_s, slow_done = time.monotonic() - start, len(slow.received)
    assert rig.wait_all_sent(40)
    slow_s = time.monotonic() - start
    rig.figures("slow-receiver", fast_s=round(fast_s, 1), slow_s=round(slow_s, 1),
                slow_done_when_fast_done=slow_done, slow_most_in_flight=slow.most_in_flight)
    assert slow_done < 20, "the slow channel finished first: the test shows nothing"
    assert_each_once(rig)
    assert "Traceback" not in rig.logs(), rig.logs()[-3000:]


def test_a_worker_sigkilled_mid_burst(make_rig):
    """One worker's process group dies mid-burst holding claims: the other delivers the rest,
    and those claims once they expire.  Only a message the receiver had already taken when
    its sender died can arrive twice (it was in flight: claimed, not yet recorded)."""
    rig = make_rig(**receivers(delay_s=0.2), _opts={"timeout_s": 2})
    rig.start_workers(2, sweep_s=0.5)
    rig.burst(30)
    assert eventually(lambda: sum(rig.deliveries().values()) >= 20, 20)
    os.killpg(rig.workers[0].pid, signal.SIGKILL)
    rig.workers[0].wait(timeout=10)
    in_flight = {i for i, status in rig.outbox().items() if status not in ("pending", "sent", "dead")}
    assert rig.wait_all_sent(60), rig.figures("sigkill")
    time.sleep(1.0)
    found = rig.figures("sigkill", in_flight_at_kill=len(in_flight))
    counts = rig.deliveries()
    assert set(counts) == set(rig.outbox())
    again = {i for i, c in counts.items() if c > 1}
    assert again <= in_flight and found["extra"] <= len(in_flight), (again, in_flight)
    assert "Traceback" not in rig.logs().split("\n", 1)[0]      # (the killed one's log stops short)


def terminate_backends(database: str) -> int:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        return len(conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND pid <> pg_backend_pid()", (database,)).fetchall())


def test_postgresql_backends_terminated_mid_burst(make_rig):
    """Every backend of the database is terminated every 0.4 s while 120 messages go out
    (the workers', and the test app's own: its webhooks are retried under the same id)."""
    import threading
    rig = make_rig(**receivers(delay_s=0.1))
    rig.start_workers(2, sweep_s=0.5)
    database, done, killed = rig.url.rsplit("/", 1)[1], threading.Event(), []

    def terminate():
        while not done.wait(0.4):
            killed.append(terminate_backends(database))
    killer = threading.Thread(target=terminate)
    killer.start()
    try:
        rig.burst(40, pause_s=0.05)
        eventually(lambda: sum(rig.deliveries().values()) >= 100, 20)
    finally:
        done.set()
        killer.join()
    assert rig.wait_all_sent(40), rig.figures("pg-terminate")
    time.sleep(1.0)
    rig.figures("pg-terminate", backends_terminated=sum(killed))
    assert sum(killed) > 0
    assert_each_once(rig)
    assert all(w.poll() is None for w in rig.workers)


def test_redis_stopped_and_restarted_mid_burst(make_rig):
    rig = make_rig(**receivers(delay_s=0.05))
    rig.start_workers(2, sweep_s=1.0)
    rig.burst(10)
    rig.redis.stop()
    rig.burst(10)                               # webhooks answer; the outbox keeps the messages
    time.sleep(2.0)
    rig.redis.start()
    rig.burst(10)
    assert rig.wait_all_sent(40), rig.figures("redis-restart")
    time.sleep(1.0)
    rig.figures("redis-restart")
    assert_each_once(rig)
    assert all(w.poll() is None for w in rig.workers), rig.logs()[-3000:]


def test_redis_killed_while_a_job_runs(make_rig):
    """Redis dies while an RQ job is sending (the sweeper is far off): the job finishes its
    messages, each process logs a WARNING rather than a traceback, and the worker listens
    again once Redis is back.  (RQ alone ended its loop with a traceback here.)"""
    rig = make_rig(**receivers(delay_s=2.0), _opts={"timeout_s": 6})
    rig.start_workers(1, sweep_s=120)
    assert rig.burst(2) == 6
    busy = lambda: any(r.in_flight for r in rig.receivers.values())
    assert eventually(busy, 20), rig.logs()
    rig.redis.proc.kill()
    rig.redis.proc.wait(timeout=10)
    assert eventually(lambda: len(rig.deliveries()) == 6, 20), rig.logs()
    time.sleep(2.0)                             # the job has ended, Redis still away
    rig.redis.start()
    listening = lambda: redis.Redis.from_url(rig.redis.url).keys("rq:worker:*")
    assert eventually(listening, 30), rig.logs()
    assert rig.wait_all_sent(10), rig.figures("redis-killed-mid-job")
    rig.figures("redis-killed-mid-job")
    assert_each_once(rig)
    assert "Traceback" not in rig.logs(), rig.logs()[-3000:]
    assert rig.workers[0].poll() is None
