#!/usr/bin/env python3
"""The rules server under gunicorn with PostgreSQL, side by side with a bare Flask endpoint
that only inserts the raw body into the same database, same gunicorn settings.

1. throughput: a closed loop of C concurrent clients sending N signed weekly_metrics webhooks
   (week by week for a team of 100 reps, so each rep's history grows as in production) →
   requests/s and worker CPU per request for each server; the ratio trimtab / bare is what
   counts (target ≥ 60%);
2. latency: an open loop at R requests/s for S seconds against trimtab → p50/p95/p99
   (target p99 < 20 ms at 200 requests/s).

Both servers run at once; within each round the throughput webhooks go in slices, bare then
trimtab, and the latency loops follow each other, so the machine's noise (it is large here)
falls on both alike; the medians of the rounds are the figures.  Throughput is timed from
the first request sent to the last answer, by the clients themselves.

Each round also prints the WAL each server's webhooks wrote, in KB a webhook (PostgreSQL's
insert position before and after each slice): whenever 16 MB of it have been written and no
recycled segment file is at hand, the backend that needs the next one makes it, zero-filled,
while every commit waits — the latency tail's spikes on this machine (docs/performance.md).

Both servers run as trimtab ships (`--gunicorn shipped`, the default: gthread workers and
trimtab's settings module, GUNICORN below) or with gunicorn's defaults (`--gunicorn sync`, the
bench's way before 2026-12-03).

Clients are separate processes (so the load generator does not share trimtab's interpreter)
on this same 2-core machine; everything stays on 127.0.0.1.

Before the first round both servers answer --warm webhooks, untimed, of 8 reps of their own
(with 8 clients, one to each; a week apiece, so no two at once for one rep, and the measured
reps' history untouched): each worker has connected, prepared its statements and loaded what it
loads on first use before anything is timed (without it, the first round paid for that —
the bare endpoint's connections, SQLAlchemy's dialect — inside its first slice:
docs/performance.md, 2026-12-01).  A second table says where each server's time a request
went: the wall time, the machine's busy, idle and stolen CPU (/proc/stat, both cores) and the
part of it the clients (and the two gunicorn masters) took; on 2 cores, wall ≈ (busy + idle +
steal) / 2.

Each round adds 20 weeks of history per rep (1,000 throughput webhooks, then 1,000 in the
open loop, for 100 reps), so the sixth round's throughput runs at weeks 100–110: the ratio is
printed per round, beside the weeks of history the round ran at, and must not fall as they grow.

The report ends with the issue's three targets judged on this run — throughput ≥ 60% of bare in
every round, p99 < 20 ms in every round (a miss names the bare endpoint's p99 in that round: a
tail both share is the host's), the last round's ratio not below the first's — and `--check`
exits 1 unless all three hold.  Three more lines, not judged, read the same run whole: the p99
of all its latency samples together; the longest time in each latency loop that PostgreSQL's
WAL waited to be flushed and the flush did not move (every commit waits on it, so such a stall
holds every worker's answers at once: a p99 miss names the stall of its loop); and the ratio's
least-squares trend through every round.

    python tests/bench/bench_server.py [--rounds 6] [--requests 1000] [--slices 4] [--concurrency 8]
                                       [--rate 200] [--seconds 5] [--warm 200] [--check]
                                       [--gunicorn shipped|sync]
"""
from __future__ import annotations

import argparse
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


