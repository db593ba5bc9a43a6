"""The deployment of issue 12's done-when, as a test runs it: a fresh PostgreSQL database,
a private redis-server, `trimtab migrate`, `gunicorn -w 4` serving the app, `trimtab worker`
processes, and local receivers behind generic webhook channels — every process's output in a
log file of its own under the test's tmp_path."""
from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis
import requests

from conftest import ROOT
from gunicornkit import free_port
from serverkit import ADMIN, CLIENT, PG_ADMIN, SECRET, fresh_database
from workerkit import PrivateRedis, eventually, stop

BIN = Path(sys.executable).parent
REGIONS = ("east", "west", "north", "south", "central")
WEB_APP_NAME = "trimtab-web"            # the web workers' application_name in pg_stat_activity


def org_chart(reps: int = 50) -> dict:
    """`reps` reps over five regions, each region with two direct managers, a regional manager,
    a regional supervisor and an HRBP; a sales director above the managers."""
    people = [{"id": "sales.dir", "name": "销售总监", "role": "sales_director"},
              {"id": "hq.1", "name": "总部", "role": "headquarters"}]
    for region in REGIONS:
        people += [{"id": f"{region}.rm", "name": f"{region} 区域经理", "role": "regional_manager",
                    "region": region, "manager": "sales.dir"},
                   {"id": f"{region}.sup", "name": f"{region} 区域主管", "role": "regional_supervisor",
                    "region": region, "manager": f"{region}.rm"},
                   {"id": f"hr.{region}", "name": f"{region} HRBP", "role": "hrbp", "region": region}]
        people += [{"id": f"{region}.dm{i}", "name": f"{region} 经理{i}", "role": "direct_manager",
                    "region": region, "manager": f"{region}.rm"} for i in (1, 2)]
    for n in range(reps):
        region = REGIONS[n % len(REGIONS)]
        people.append({"id": f"rep{n:02d}", "name": f"代表{n:02d}", "role": "rep", "region": region,
                       "manager": f"{region}.dm{1 + n // len(REGIONS) % 2}", "hrbp": f"hr.{region}"})
    return {"people": people}


