#!/usr/bin/env python3
"""Replay of recorded facts through two rule-set versions (issue #3: 100,000 in ≤ 20 s).

Builds a throwaway git repository with the shipped rules, commits a second version with one
threshold changed, writes N generated weekly_metrics records as JSON Lines, then times what
`trimtab replay REV1 REV2 --facts FILE --json` does, stage by stage: reading the file, loading
both revisions from git, and the replay itself.

    python tests/bench/bench_replay.py             # 100,000 records
    python tests/bench/bench_replay.py --records 10000
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))

from factgen import weekly_records  # noqa: E402
from gitrepo import RulesRepo  # noqa: E402
from trimtab.dsl.replay import replay  # noqa: E402
from trimtab.dsl.commands.common import read_records  # noqa: E402
from trimtab.dsl.versions import load_revision  # noqa: E402

TARGET_S = 20.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--check", action="store_true", help="exit 1 when over the target")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        repo = RulesRepo(Path(tmp) / "repo")
        first = repo.git("rev-parse", "HEAD")
        repo.edit("rules/health.rules", "pipeline_coverage < 75%", "pipeline_coverage < 70%")
        second = repo.commit("lower the pipeline threshold")
        facts = Path(tmp) / "facts.jsonl"
        with facts.open("w", encoding="utf-8") as out:
            for rec in weekly_records(args.records, reps=500, seed=3):
                out.write(json.dumps(rec, default=float) + "\n")

        t0 = time.perf_counter()
        records = read_records(str(facts))
        t1 = time.perf_counter()
        old, new = load_revision(repo.rules, first), load_revision(repo.rules, second)
        t2 = time.perf_counter()
        report = replay(old, new, records, examples=5)
        t3 = time.perf_counter()
        report.to_json(old, new)
        t4 = time.perf_counter()
    total = t4 - t0
    print(f"replay of {report.records:,} records ({report.decisions:,} decisions, "
          f"{report.changed:,} changed) through two versions:")
    print(f"  read facts {t1 - t0:6.2f} s   load both revisions {t2 - t1:6.2f} s   "
          f"replay {t3 - t2:6.2f} s   report {t4 - t3:6.2f} s")
    print(f"  total {total:.2f} s ({report.records / total:,.0f} records/s); "
          f"target ≤ {TARGET_S:.0f} s → {'met' if total <= TARGET_S else 'NOT met'}")
    return 1 if args.check and total > TARGET_S else 0


if __name__ == "__main__":
    sys.exit(main())
