"""The server bench's load: the team and its signed webhooks, both servers under gunicorn on
one fresh PostgreSQL database, the clients (a closed loop for throughput, an open loop for
latency), and the meters read around them (gunicorn workers' and PostgreSQL's CPU from /proc,
the machine's busy and idle time, the WAL's position and its flush's stalls).

tests/bench/bench_server.py runs its rounds with these and judges the targets; bench_history.py,
cpu_webhook.py, instr_server.py and dated_history.py send the same webhooks."""
from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE.parent))

from serverkit import ADMIN, CLIENT, ORG, SECRET, fresh_database  # noqa: E402
from trimtab.server.core.security import sign  # noqa: E402

WORKERS = 4
REPS = 100          # a team: each webhook is one rep's week, as a platform sends them
WARM_REPS = 8       # the warm-up's own reps, one to each client: never measured
TEAM = {"people": ORG["people"] + [{"id": f"rep{i:03d}", "name": f"rep {i}", "role": "rep",
                                    "region": "east", "manager": "east.mgr", "hrbp": "hr.east"}
                                   for i in range(REPS)]
        + [{"id": f"warm{i}", "name": f"warm {i}", "role": "rep", "region": "east",
            "manager": "east.mgr", "hrbp": "hr.east"} for i in range(WARM_REPS)]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How each server's gunicorn runs.  "shipped": as docs/server.md deploys trimtab — its
# settings module (gthread workers of 8 threads, heartbeats in /dev/shm, the access log, the
# metrics' directory, the GIL's switch interval) — and the bare endpoint with the same worker
# class, threads and heartbeat directory (bare_gunicorn_conf.py), none of trimtab's hooks.
# "sync": both with gunicorn's defaults (sync workers), as this bench ran before 2026-12-03.
GUNICORN = {
    "shipped": {"bare_app:app": ["-c", "python:bare_gunicorn_conf"],
                "trimtab.server.wsgi:app": ["-c", "python:trimtab.server.gunicorn_conf"]},
    "sync": {"bare_app:app": [], "trimtab.server.wsgi:app": []},
}


def start(app_spec: str, env: dict, port: int, settings: Sequence[str] = ()) -> subprocess.Popen:
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), *settings, "-w", str(WORKERS),
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{app_spec} did not start")