class Deployment:
    """Everything issue 12's burst runs against.  `receivers`: channel name -> Receiver;
    `routes`: role -> channel name, `people`: person -> channel name (before their role's);
    `timeouts`: channel name -> timeout_s."""

    def __init__(self, tmp_path, receivers: dict, routes: dict, people: dict, timeouts: dict,
                 sweep_s: float):
        self.tmp, self.receivers, self.sweep_s = tmp_path, receivers, sweep_s
        self.workers, self.killed, self.gunicorn = [], [], None
        self.url, self._drop = fresh_database("postgresql", tmp_path)
        self.database = self.url.rsplit("/", 1)[1]
        self.redis = PrivateRedis(tmp_path)
        self.redis.start()
        channels = tmp_path / "channels.yaml"
        lines = ["channels:"] + [
            f"  {name}: {{type: webhook, url_env: T_BURST_{name.upper()}, timeout_s: {timeouts[name]}}}"
            for name in receivers] + ["routes:"] + [f"  {role}: {ch}" for role, ch in routes.items()] \
            + ["people:"] + [f"  {person}: {ch}" for person, ch in people.items()]
        channels.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.env = {**os.environ, "DATABASE_URL": self.url, "REDIS_URL": self.redis.url,
                    "TRIMTAB_CHANNELS": str(channels), "TRIMTAB_RULES": str(ROOT / "rules"),
                    "PYTHONPATH": str(ROOT), "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}",
                    "TRIMTAB_ADMIN_TOKEN": ADMIN, "TRIMTAB_AUDIT_KEY": "burst-audit-key",
                    "TRIMTAB_SECRET_KEY": "burst-secret-key",
                    **{f"T_BURST_{n.upper()}": r.url for n, r in receivers.items()}}

    # ------------------------------------------------------------------ processes
    def migrate(self) -> None:
        done = subprocess.run([str(BIN / "trimtab"), "migrate"], env=self.env, cwd=self.tmp,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    def serve(self, workers: int = 4) -> str:
        """gunicorn -w `workers`; its connections named WEB_APP_NAME; the base URL once every
        worker could have booted."""
        port = free_port()
        env = dict(self.env, DATABASE_URL=f"{self.url}?application_name={WEB_APP_NAME}")
        log = open(self.tmp / "gunicorn.log", "wb")
        self.gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "60",
             "--no-control-socket", "trimtab.server.wsgi:app"],
            env=env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"

        def up():
            assert self.gunicorn.poll() is None, self.logs()
            try:
                return requests.get(self.base + "/healthz", timeout=5).ok
            except requests.RequestException:
                return False
        assert eventually(up, 90), self.logs()
        return self.base

    def load_org(self, org: dict) -> None:
        r = requests.post(self.base + "/v1/org/people", json=org, timeout=60,
                          headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 200, r.text

    def start_worker(self) -> subprocess.Popen:
        """One `trimtab worker`, in a process group of its own, its output in workerN.log."""
        log = open(self.tmp / f"worker{len(self.workers)}.log", "wb")
        worker = subprocess.Popen([str(BIN / "trimtab"), "worker", "--sweep-s", str(self.sweep_s)],
                                  env=self.env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.workers.append(worker)
        return worker

    def wait_listening(self, n: int) -> None:
        listening = lambda: len(redis.Redis.from_url(self.redis.url).keys("rq:worker:*")) >= n
        assert eventually(listening, 60), self.logs()

    def kill_worker(self, worker: subprocess.Popen) -> list[int]:
        """SIGKILL the worker's process group and its job process (RQ puts each job process in
        a group of its own, so the group alone would leave it running); the pids killed."""
        pids = [worker.pid] + children(worker.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        for pid in pids[1:]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        worker.wait(timeout=10)
        self.killed.append(worker)
        return pids

    def kill_redis(self) -> None:
        self.redis.proc.kill()
        self.redis.proc.wait(timeout=10)

    def terminate_web_backend(self) -> dict | None:
        """pg_terminate_backend on one of the web workers' connections (a busy one if any);
        what it was doing."""
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for _ in range(100):            # up to 2 s for one caught at work
                row = conn.execute(
                    "SELECT pid, state, left(query, 40) FROM pg_stat_activity WHERE datname = %s "
                    "AND application_name = %s ORDER BY state = 'active' DESC, random() LIMIT 1",
                    (self.database, WEB_APP_NAME)).fetchone()
                if row is None or row[1] == "active":
                    break
                time.sleep(0.02)
            if row is None:
                return None
            conn.execute("SELECT pg_terminate_backend(%s)", (row[0],))
        return {"pid": row[0], "state": row[1], "query": " ".join(row[2].split())}

    # ------------------------------------------------------------------ what happened
    def sql(self, query: str, *params) -> list:
        """Rows of `query`, on a connection of its own."""
        with psycopg.connect(self.url.replace("+psycopg", "")) as conn:
            return conn.execute(query, params).fetchall()

    def outbox(self) -> dict:
        return dict(self.sql("SELECT message_id, status FROM outbox"))

    def messages(self) -> list:
        """(message id, fact id, rule, role, subject) of every outbox row."""
        return self.sql("SELECT message_id, fact_id, rule, role, payload->>'subject' FROM outbox")

    def silences(self) -> list:
        """(rule, subject, the roles it notifies) of every silence alert raised."""
        return self.sql("SELECT s.rule, s.subject, d.result->'notify' FROM silences s "
                        "JOIN decisions d ON d.id = s.decision_id")

    def deliveries(self) -> collections.Counter:
        total = collections.Counter()
        for receiver in self.receivers.values():
            total.update(receiver.counts())
        return total

    def logs(self) -> str:
        return "\n".join(f"==> {p.name}\n" + p.read_text(errors="replace")
                         for p in sorted(self.tmp.glob("*.log")))

    def tracebacks(self) -> dict:
        return {p.name: p.read_text(errors="replace").count("Traceback")
                for p in sorted(self.tmp.glob("*.log"))}

    def traceback_excerpts(self, lines: int = 25) -> str:
        """Each traceback in the logs with the lines before and after it."""
        found = []
        for p in sorted(self.tmp.glob("*.log")):
            text = p.read_text(errors="replace").splitlines()
            found += [f"==> {p.name}:{i + 1}\n" + "\n".join(text[max(0, i - 2):i + lines])
                      for i, line in enumerate(text) if "Traceback" in line]
        return "\n".join(found)

    def close(self) -> None:
        for worker in self.workers:
            stop(worker)
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)
            try:
                self.gunicorn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
        self.redis.stop()
        for receiver in self.receivers.values():
            receiver.close()
        self._drop()


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def holders_of(pids) -> list[str]:
    """A LIKE pattern list matching delivery claims held by processes `pids` (outbox.claimed_by
    is host:pid:run/claim)."""
    host = socket.gethostname()
    return [f"{host}:{pid}:%" for pid in pids]
