#!/usr/bin/env python3
"""Instructions of a webhook's plan (server/domain/plan.make) under callgrind: a fired-alert
weekly_metrics webhook with four weeks of history, on the shipped rules.

Counted apart: `plan.make` (the rules evaluated, traced, and each decision's stored document
and answer), `plan.evaluate` alone (the rules), and so the documents (the difference).  No
database, no Flask: what is left of the webhook's CPU around them is in cpu_webhook.py.

    .venv/bin/python tests/bench/instr_plan.py [-n 300]        # runs itself under callgrind

`--tree DIR` counts another checkout's plan (e.g. a worktree of the commit before a change):
its dsl/ and server/ are imported instead of this one's, through a `trimtab` package of
links made in a temporary directory.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))


def weeks() -> list[dict]:
    """Weeks 1–5 of a rep; the fifth fires 健康度黄灯, 合同额下滑 and more."""
    from serverkit import week
    out = [week(n, 5, 0.9) for n in range(1, 5)]
    return out + [dict(week(5, 2, 0.5), contract_amount=100000, negative_feedback=4)]


def planning(lang: str):
    """(plan.make with its arguments bound, plan.evaluate likewise)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from trimtab.dsl.ruleset import default_schemas_dir, load
    from trimtab.server.domain import plan as plans
    from trimtab.server.domain.filing import file
    from trimtab.server.domain.validation import decode
    rules = ROOT / "rules"
    ruleset = load(str(rules), default_schemas_dir(str(rules)))
    schema = ruleset.schemas["weekly_metrics"]
    raws = [json.dumps(w, ensure_ascii=False).encode() for w in weeks()]
    *history, facts = [decode(schema, raw) for raw in raws]
    assert facts is not None and all(h is not None for h in history)
    filing = file(schema, facts, ZoneInfo("Asia/Shanghai"))
    sub = plans.Submission("weekly_metrics", facts, raws[-1], raws[-1].decode(), "platform", "d-1",
                           None, lang, checked=True)
    made = plans.make(ruleset, sub, "0" * 64, filing, history)
    fired = [d.rule for d in made.decisions if d.kind == "alert" and d.value]
    assert fired, "no alert fired"
    day: dt.date = filing.day
    return ((lambda: plans.make(ruleset, sub, "0" * 64, filing, history)),
            (lambda: plans.evaluate(ruleset, sub.form, facts, history, day)), fired)


def run(n: int, lang: str) -> None:
    from trimtab.dsl import limits
    limits.LOAD_BUDGET_S = math.inf     # loading the rules under callgrind is ~50× slower
    make, evaluate, fired = planning(lang)
    for fn in (make, evaluate):
        for _ in range(n // 5):         # warm-up: the interpreter specialises its bytecode
            fn()
        os.getppid()                    # callgrind dumps here: setup and warm-up …
        for _ in range(n):
            fn()
        os.getppid()                    # … and here: this phase
    from trimtab.server.domain import plan as plans
    print(json.dumps({"fired": fired, "plan": str(Path(plans.__file__).resolve())}))


def measure(n: int, lang: str, tree: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONHASHSEED="0")
        if tree:                        # a `trimtab` package whose parts are the other tree's
            pkg = Path(tmp) / "pkg" / "trimtab"
            pkg.mkdir(parents=True)
            (pkg / "__init__.py").write_text("")
            for part in ("dsl", "server"):
                (pkg / part).symlink_to(Path(tree).resolve() / part)
            env["PYTHONPATH"] = str(pkg.parent)
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
             f"--callgrind-out-file={tmp}/cg.out", sys.executable, __file__, "--run",
             "-n", str(n), "--lang", lang],
            env=env, check=True, capture_output=True, text=True).stdout
        counts = []
        for path in sorted(glob.glob(f"{tmp}/cg.out.*"), key=lambda p: int(p.rsplit(".", 1)[1])):
            text = Path(path).read_text()
            counts.append(int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1)))
    make, evaluate = counts[1] / n, counts[3] / n     # dumps: warm-up, phase, warm-up, phase
    return {**json.loads(out.strip().splitlines()[-1]), "make": make, "evaluate": evaluate,
            "documents": make - evaluate}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="store_true", help="run the phases (under callgrind)")
    ap.add_argument("-n", type=int, default=300, help="calls per phase (300)")
    ap.add_argument("--lang", default="zh", help="the submitter's language (zh)")
    ap.add_argument("--tree", help="count this checkout's plan instead of this one's")
    args = ap.parse_args(argv)
    if args.run:
        run(args.n, args.lang)
        return 0
    got = measure(args.n, args.lang, args.tree)
    print(f"{got['plan']}; fired: {', '.join(got['fired'])}")
    print(f"plan.make {got['make']:,.0f}  plan.evaluate {got['evaluate']:,.0f}  "
          f"documents {got['documents']:,.0f} instructions per webhook")
    return 0


if __name__ == "__main__":
    sys.exit(main())
