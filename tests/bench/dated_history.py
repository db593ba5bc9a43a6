#!/usr/bin/env python3
"""The rules' evaluation of a webhook on the history the server's cache hands them — dated
once (periods.Dated) or plain (each entry dated again, as before) — at two depths of history.

The app runs in this process on a fresh PostgreSQL database and takes the same signed
weekly_metrics webhooks as tests/bench/bench_server.py (100 reps, week by week) up to each
depth; then each rep's next webhook is evaluated as the server does (plan.evaluate, traced,
with the history its cache holds), in rounds alternating dated and plain so a neighbour's load
falls on both alike.  CPU by time.process_time, per webhook, median of the rounds.

    python tests/bench/dated_history.py [--at 2,100] [--rounds 15]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from webhook_load import REPS, TEAM, make_requests  # noqa: E402
from serverkit import fresh_database, load_org, make_app  # noqa: E402
from trimtab.dsl import periods  # noqa: E402
from trimtab.server.domain import history, plan  # noqa: E402

FORM = "weekly_metrics"


def cases(app, week: int) -> tuple:
    """The rule set, and (facts, history, day) of each rep's webhook of `week` with the history
    its cache reads (history.read, as the transactional path reads it)."""
    rules, cache = app.extensions["trimtab.rules"].current, app.extensions["trimtab.history"]
    out = []
    with app.extensions["trimtab.sessions"]() as session:
        for body, _headers in make_requests(REPS, week * REPS):
            facts = rules.fractions(FORM, json.loads(body))
            day = dt.date.fromisoformat(facts["week_start"])
            earlier = history.read(session, rules, FORM, facts["rep"],
                                   periods.period_key("week", day), cache)
            assert earlier.__class__ is periods.Dated
            out.append((facts, earlier, day))
    return rules, out


def timed(rules, batch, plain: bool) -> float:
    t0 = time.process_time()
    for facts, earlier, day in batch:
        plan.evaluate(rules, FORM, facts, list(earlier) if plain else earlier, day)
    return (time.process_time() - t0) / len(batch) * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--at", default="2,100", help="weeks of history the evaluated webhooks are at")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    url, drop = fresh_database("postgresql", Path(tempfile.mkdtemp()))
    app = make_app(url)
    try:
        load_org(app, TEAM)
        client = app.test_client()
        week = 0
        for at in (int(w) for w in args.at.split(",")):
            for body, headers in make_requests((at - week) * REPS, week * REPS):
                assert client.post(f"/hooks/{FORM}", data=body, headers=headers).status_code == 200
            week = at
            rules, batch = cases(app, at)
            figures = {"plain": [], "dated": []}
            for _round in range(args.rounds):
                figures["plain"].append(timed(rules, batch, True))
                figures["dated"].append(timed(rules, batch, False))
            entries = statistics.mean(len(e) for _f, e, _d in batch)
            print(f"week {at:3d} ({entries:.0f} earlier entries): evaluation per webhook, median of "
                  f"{args.rounds} rounds of {len(batch)}: plain {statistics.median(figures['plain']):.3f} ms, "
                  f"dated {statistics.median(figures['dated']):.3f} ms", flush=True)
    finally:
        app.extensions["trimtab.engine"].dispose()
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
