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

`--variant SQL`: a second database, migrated alike and then changed by SQL (an index dropped, a
trigger replaced…), takes the same webhooks in chunks that alternate with the first's, and the
report ends with the variant's PostgreSQL CPU a webhook ÷ today's schema's, chunk pair by chunk
pair: a schema change measured side by side with the backends' own CPU, so other processes'
work, which swamps a change of 10% under gunicorn, does not count; the host's own changes of
speed still do.  `--variant "SELECT 1"` measures that spread (on 2026-12-03's AMD EPYC host the
median of 40 pairs of 500 webhooks came within ±3% of 1; docs/performance.md).

    python tests/bench/cpu_webhook.py [--at 0,100] [--weeks 10] [--check-s 0.15] [--eval] [--analyze]
                                      [--variant SQL]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import psycopg  # noqa: E402
from webhook_load import REPS, TEAM, make_requests  # noqa: E402
from serverkit import PG_ADMIN, fresh_database, load_org, make_app  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
CHUNK = 200                 # webhooks per timed chunk (CPU from /proc counts in 10 ms ticks: --chunk)


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


class Side(NamedTuple):
    """One database and the app on it."""
    name: str
    url: str
    database: str
    app: object
    client: object


def open_side(name: str, config: dict, change: str | None = None) -> tuple[Side, callable]:
    """A fresh database with the app on it (migrated, the team loaded), then `change` run
    on it; (the side, its cleanup)."""
    url, drop = fresh_database("postgresql", Path(tempfile.mkdtemp()))
    app = make_app(url, **config)
    load_org(app, TEAM)
    if change:
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as own:
            own.execute(change)
    return Side(name, url, url.rsplit("/", 1)[1], app, app.test_client()), drop


def report(side: Side, start: int, week: int, chunk: int, chunks: list, evaluated: float | None) -> list:
    """Print one side's line for a measured batch; its chunks' (worker, PG, WAL) a webhook."""
    per = [(c[0] / chunk * 1000, c[1] / chunk * 1000, c[2] / chunk / 1024) for c in chunks]
    errors = sum(c[3] for c in chunks)
    print(f"{side.name}weeks {start:3d}–{week:<3d}  per webhook, lowest / median of {len(per)} "
          f"chunks of {chunk}: worker {min(p[0] for p in per):.3f} / "
          f"{statistics.median(p[0] for p in per):.3f} ms  PG "
          f"{min(p[1] for p in per):.3f} / {statistics.median(p[1] for p in per):.3f} ms  "
          f"worker+PG {min(p[0] + p[1] for p in per):.3f} / "
          f"{statistics.median(p[0] + p[1] for p in per):.3f} ms  "
          f"WAL {statistics.median(p[2] for p in per):.2f} KiB"
          + (f"  evaluate {evaluated:.3f} ms" if evaluated is not None else "")
          + (f"  ({errors} errors)" if errors else ""), flush=True)
    return per


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
    ap.add_argument("--chunk", type=int, default=CHUNK,
                    help="webhooks a timed chunk (a side's chunk of 200 is about 150 ms of PostgreSQL's "
                         "CPU, counted in 10 ms ticks: larger for a side-by-side figure)")
    ap.add_argument("--variant", metavar="SQL",
                    help="also a second database changed by SQL, its chunks alternating with the first's")
    args = ap.parse_args(argv)
    clock = EvalClock()
    if args.eval:
        from trimtab.server.domain import plan
        plan.evaluate = clock.wrap(plan.evaluate)   # this process only: a bench, not a test
    config = {} if args.check_s is None else {"RULES_CHECK_S": args.check_s}
    sides, drops = [], []
    try:
        # each line names its side only when there are two
        for name, change in ((("today   ", None), ("variant ", args.variant)) if args.variant
                             else (("", None),)):
            side, drop = open_side(name, config, change)
            sides.append(side)
            drops.append(drop)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            week = 0
            for start in (int(w) for w in args.at.split(",")):
                for side in sides:
                    if start > week:                     # fill, unmeasured
                        run(side.client, admin, side.database,
                            make_requests((start - week) * REPS, week * REPS))
                    if args.analyze:
                        with psycopg.connect(side.url.replace("postgresql+psycopg", "postgresql"),
                                             autocommit=True) as own:
                            own.execute("ANALYZE")
                n = args.weeks * REPS
                batch = make_requests(n, start * REPS)
                # In chunks, the sides taking turns: a neighbour's burst inflates the CPU of a
                # chunk it overlaps, never deflates it, so the least loaded chunk is the best
                # estimate beside the median.
                spent0 = clock.spent
                chunks: list[list] = [[] for _ in sides]
                for i in range(0, n, args.chunk):
                    for side, got in zip(sides, chunks):
                        got.append(run(side.client, admin, side.database, batch[i:i + args.chunk]))
                evaluated = (clock.spent - spent0) / n / len(sides) * 1000 if args.eval else None
                week = start + args.weeks
                per = [report(side, start, week, args.chunk, got, evaluated) for side, got in zip(sides, chunks)]
                if args.variant:
                    ratios = [b[1] / a[1] for a, b in zip(*per) if a[1] > 0]
                    print(f"  variant ÷ today, PostgreSQL's CPU a webhook, chunk pair by chunk pair: "
                          f"median {statistics.median(ratios):.3f} (from {min(ratios):.3f} to "
                          f"{max(ratios):.3f}, {len(ratios)} pairs)", flush=True)
    finally:
        for side in sides:
            side.app.extensions["trimtab.engine"].dispose()
        if args.keep:
            print("kept:", ", ".join(side.url for side in sides))
        else:
            for drop in drops:
                drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