def _send(port, body, headers) -> tuple[int, float]:
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
    statuses = [_send(port, b, h)[0] for b, h in requests]
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
        status, took = _send(port, b, h)
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=1000, help="webhooks per server per round")
    ap.add_argument("--rounds", type=int, default=6, help="each adds 20 weeks of history (defaults)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--slices", type=int, default=4, help="bare/trimtab alternations per round")
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the three targets hold in this run")
    ap.add_argument("--seconds", type=float, default=5, help="open-loop seconds per round")
    ap.add_argument("--warm", type=int, default=200,
                    help="untimed webhooks to each server before the first round")
    ap.add_argument("--gunicorn", choices=sorted(GUNICORN), default="shipped",
                    help="shipped: trimtab's gunicorn settings (gthread); sync: gunicorn's defaults")
    args = ap.parse_args(argv)
    import statistics
    # the clients forked, so they are this process's children (cpu_seconds counts them)
    with servers(TEAM, args.gunicorn) as (bare, bare_port, tt, tt_port, wal), \
            mp.get_context("fork").Pool(args.concurrency) as clients:
        # Rounds alternate the two servers, and within a round the webhooks go in slices, bare
        # then trimtab, so the machine's noise (it is large here) falls on both alike; the
        # figure that counts is the median of the per-round ratios.
        rounds, offset = [], 0
        if args.warm:
            warm = warm_up_requests(args.warm)
            for port in (bare_port, tt_port):
                _elapsed, errors = throughput(clients, port, warm, args.concurrency)
                if errors:
                    raise RuntimeError(f"{errors} of the warm-up's {len(warm)} webhooks failed")
        for _ in range(args.rounds):
            weeks = (offset // REPS, (offset + args.requests) // REPS)
            batch = make_requests(args.requests, offset)
            offset += args.requests
            # s, CPU, PG, errors, WAL bytes, machine busy s, idle s, clients' CPU s, steal s
            took = {name: [0.0, 0.0, 0.0, 0, 0, 0.0, 0.0, 0.0, 0.0] for name in ("bare", "tt")}
            size = -(-len(batch) // args.slices)
            for i in range(0, len(batch), size):
                for name, proc, port in (("bare", bare, bare_port), ("tt", tt, tt_port)):
                    cpu0, pg0, wal0 = cpu_seconds(proc.pid), postgres_cpu_seconds(), wal_position(wal)
                    mine0 = cpu_seconds(os.getpid())
                    busy0, idle0, steal0 = machine_cpu()
                    elapsed, errors = throughput(clients, port, batch[i:i + size], args.concurrency)
                    busy1, idle1, steal1 = machine_cpu()
                    mine1 = cpu_seconds(os.getpid())
                    t = took[name]
                    t[5] += busy1 - busy0
                    t[6] += idle1 - idle0
                    t[7] += mine1 - mine0
                    t[8] += steal1 - steal0
                    t[4] += wal_position(wal) - wal0
                    t[0] += elapsed
                    t[1] += cpu_seconds(proc.pid) - cpu0
                    t[2] += postgres_cpu_seconds() - pg0
                    t[3] += errors
            bare_rps, bare_cpu, bare_pg = (len(batch) / took["bare"][0], took["bare"][1] / len(batch),
                                           took["bare"][2] / len(batch))
            tt_rps, tt_cpu, tt_pg = (len(batch) / took["tt"][0], took["tt"][1] / len(batch),
                                     took["tt"][2] / len(batch))
            bare_err, tt_err = took["bare"][3], took["tt"][3]
            n = int(args.rate * args.seconds)
            # The same open loop against the bare endpoint: the machine's own latency tail.
            dsn = wal.info.dsn
            bare_lat = latency(bare_port, make_requests(n, offset), args.rate, dsn=dsn)
            lat = latency(tt_port, make_requests(n, offset), args.rate, dsn=dsn)
            offset += n
            rounds.append({"weeks": weeks, "bare_rps": bare_rps, "bare_cpu": bare_cpu, "tt_rps": tt_rps,
                           "tt_cpu": tt_cpu, "bare_pg": bare_pg, "tt_pg": tt_pg,
                           "bare_p99_ms": bare_lat["p99_ms"], "bare_flush_stall_ms": bare_lat["flush_stall_ms"],
                           "bare_wal": took["bare"][4] / len(batch), "tt_wal": took["tt"][4] / len(batch),
                           **{f"{name}_{key}": took[name][i] / len(batch) for name in ("bare", "tt")
                              for i, key in ((0, "wall"), (5, "busy"), (6, "idle"), (8, "steal"),
                                             (7, "clients"))},
                           "errors": bare_err + tt_err + lat["errors"] + bare_lat["errors"], **lat})
    workers = ("gthread workers of 8 threads, trimtab's settings" if args.gunicorn == "shipped"
               else "sync workers")
    print(f"gunicorn, {WORKERS} {workers}, PostgreSQL; {args.warm} untimed webhooks to each, then "
          f"{args.rounds} rounds of {args.requests:,} "
          f"webhooks per server in {args.slices} alternating slices from {args.concurrency} "
          f"concurrent clients, then "
          f"{args.seconds:.0f} s at {args.rate:.0f} req/s")
    print("  round   bare req/s (CPU/req: worker+PG)   trimtab req/s (CPU/req: worker+PG)   ratio   "
          "trimtab p50/p95/p99 ms   bare p99 ms   history (weeks)   WAL KB/webhook: bare / trimtab")
    for i, r in enumerate(rounds, 1):
        print(f"  {i:5d}   {r['bare_rps']:10.0f} ({r['bare_cpu'] * 1000:.2f}+{r['bare_pg'] * 1000:.2f} ms)   "
              f"{r['tt_rps']:13.0f} ({r['tt_cpu'] * 1000:.2f}+{r['tt_pg'] * 1000:.2f} ms)   "
              f"{r['tt_rps'] / r['bare_rps']:6.1%}  "
              f"{r['p50_ms']:6.1f} / {r['p95_ms']:.1f} / {r['p99_ms']:.1f}   {r['bare_p99_ms']:8.1f}"
              f"   {r['weeks'][0]:6d}–{r['weeks'][1]}"
              f"   {r['bare_wal'] / 1024:12.1f} / {r['tt_wal'] / 1024:.1f}"
              + (f"   ({r['errors']} errors)" if r["errors"] else ""))
    print("  where a request's time went, ms a request (bare / trimtab):")
    print("  round   " + "".join(f"{head:18s}" for head in ("wall", "machine busy", "machine idle",
                                                            "machine steal", "clients, masters")).rstrip())
    for i, r in enumerate(rounds, 1):
        print(f"  {i:5d}   " + "".join(f"{r['bare_' + key] * 1000:.3f} / {r['tt_' + key] * 1000:<6.3f}    "
                                        for key in ("wall", "busy", "idle", "steal", "clients")).rstrip())
    ratio = statistics.median(r["tt_rps"] / r["bare_rps"] for r in rounds)
    p99 = statistics.median(r["p99_ms"] for r in rounds)
    bare_p99 = statistics.median(r["bare_p99_ms"] for r in rounds)
    print(f"  median  throughput {ratio:.1%} of bare (target ≥ 60%); p99 {p99:.1f} ms at "
          f"{args.rate:.0f} req/s (target < 20 ms; the bare endpoint's {bare_p99:.1f} ms); "
          f"errors {sum(r['errors'] for r in rounds)}")
    met = verdicts(rounds)
    for line in met.values():
        print("  " + line[1])
    for line in beside_the_targets(rounds):
        print("  " + line)
    held = sum(ok for ok, _line in met.values())
    print(f"  this run: {held} of {len(met)} targets met"
          + (" — all" if held == len(met) else ""))
    return 1 if args.check and held < len(met) else 0


def beside_the_targets(rounds: list[dict]) -> list[str]:
    """Readings of the same run that `--check` does not judge: the p99 of all the run's
    latency samples together, the longest stall of the WAL's flush in each round's latency
    loops (FlushWatch), and the ratio's trend over every round (a least-squares line
    through the rounds' ratios against the weeks they ran at) — where the targets' lines
    judge each round alone and the last round against the first, two samples whose noise here
    is ±5–7 points (docs/performance.md)."""
    pooled = sorted(t for r in rounds for t in r["samples_ms"])
    p99 = pooled[min(len(pooled) - 1, int(0.99 * len(pooled)))]
    out = [f"(not judged) p99 of the run's {len(pooled):,} latency samples together: {p99:.1f} ms"]
    if all("flush_stall_ms" in r for r in rounds):
        out.append("(not judged) the longest stall of the WAL's flush in each round's latency loops, ms "
                   "(bare / trimtab): " + ", ".join(f"{r['bare_flush_stall_ms']:.0f} / {r['flush_stall_ms']:.0f}"
                                                   for r in rounds))
    if len(rounds) > 2:
        import statistics
        weeks = [sum(r["weeks"]) / 2 for r in rounds]
        ratios = [r["tt_rps"] / r["bare_rps"] for r in rounds]
        fit = statistics.linear_regression(weeks, ratios)
        out.append(f"(not judged) the ratio's trend through all {len(rounds)} rounds: "
                   f"{fit.slope * 100 * 100:+.1f} points per 100 weeks of history")
    return out


def verdicts(rounds: list[dict]) -> dict[str, tuple[bool, str]]:
    """The issue's three server targets, judged on this run's rounds → name: (met, the line
    that says so).  To a tenth of a point and a tenth of a millisecond, as printed: 59.96% is
    shown as 60.0% and met; 59.6% is a miss, not "60%".  A round with errors meets nothing."""
    ratios = [round(r["tt_rps"] / r["bare_rps"], 3) for r in rounds]
    errors = sum(r["errors"] for r in rounds)
    low = min(range(len(ratios)), key=ratios.__getitem__)
    throughput_ok = ratios[low] >= 0.600 and not errors
    slow = [(i, r) for i, r in enumerate(rounds, 1) if round(r["p99_ms"], 1) >= 20.0]
    tail_ok = not slow and not errors
    tail = "; ".join(f"round {i}: {r['p99_ms']:.1f} ms, the bare endpoint's {r['bare_p99_ms']:.1f}"
                     + (f"; the WAL's flush stalled {r['flush_stall_ms']:.0f} ms in that loop"
                        if "flush_stall_ms" in r else "")
                     for i, r in slow) or f"highest {max(r['p99_ms'] for r in rounds):.1f} ms"
    fall_ok = ratios[-1] >= ratios[0] and not errors
    first, last = (f"{ratios[i]:.1%} at weeks {rounds[i]['weeks'][0]}–{rounds[i]['weeks'][1]}"
                   for i in (0, -1))
    return {
        "throughput": (throughput_ok, f"throughput ≥ 60% of bare in every round: "
                                      f"{'met' if throughput_ok else 'MISSED'} (lowest {ratios[low]:.1%}, "
                                      f"round {low + 1}{f'; {errors} errors' if errors else ''})"),
        "p99": (tail_ok, f"p99 < 20 ms in every round: {'met' if tail_ok else 'MISSED'} ({tail})"),
        "not falling": (fall_ok, f"not falling as history grows (the last round's ratio not below the "
                                 f"first's): {'met' if fall_ok else 'MISSED'} ({first} → {last})"),
    }


if __name__ == "__main__":
    sys.exit(main())
