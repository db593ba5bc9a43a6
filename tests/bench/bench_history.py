#!/usr/bin/env python3
"""What a long history costs a webhook, measured at the same time as a short one.

`bench_server.py` lets history grow round by round, so a later round differs from the first in
two ways at once: the reps' history is longer, and the run is further on (the host's speed
drifts, PostgreSQL's WAL and tables are further along).  Here one trimtab server and the bare
endpoint (gunicorn, PostgreSQL, as in bench_server.py) take webhooks of several teams in the
same slices.  Each round, for each depth d of --depths, a team of 100 reps of its own is filled
to week d (untimed; the bare endpoint stores the same bodies, so both databases grow alike),
then the teams' weeks d … d + 10 and the deepest team's bodies to the bare endpoint are sent in
--slices slices whose order turns, so the machine's noise falls on all alike.

Per round it prints each group's requests a second and CPU a request (gunicorn's workers +
PostgreSQL), each trimtab group's ratio to the bare endpoint, and each depth's throughput as a
share of the shallowest's, measured in the same minute.

The rules are part of the workload: in a rep's first two weeks the alerts that compare two
consecutive weeks cannot fire, and a `baseline` sums up to its window of weeks, so weeks 0–10
ask the rules for a little less than any later ten weeks do (docs/performance.md, 2026-12-01).

Each worker keeps subjects' parsed histories up to TRIMTAB_HISTORY_CACHE_ENTRIES periods
(server/domain/history.py), and a subject's 90 latest periods at most.  The report says how
many the run's teams need; when they are more, the subjects the cache does not keep have their
history read and decoded whole at every webhook — `--cache-entries` sets the servers' room
(the default: the server's own default) to see either case.

    python tests/bench/bench_history.py [--depths 0,100] [--rounds 4] [--requests 1000]
                                        [--slices 4] [--concurrency 8] [--cache-entries N]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhook_load import (GUNICORN, REPS, TEAM, WARM_REPS, cpu_seconds, make_requests,
                          postgres_cpu_seconds, servers, throughput, warm_up_requests)
from trimtab.server.domain.history import CACHE_ENTRIES, KEEP_PERIODS


def team(depth: int, round_no: int) -> str:
    """The name stem of the reps filled to week `depth` for round `round_no` (d100r0x000 …)."""
    return f"d{depth}r{round_no}x"


def people(depths: list[int], rounds: int) -> dict:
    """bench_server's team (its warm-up's reps among them) and a team per depth and round."""
    teams = [{"id": f"{team(d, r)}{i:03d}", "name": f"rep {d}.{r}.{i}", "role": "rep",
              "region": "east", "manager": "east.mgr", "hrbp": "hr.east"}
             for d in depths for r in range(rounds) for i in range(REPS)]
    return {"people": TEAM["people"] + teams}


def timed(clients, proc, port: int, batch, concurrency: int) -> tuple[float, float, float, int]:
    """(elapsed s, the server's workers' CPU s, PostgreSQL's CPU s, errors) of one slice."""
    cpu0, pg0 = cpu_seconds(proc.pid), postgres_cpu_seconds()
    elapsed, errors = throughput(clients, port, batch, concurrency)
    return elapsed, cpu_seconds(proc.pid) - cpu0, postgres_cpu_seconds() - pg0, errors


def fill(clients, ports, name: str, weeks: int, concurrency: int) -> None:
    """Team `name`'s weeks 0 … weeks - 1 to each of `ports`, untimed, ten weeks a batch."""
    for start in range(0, weeks, 10):
        batch = make_requests(min(10, weeks - start) * REPS, start * REPS, team=name)
        for port in ports:
            _elapsed, errors = throughput(clients, port, batch, concurrency)
            if errors:
                raise RuntimeError(f"{errors} of the fill's webhooks failed ({name}, weeks {start}…)")


def run_round(clients, bare, trimtab, round_no: int, args) -> dict:
    """One round: the teams filled, then each group's webhooks in slices, their order turning."""
    for depth in args.depths:
        fill(clients, (bare[1], trimtab[1]), team(depth, round_no), depth, args.concurrency)
    deepest = max(args.depths)
    batches = {"bare": (bare, make_requests(args.requests, deepest * REPS, team=team(deepest, round_no)))}
    for depth in args.depths:
        batches[depth] = (trimtab, make_requests(args.requests, depth * REPS, team=team(depth, round_no)))
    groups = list(batches)
    took = {group: [0.0, 0.0, 0.0, 0] for group in groups}
    size = -(-args.requests // args.slices)
    for n, i in enumerate(range(0, args.requests, size)):
        turn = n % len(groups)
        for group in groups[turn:] + groups[:turn]:
            (proc, port), batch = batches[group]
            for k, v in enumerate(timed(clients, proc, port, batch[i:i + size], args.concurrency)):
                took[group][k] += v
    out = {"errors": sum(t[3] for t in took.values())}
    for group, (elapsed, cpu, pg, _errors) in took.items():
        out[group] = {"rps": args.requests / elapsed, "cpu_ms": cpu / args.requests * 1000,
                      "pg_ms": pg / args.requests * 1000}
    return out


def report(rounds: list[dict], args) -> None:
    depths, weeks = args.depths, args.requests // REPS
    print(f"gunicorn ({args.gunicorn}), PostgreSQL; {args.rounds} rounds, each: a team of {REPS} reps filled to week "
          f"d for each d of {', '.join(map(str, depths))}, then {args.requests:,} webhooks of each "
          f"team's next {weeks} weeks and as many to the bare endpoint, in {args.slices} turning "
          f"slices from {args.concurrency} concurrent clients")
    print("  round   bare req/s (CPU/req: worker+PG)"
          + "".join(f"   weeks {d}–{d + weeks}: req/s (CPU), ÷ bare" for d in depths)
          + "".join(f"   {d}–{d + weeks} ÷ {depths[0]}–{depths[0] + weeks}" for d in depths[1:]))
    for i, r in enumerate(rounds, 1):
        b = r["bare"]
        line = f"  {i:5d}   {b['rps']:10.0f} ({b['cpu_ms']:.2f}+{b['pg_ms']:.2f} ms)"
        for d in depths:
            g = r[d]
            line += f"   {g['rps']:6.0f} ({g['cpu_ms']:.2f}+{g['pg_ms']:.2f} ms), {g['rps'] / b['rps']:5.1%}"
        for d in depths[1:]:
            line += f"   {r[d]['rps'] / r[depths[0]]['rps']:12.1%}"
        print(line + (f"   ({r['errors']} errors)" if r["errors"] else ""))
    summary = []
    for d in depths:
        to_bare = [r[d]["rps"] / r["bare"]["rps"] for r in rounds]
        summary.append(f"weeks {d}–{d + weeks} {statistics.median(to_bare):.1%} of bare "
                       f"(lowest {min(to_bare):.1%})")
    print("  median  " + "; ".join(summary))
    for d in depths[1:]:
        share = [r[d]["rps"] / r[depths[0]]["rps"] for r in rounds]
        print(f"  weeks {d}–{d + weeks} ÷ weeks {depths[0]}–{depths[0] + weeks}: median "
              f"{statistics.median(share):.1%} (rounds {min(share):.1%}–{max(share):.1%})")
    print(f"  errors {sum(r['errors'] for r in rounds)}")
    room = args.cache_entries or CACHE_ENTRIES
    print(f"  history a worker would keep of these teams: {needed(args):,} periods; its room "
          f"(TRIMTAB_HISTORY_CACHE_ENTRIES): {room:,}"
          + (" — more than its room: some subjects' histories are read whole at every webhook"
             if needed(args) > room else ""))


def needed(args) -> int:
    """Periods of parsed history a worker would hold to keep every subject a round sends
    webhooks of (an earlier round's teams are idle, so the first to go): each team's, up to
    the 90 latest a subject keeps, and the warm-up's 25 weeks of 8 reps."""
    weeks = args.requests // REPS
    return (REPS * sum(min(d + weeks, KEEP_PERIODS) for d in args.depths)
            + WARM_REPS * min(-(-200 // WARM_REPS), KEEP_PERIODS))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depths", default="0,100",
                    type=lambda v: sorted({int(d) for d in v.split(",")}),
                    help="weeks of history each team has before it is timed")
    ap.add_argument("--rounds", type=int, default=4, help="each with teams of its own")
    ap.add_argument("--requests", type=int, default=1000, help="webhooks of each group a round")
    ap.add_argument("--slices", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--cache-entries", type=int, default=None,
                    help="TRIMTAB_HISTORY_CACHE_ENTRIES for trimtab's workers (default: the server's)")
    ap.add_argument("--gunicorn", choices=sorted(GUNICORN), default="shipped",
                    help="shipped: trimtab's gunicorn settings (gthread); sync: gunicorn's defaults")
    args = ap.parse_args(argv)
    started = time.monotonic()
    # the clients forked, so they are this process's children (cpu_seconds counts them)
    settings = {} if args.cache_entries is None else \
        {"TRIMTAB_HISTORY_CACHE_ENTRIES": str(args.cache_entries)}
    with servers(people(args.depths, args.rounds), args.gunicorn, **settings) as (bare, bare_port, tt, tt_port, _wal), \
            mp.get_context("fork").Pool(args.concurrency) as clients:
        for port in (bare_port, tt_port):
            _elapsed, errors = throughput(clients, port, warm_up_requests(200), args.concurrency)
            if errors:
                raise RuntimeError(f"{errors} of the warm-up's webhooks failed")
        rounds = [run_round(clients, (bare, bare_port), (tt, tt_port), r, args)
                  for r in range(args.rounds)]
    report(rounds, args)
    print(f"  ({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
