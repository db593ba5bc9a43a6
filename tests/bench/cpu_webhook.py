#!/usr/bin/env python3
"""CPU per webhook in one process: the worker's own CPU and the PostgreSQL backends serving its
connections (not other clients'), at two depths of history, with WAL bytes per webhook.

The app runs in this process on a fresh PostgreSQL database; the same signed weekly_metrics
webhooks as tests/bench/bench_server.py (a team of 100 reps, week by week) go through Flask's
test client one after another.  Measured: weeks 0–10, then (after filling up to week 100
unmeasured) weeks 100–110.  CPU is user + system from /proc, so other processes on a shared
machine do not count; WAL is the cluster's (other clients' writes count: read it on a quiet
machine, or as an upper bound).  `--eval`: also the worker's CPU inside plan.evaluate (the rules'
evaluation with the history already read) per webhook.  `--analyze`: ANALYZE the database once
filled, as autovacuum would in production (this machine's PostgreSQL runs without it, so the
benches' plans are made without statistics).

    python tests/bench/cpu_webhook.py [--at 0,100] [--weeks 10] [--check-s 0.15] [--eval] [--analyze]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import psycopg  # noqa: E402
from bench_server import REPS, TEAM, make_requests  # noqa: E402
from serverkit import PG_ADMIN, fresh_database, load_org, make_app  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
CHUNK = 200                 # webhooks per timed chunk (CPU from /proc counts in 10 ms ticks)


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / HZ


def backends(admin, database: str) -> list[int]:
    return [r[0] for r in admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,)).fetchall()]


class EvalClock:
    """The CPU spent inside plan.evaluate, wrapped while the bench runs."""

    def __init__(self):
        self.spent = 0.0

    def wrap(self, evaluate):
        def timed(*args, **kw):
            t0 = time.process_time()
            try:
                return evaluate(*args, **kw)
            finally:
                self.spent += time.process_time() - t0
        return timed


def run(client, admin, database: str, batch) -> tuple[float, float, float, int]:
    """(worker CPU s, PG backend CPU s, WAL bytes, errors) for `batch`."""
    pids = backends(admin, database)
    pg0 = {p: proc_cpu(p) for p in pids}
    wal0 = admin.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    cpu0 = time.process_time()
    errors = 0
    for body, headers in batch:
        r = client.post("/hooks/weekly_metrics", data=body, headers=headers)
        errors += r.status_code != 200
    cpu = time.process_time() - cpu0
    wal = admin.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (wal0,)).fetchone()[0]
    pg = sum(proc_cpu(p) - pg0.get(p, 0.0) for p in set(pids) | set(backends(admin, database)))
    return cpu, pg, float(wal), errors


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--at", default="0,100", help="weeks of history the measured batches start at")
    ap.add_argument("--weeks", type=int, default=10, help="weeks per measured batch")
    ap.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    ap.add_argument("--check-s", type=float, default=None,
                    help="RULES_CHECK_S: how often the rule set is checked (a gunicorn worker "
                         "under the bench sees a check every 25-45 webhooks)")
    ap.add_argument("--eval", action="store_true", help="also the CPU inside plan.evaluate")
    ap.add_argument("--analyze", action="store_true",
                    help="ANALYZE the database after each fill, as autovacuum would (off here)")
    args = ap.parse_args(argv)
    clock = EvalClock()
    if args.eval:
        from trimtab.server.domain import plan
        plan.evaluate = clock.wrap(plan.evaluate)   # this process only: a bench, not a test
    url, drop = fresh_database("postgresql", Path(tempfile.mkdtemp()))
    database = url.rsplit("/", 1)[1]
    app = make_app(url, **({} if args.check_s is None else {"RULES_CHECK_S": args.check_s}))
    try:
        load_org(app, TEAM)
        client = app.test_client()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            week = 0
            for start in (int(w) for w in args.at.split(",")):
                if start > week:                         # fill, unmeasured
                    run(client, admin, database, make_requests((start - week) * REPS, week * REPS))
                if args.analyze:
                    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"),
                                         autocommit=True) as own:
                        own.execute("ANALYZE")
                n = args.weeks * REPS
                batch = make_requests(n, start * REPS)
                # In chunks: a neighbour's burst inflates the CPU of a chunk it overlaps, never
                # deflates it, so the least loaded chunk is the best estimate beside the median.
                spent0 = clock.spent
                chunks = [run(client, admin, database, batch[i:i + CHUNK])
                          for i in range(0, n, CHUNK)]
                evaluated = (clock.spent - spent0) / n * 1000
                week = start + args.weeks
                per = [(c[0] / CHUNK * 1000, c[1] / CHUNK * 1000, c[2] / CHUNK / 1024) for c in chunks]
                errors = sum(c[3] for c in chunks)
                print(f"weeks {start:3d}–{week:<3d}  per webhook, lowest / median of {len(per)} "
                      f"chunks of {CHUNK}: worker {min(p[0] for p in per):.3f} / "
                      f"{statistics.median(p[0] for p in per):.3f} ms  PG "
                      f"{min(p[1] for p in per):.3f} / {statistics.median(p[1] for p in per):.3f} ms  "
                      f"worker+PG {min(p[0] + p[1] for p in per):.3f} / "
                      f"{statistics.median(p[0] + p[1] for p in per):.3f} ms  "
                      f"WAL {statistics.median(p[2] for p in per):.2f} KiB"
                      + (f"  evaluate {evaluated:.3f} ms" if args.eval else "")
                      + (f"  ({errors} errors)" if errors else ""), flush=True)
    finally:
        app.extensions["trimtab.engine"].dispose()
        if args.keep:
            print("kept:", url)
        else:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
