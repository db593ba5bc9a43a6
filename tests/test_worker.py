"""A yellow alert from a webhook through a real RQ worker (the machine's Redis) to a local
DingTalk-style receiver that checks the signature."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import ROOT
from receivers import Receiver
from serverkit import ADMIN, CLIENT, SECRET, Hooks, fresh_database, load_org, make_app, week
from workerkit import PrivateRedis, clear_queue, eventually, stop

# A Redis database per test process (pytest-xdist names them gw0, gw1, …): two processes' workers
# must never take each other's jobs from one queue.
_PROCESS = int(os.environ.get("PYTEST_XDIST_WORKER", "gw-1")[2:]) + 1
REDIS = os.environ.get("TRIMTAB_TEST_REDIS", f"redis://127.0.0.1:6379/{_PROCESS}")


@pytest.mark.slow
def test_alert_through_rq_worker(tmp_path, monkeypatch):
    import redis
    redis.Redis.from_url(REDIS).ping()              # a missing Redis fails here, never skips
    url, cleanup = fresh_database("postgresql", tmp_path)
    receiver = Receiver(secret="SECrq")
    channels = tmp_path / "channels.yaml"
    channels.write_text("channels:\n  dt: {type: dingtalk, url_env: T_RQ_URL, secret_env: T_RQ_SECRET}\n"
                        "routes:\n  default: dt\n", encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS, "TRIMTAB_CHANNELS": str(channels),
           "TRIMTAB_RULES": str(ROOT / "rules"), "T_RQ_URL": receiver.url, "T_RQ_SECRET": "SECrq",
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(ROOT)}
    monkeypatch.setenv("T_RQ_URL", receiver.url)        # the in-process app reads channels too
    monkeypatch.setenv("T_RQ_SECRET", "SECrq")
    worker = None
    try:
        app = make_app(url, REDIS_URL=REDIS, CHANNELS_PATH=str(channels))
        client = load_org(app)
        worker = subprocess.Popen([str(Path(sys.executable).parent / "trimtab"), "worker"], env=env,
                                  cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        hooks = Hooks(client)
        for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:
            r = hooks.post("weekly_metrics", w)
        assert r.json["notifications_queued"] == 1         # both roles read the one group
        # The yellow alert's message (east.li's July weeks are long past, so the sweeper
        # also raises 周报断更 for him: those messages are not counted here).
        def yellow():
            return [m for m in receiver.received
                    if (m["body"].get("actionCard") or m["body"].get("markdown"))["title"] == "[yellow] 健康度黄灯"]
        deadline = time.monotonic() + 30
        while len(yellow()) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(yellow()) == 1, worker.stdout.read1().decode(errors="replace") if worker.poll() else ""
        assert receiver.rejected == []
        time.sleep(1.0)
        assert len(yellow()) == 1                           # the message once
        app.extensions["trimtab.engine"].dispose()
    finally:
        if worker is not None:
            stop(worker)
        clear_queue(REDIS)
        receiver.close()
        cleanup()


@pytest.fixture
def app_config(tmp_path) -> dict:
    """A Redis nobody listens on, and one DingTalk group no one answers for."""
    channels = tmp_path / "channels.yaml"
    channels.write_text("channels:\n  dt: {type: dingtalk, url: 'http://127.0.0.1:9/x'}\n"
                        "routes:\n  default: dt\n", encoding="utf-8")
    return {"REDIS_URL": "redis://127.0.0.1:1/0", "CHANNELS_PATH": str(channels)}


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_webhooks_answer_when_redis_is_unreachable(client, hooks):
    for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:
        r = hooks.post("weekly_metrics", w)
    # direct_manager and hrbp share the one DingTalk group: one message there
    assert r.status_code == 200 and r.json["notifications_queued"] == 1
    pending = client.get("/v1/notifications?status=pending").json["items"]
    assert len(pending) == 1                            # waiting in the outbox, not lost


@pytest.mark.slow
def test_a_worker_killed_mid_delivery(tmp_path, monkeypatch):
    """The first worker dies while the receiver holds its request; the claim is rolled back,
    the next worker delivers, and the receiver sees one message id."""
    url, cleanup = fresh_database("postgresql", tmp_path)
    receiver = Receiver(stall_first_s=8)
    channels = tmp_path / "channels.yaml"
    channels.write_text("channels:\n  dt: {type: dingtalk, url_env: T_KILL_URL}\nroutes:\n  default: dt\n",
                        encoding="utf-8")
    monkeypatch.setenv("T_KILL_URL", receiver.url)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS, "TRIMTAB_CHANNELS": str(channels),
           "TRIMTAB_RULES": str(ROOT / "rules"), "PYTHONPATH": str(ROOT),
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN}
    trimtab = str(Path(sys.executable).parent / "trimtab")
    workers = []
    try:
        app = make_app(url, REDIS_URL=REDIS, CHANNELS_PATH=str(channels))
        client = load_org(app)
        workers.append(subprocess.Popen([trimtab, "worker"], env=env, cwd=tmp_path,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # This week's numbers: a rep whose last week was months ago is also silent (周报断更),
        # which the sweeper would raise beside the red alert this test counts.
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        this_monday = (today - dt.timedelta(days=today.weekday())).isoformat()
        r = Hooks(client).post("weekly_metrics", dict(week(1, 5, 0.9), negative_feedback=3,
                                                      week_start=this_monday))
        queued = r.json["notifications_queued"]                 # red alert: three roles
        deadline = time.monotonic() + 30
        while not receiver.arrivals and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.arrivals, "the first worker never tried to deliver"
        workers[0].send_signal(signal.SIGKILL)                  # dies holding the claim
        workers[0].wait(timeout=10)
        workers.append(subprocess.Popen([trimtab, "worker"], env=env, cwd=tmp_path,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while len(receiver.unique_received()) < queued and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(receiver.unique_received()) == queued        # every message, each id once
        assert receiver.arrivals[0] in receiver.unique_received()   # the interrupted one, same id
        from trimtab.server.storage.models import OutboxMessage

        def statuses():
            with app.extensions["trimtab.sessions"]() as s:
                return {m.status for m in s.query(OutboxMessage)}
        assert eventually(lambda: statuses() == {"sent"}), statuses()
        app.extensions["trimtab.engine"].dispose()
    finally:
        for w in workers:
            stop(w)
        clear_queue(REDIS)
        receiver.close()
        cleanup()


@pytest.mark.slow
@pytest.mark.parametrize("worker_listening", [True, False], ids=["stopped-under-worker", "stopped-at-start"])
def test_redis_stopped_while_webhooks_arrive(tmp_path, monkeypatch, worker_listening):
    """Redis stops: webhooks still answer 200 and their notifications wait in the outbox; the
    worker outlives the outage, and after Redis returns every message is delivered, once.
    (The worker's sweeper is slowed down here so that only the queue can deliver.)"""
    import redis
    url, cleanup = fresh_database("postgresql", tmp_path)
    server = PrivateRedis(tmp_path)
    server.start()
    receiver = Receiver()
    channels = tmp_path / "channels.yaml"
    channels.write_text("channels:\n  dt: {type: dingtalk, url_env: T_OUT_URL}\nroutes:\n  default: dt\n",
                        encoding="utf-8")
    monkeypatch.setenv("T_OUT_URL", receiver.url)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": server.url, "TRIMTAB_CHANNELS": str(channels),
           "TRIMTAB_RULES": str(ROOT / "rules"), "PYTHONPATH": str(ROOT), "T_OUT_URL": receiver.url,
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN}
    worker = None
    try:
        app = make_app(url, REDIS_URL=server.url, CHANNELS_PATH=str(channels))
        client = load_org(app)
        worker = subprocess.Popen([str(Path(sys.executable).parent / "trimtab"), "worker",
                                   "--sweep-s", "3600"], env=env, cwd=tmp_path,
                                  stdout=open(tmp_path / "worker.log", "wb"), stderr=subprocess.STDOUT)
        hooks = Hooks(client)
        if worker_listening:            # Redis goes away under a worker that is listening
            deadline = time.monotonic() + 20
            while not redis.Redis.from_url(server.url).keys("rq:worker:*") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert redis.Redis.from_url(server.url).keys("rq:worker:*"), "the worker never registered"
        server.stop()
        try:
            redis.Redis.from_url(server.url).ping()
            raise AssertionError("Redis still answers")
        except redis.exceptions.ConnectionError:
            pass
        # The yellow alert arrives while Redis is down.  Its weeks end with this one: weeks long
        # past would also make east.li silent (周报断更), and the worker's start-up schedule run,
        # slow on a loaded machine, could raise that beside the messages counted here.
        today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
        this_monday = today - dt.timedelta(days=today.weekday())
        for n, w in enumerate([week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]):
            w["week_start"] = (this_monday - dt.timedelta(weeks=2 - n)).isoformat()
            r = hooks.post("weekly_metrics", w)
            assert r.status_code == 200, r.json
        assert r.json["notifications_queued"] == 1         # both roles read the one group
        time.sleep(2)
        waiting = client.get("/v1/notifications").json["items"]
        assert [m["status"] for m in waiting] == ["pending"] and receiver.received == []
        server.start()
        # A red alert after Redis returns goes through the queue as usual.
        r = hooks.post("weekly_metrics", dict(week(6, 4, 0.9), negative_feedback=3))
        expected = 1 + r.json["notifications_queued"]
        deadline = time.monotonic() + 60
        while len(receiver.unique_received()) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        assert len(receiver.unique_received()) == expected
        assert len(receiver.received) == expected                   # none twice
        statuses = lambda: {m["status"] for m in client.get("/v1/notifications").json["items"]}
        assert eventually(lambda: statuses() == {"sent"}), statuses()
        app.extensions["trimtab.engine"].dispose()
    finally:
        if worker is not None:
            stop(worker)
        if server.proc.poll() is None:
            server.stop()
        receiver.close()
        cleanup()