@contextmanager
def servers(team: dict, gunicorn: str = "shipped", **settings: str):
    """(bare, its port, trimtab, its port, a connection for the WAL's position): both servers
    under gunicorn (GUNICORN[gunicorn]) on one fresh PostgreSQL database, trimtab's
    organisation chart `team`, and `settings` in the environment of both (TRIMTAB_…); stopped,
    and the database dropped, on leaving."""
    import tempfile
    tmp = Path(tempfile.mkdtemp())
    url, drop = fresh_database("postgresql", tmp)
    env = {**os.environ, "DATABASE_URL": url, "TRIMTAB_RULES": str(ROOT / "rules"),
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN,
           "PYTHONPATH": f"{ROOT}:{HERE}", **settings}
    if gunicorn == "shipped":           # the directory gunicorn_conf would name, in the run's own place
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / "metrics")
    running, wal = [], None
    try:
        subprocess.run([str(Path(sys.executable).parent / "trimtab"), "migrate"], env=env, cwd=tmp,
                       check=True, capture_output=True)
        import psycopg
        wal = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        wal.execute("CREATE TABLE raw_bodies (id SERIAL PRIMARY KEY, body TEXT NOT NULL)")
        bare_port, tt_port = free_port(), free_port()
        for app_spec, port in (("bare_app:app", bare_port), ("trimtab.server.wsgi:app", tt_port)):
            running.append(start(app_spec, env, port, GUNICORN[gunicorn][app_spec]))
        conn = http.client.HTTPConnection("127.0.0.1", tt_port)
        conn.request("POST", "/v1/org/people", body=json.dumps(team),
                     headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
        if conn.getresponse().status != 200:
            raise RuntimeError("the organisation chart was refused")
        yield running[0], bare_port, running[1], tt_port, wal
    finally:
        if wal is not None:
            wal.close()
        for proc in running:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


def cpu_seconds(master_pid: int) -> float:
    """User + system CPU of a gunicorn master's workers so far (Linux /proc)."""
    hz, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:               # ppid
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / hz
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU of every PostgreSQL process so far (backends, WAL writer, …), and of
    the backends that already exited (the postmaster's reaped children: cutime + cstime) — so
    a backend ending during a round, ours or another client's, never makes the sum go down."""
    hz, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            head, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
        except OSError:
            continue
        if head.split("(", 1)[-1].startswith("postgres"):
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / hz
    return total


def machine_cpu() -> tuple[float, float, float]:
    """(busy, idle, steal) CPU seconds of the whole machine so far, all cores (/proc/stat's
    first line: user, nice, system, irq and softirq are busy; idle and iowait idle; steal the
    time the hypervisor gave to others)."""
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq) / hz, (idle + iowait) / hz, steal / hz


def wal_position(conn) -> int:
    """Bytes of WAL PostgreSQL has inserted so far, cluster-wide (exact and immediate, unlike
    pg_stat_wal's counters, which backends report when they get round to it)."""
    return int(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')").fetchone()[0])


def make_requests(n: int, offset: int, team: str = "rep") -> list[tuple[bytes, dict]]:
    """n signed weekly_metrics submissions: reps × weeks, unique deliveries.  `team` names the
    reps (team000 … team099) and their deliveries: a second team starts its history at week 0
    beside the first (tests/bench/bench_history.py)."""
    import datetime as dt
    out, now = [], str(int(time.time()))
    for i in range(n):
        k = offset + i
        week, rep = divmod(k, REPS)                  # week by week across the team
        day = dt.date(2020, 1, 6) + dt.timedelta(weeks=week)
        body = json.dumps({"rep": f"{team}{rep:03d}", "region": "east", "week_start": day.isoformat(),
                           "effective_visits": 5 + k % 9, "meeting_conversion": 0.27,
                           "new_opportunity_amount": 900000, "new_opportunities": 2 + k % 5,
                           "stage_advances": k % 3, "pipeline_coverage": 0.6 + (k % 5) / 10,
                           "weighted_pipeline": 1200000, "conversion_rate": 0.25,
                           "new_customers": 3 + k % 2, "new_visit_records": k % 4,
                           "contract_amount": 540000, "negative_feedback": k % 2}).encode()
        headers = {"Content-Type": "application/json", "X-Trimtab-Client": CLIENT,
                   "X-Trimtab-Timestamp": now, "X-Trimtab-Signature": "sha256=" + sign(SECRET, now, body),
                   "X-Trimtab-Delivery": f"bench-{k}" if team == "rep" else f"bench-{team}-{k}"}
        out.append((body, headers))
    return out


def warm_up_requests(n: int) -> list[tuple[bytes, dict]]:
    """n signed weekly_metrics submissions of the warm-up's reps, in turn, each a week of its
    own: the path the measured webhooks take, on histories nobody measures.  `throughput` gives
    client i every c-th request, so with the default 8 clients each warm-up rep is one
    client's, never sent twice at once."""
    out = []
    for k in range(n):
        week, rep = divmod(k, WARM_REPS)
        (body, headers), = make_requests(1, week * REPS)        # rep000's week, made warm{rep}'s
        body = json.dumps(dict(json.loads(body), rep=f"warm{rep}")).encode()
        now = headers["X-Trimtab-Timestamp"]
        out.append((body, {**headers, "X-Trimtab-Signature": "sha256=" + sign(SECRET, now, body),
                           "X-Trimtab-Delivery": f"warm-{k}"}))
    return out


def send(port, body, headers) -> tuple[int, float]:
    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/hooks/weekly_metrics", body=body, headers=headers)
        status = conn.getresponse()
        status.read()
        conn.close()
        return status.status, time.perf_counter() - t0
    except OSError:                 # refused or reset under overload: an error, not a crash
        return 0, time.perf_counter() - t0


def _closed_loop(args):
    port, requests = args
    started = time.perf_counter()           # CLOCK_MONOTONIC: comparable across processes
    statuses = [send(port, b, h)[0] for b, h in requests]
    return statuses, started, time.perf_counter()


def throughput(pool, port: int, requests, concurrency: int) -> tuple[float, int]:
    """(elapsed seconds, errors) for `requests` from `concurrency` clients of `pool`, timed
    from the first send to the last answer — not the pool's own start-up."""
    chunks = [(port, requests[i::concurrency]) for i in range(concurrency)]
    parts = pool.map(_closed_loop, chunks)
    elapsed = max(end for _, _, end in parts) - min(start for _, start, _ in parts)
    return elapsed, sum(1 for statuses, _, _ in parts for s in statuses if s != 200)


def _open_loop(args):
    port, requests, rate, start_at = args
    out = []
    for i, (b, h) in enumerate(requests):
        due = start_at + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        status, took = send(port, b, h)
        # latency as a client sees it from the scheduled send time (counts queueing delay)
        out.append((status, time.perf_counter() - due))
    return out


class FlushWatch:
    """The longest time, while a latency loop sends, that WAL waited to be flushed and the
    flush did not move: PostgreSQL's insert and flush positions polled every POLL_S on a
    connection of its own.  Every commit waits for its WAL's flush, so a flush that stalls
    holds every worker's answer at once (docs/performance.md, runs of 2026-12-03 12:58–13:53:
    the slowest answers of the rounds whose p99 missed worst came from all four workers at
    once, 42–98 ms each, during flushes that did not move for 55 and 95 ms).  Only the
    loop's own window counts (`longest(start, end)`): before it starts nothing commits, and
    records that need no flush wait for the WAL writer's next round (wal_writer_delay, 200 ms)."""
    POLL_S = 0.005

    def __init__(self, dsn: str):
        import threading
        self.dsn, self.samples, self.stop = dsn, [], threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def _poll(self):
        import psycopg
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                now = time.perf_counter()
                inserted, flush = conn.execute(
                    "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0'), "
                    "pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')").fetchone()
                self.samples.append((now, int(inserted), int(flush)))
                time.sleep(self.POLL_S)

    def longest(self, start: float, end: float) -> float:
        """Seconds of the longest stall between `start` and `end` (perf_counter)."""
        longest, moved_at, flushed = 0.0, None, None
        for now, inserted, flush in self.samples:
            if not start <= now <= end:
                moved_at, flushed = None, flush
                continue
            if moved_at is None or flush != flushed or inserted <= flush:
                moved_at = now          # it moved, or nothing waits: a stall can only begin here
            else:
                longest = max(longest, now - moved_at)
            flushed = flush
        return longest


def latency(port: int, requests, rate: float, procs: int = 4, dsn: str | None = None) -> dict:
    """The open loop's p50/p95/p99 (and every sample); with `dsn`, also the longest stall of
    the WAL's flush while it ran (FlushWatch)."""
    if dsn is not None:
        with FlushWatch(dsn) as watch:
            out = latency(port, requests, rate, procs)
        window = (out["start_at"], out["start_at"] + len(requests) / rate + 0.1)
        return {**out, "flush_stall_ms": watch.longest(*window) * 1000}
    start_at = time.perf_counter() + 0.5
    parts = [(port, requests[i::procs], rate / procs, start_at + i / rate) for i in range(procs)]
    with mp.Pool(procs) as pool:
        results = [r for part in pool.map(_open_loop, parts) for r in part]
    lat = sorted(t * 1000 for _, t in results)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    return {"n": len(lat), "p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99),
            "errors": sum(1 for s, _ in results if s != 200), "samples_ms": lat, "start_at": start_at}