@pytest.mark.slow
def test_schedules_run_on_rqs_scheduler(tmp_path):
    """The worker's RQ scheduler runs the rule set's schedules: a Monday report missed for two
    weeks runs once, and the next run waits in RQ's scheduled registry at the next fire time
    (the sweeper is slowed down so that only RQ runs them)."""
    import datetime as dt

    import redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry
    from sqlalchemy import select
    from trimtab.server.jobs.worker import schedule_next
    from trimtab.server.storage.models import OutboxMessage, ScheduleRun, utcnow
    server = PrivateRedis(tmp_path)
    server.start()
    url, cleanup = fresh_database("postgresql", tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": server.url, "TRIMTAB_RULES": str(ROOT / "rules"),
           "PYTHONPATH": str(ROOT), "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN,
           "TRIMTAB_CHANNELS": str(tmp_path / "none.yaml")}
    worker = None
    try:
        app = make_app(url)
        load_org(app)
        sessions = app.extensions["trimtab.sessions"]
        with sessions() as s, s.begin():
            s.add(ScheduleRun(name="周一行动建议", last_run_at=utcnow() - dt.timedelta(weeks=2), runs=1))
        worker = subprocess.Popen([str(Path(sys.executable).parent / "trimtab"), "worker",
                                   "--sweep-s", "3600"], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        runs = 1
        while time.monotonic() < deadline and runs == 1:
            time.sleep(0.3)
            with sessions() as s:
                runs = s.get(ScheduleRun, "周一行动建议").runs
        assert runs == 2                                      # the missed Monday ran, once
        with sessions() as s:
            roles = sorted(m.role for m in s.scalars(select(OutboxMessage)))
        assert roles == ["headquarters", "regional_manager"]
        queue = Queue("trimtab", connection=redis.Redis.from_url(server.url))
        registry = ScheduledJobRegistry(queue=queue)
        deadline = time.monotonic() + 10
        while not registry.get_job_ids() and time.monotonic() < deadline:
            time.sleep(0.2)
        [next_run] = registry.get_job_ids()
        fire = registry.get_scheduled_time(next_run)
        assert fire > dt.datetime.now(dt.timezone.utc) and next_run == f"trimtab-schedules-{int(fire.timestamp())}"
        # A run put on the scheduler a moment ahead is run by the worker's scheduler.
        with sessions() as s, s.begin():
            s.get(ScheduleRun, "周一行动建议").last_run_at = utcnow() - dt.timedelta(weeks=1)
        schedule_next(server.url, utcnow() + dt.timedelta(seconds=2))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and runs == 2:
            time.sleep(0.3)
            with sessions() as s:
                runs = s.get(ScheduleRun, "周一行动建议").runs
        assert runs == 3
        app.extensions["trimtab.engine"].dispose()
    finally:
        if worker is not None:
            stop(worker)
        server.stop()
        cleanup()


def test_jobs_carry_no_database_url_or_secret(tmp_path):
    """What goes to Redis is a function name and plain flags: the worker knows the database."""
    import datetime as dt

    import redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry
    from trimtab.server.jobs.worker import enqueue_dispatch, schedule_next
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        assert enqueue_dispatch(server.url)
        schedule_next(server.url, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                      + dt.timedelta(hours=1))
        conn = redis.Redis.from_url(server.url)
        queue = Queue("trimtab", connection=conn)
        jobs = queue.get_jobs() + [queue.fetch_job(i) for i in ScheduledJobRegistry(queue=queue).get_job_ids()]
        assert len(jobs) == 2
        for job in jobs:
            assert job.args in ((), (True,)) and job.kwargs == {}
        stored = b"".join(v for key in conn.keys("rq:job:*") for v in conn.hgetall(key).values()
                          if isinstance(v, bytes))
        assert b"postgresql" not in stored and b"sqlite" not in stored and b"://" not in stored
    finally:
        server.stop()
