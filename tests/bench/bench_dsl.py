#!/usr/bin/env python3
"""trimtab's compiled evaluator against hand-written Python and GoRules zen-engine.

The three decisions of ../shared/bench/peers (behaviour scoring, three-level alert, 50/30/20
split over 5 regions), measured side by side in one process:

  python-decimal   hand-written Python with trimtab's semantics (exact decimals): the floor
  trimtab          CompiledRule.decide(facts): compiled, no trace
  trimtab+trace    CompiledRule.evaluate(facts, trace=True): the trace of every comparison
  zen-expression   zen-engine's expression VM (zen.compile_expression), its own float inputs

Facts are generated as the peers' benchmark does (seeded).  trimtab and the hand-written
reference get numbers as a JSON parser with parse_float=Decimal gives them (ints stay ints,
fractions are Decimal); zen-engine gets Python floats, its native input.  Both sides convert
nothing inside the timed loop beyond what their call does.

Implementations run in interleaved rounds (A B C D, A B C D, …) so that machine noise hits all
alike; each figure is the median over rounds of (loop time / decisions).  Ratios are what
count; absolute times vary between machines.

Also measured: parse + check + compile of a generated 1,000-rule set (median of 3).

    python tests/bench/bench_dsl.py            # full run (~1 min)
    python tests/bench/bench_dsl.py --quick    # smoke run (~10 s)
    python tests/bench/bench_dsl.py --json out.json
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from dsl.ruleset import load, load_sources  # noqa: E402
from dsl.schemas import load_schemas  # noqa: E402

TARGETS = {"trimtab_vs_python": 2.0, "zen_vs_trimtab": 3.0, "trace_vs_python": 5.0,
           "load_1000_s": 1.0}

ZEN_EXPR = {   # the peers' zen_expr files, verbatim
    "scoring": "20 * floor(effective_visits / 3) + (needs_report_submitted ? 30 : 0) - 10 * stale_leads_over_48h",
    "alert": "contract_amount_change_pct < 0 ? 'red' : ((conversion_rate < 0.8 * baseline_conversion and "
             "weeks_below >= 2) or receivables_days > 60) ? 'orange' : milestone_delay_days > 5 ? 'yellow' : 'green'",
    "split": "map(regions, total_target * (0.5 * #.market_potential + 0.3 * #.staffing + 0.2 * #.strategic) / "
             "sum(map(regions, 0.5 * #.market_potential + 0.3 * #.staffing + 0.2 * #.strategic)))",
}


# ---------------------------------------------------------------------- facts (as the peers)
def gen_scoring(rng):
    return {"effective_visits": rng.randint(0, 40), "needs_report_submitted": rng.random() < 0.5,
            "stale_leads_over_48h": rng.randint(0, 6)}


def gen_alert(rng):
    return {"milestone_delay_days": rng.randint(0, 12),
            "conversion_rate": round(rng.uniform(0.0, 0.5), 3),
            "baseline_conversion": round(rng.uniform(0.05, 0.5), 3),
            "weeks_below": rng.randint(0, 5),
            "contract_amount_change_pct": round(rng.uniform(-5.0, 15.0), 1),
            "receivables_days": rng.randint(0, 90)}


def gen_split(rng):
    return {"total_target": rng.randint(10_000, 5_000_000),
            "regions": [{"market_potential": round(rng.random(), 3), "staffing": round(rng.random(), 3),
                         "strategic": round(rng.random(), 3)} for _ in range(5)]}


GENERATORS = {"scoring": gen_scoring, "alert": gen_alert, "split": gen_split}


def as_decimal(value):
    """What json.loads(..., parse_float=Decimal) would have produced."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [as_decimal(v) for v in value]
    if isinstance(value, dict):
        return {k: as_decimal(v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------- hand-written, decimal
D05, D03, D02, D08 = Decimal("0.5"), Decimal("0.3"), Decimal("0.2"), Decimal("0.8")


def py_scoring(f):
    return (20 * (f["effective_visits"] // 3) + (30 if f["needs_report_submitted"] else 0)
            - 10 * f["stale_leads_over_48h"])


def py_alert(f):
    if f["contract_amount_change_pct"] < 0:
        return "red"
    if ((f["conversion_rate"] < D08 * f["baseline_conversion"] and f["weeks_below"] >= 2)
            or f["receivables_days"] > 60):
        return "orange"
    if f["milestone_delay_days"] > 5:
        return "yellow"
    return "green"


def py_split(f):
    ws = [D05 * r["market_potential"] + D03 * r["staffing"] + D02 * r["strategic"]
          for r in f["regions"]]
    total = Decimal(sum(ws))
    t = f["total_target"]
    return [t * w / total for w in ws]


PYTHON = {"scoring": py_scoring, "alert": py_alert, "split": py_split}


# ---------------------------------------------------------------------- timing
def time_loop(fn, inputs) -> float:
    """Nanoseconds per call over one pass of `inputs`."""
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        for f in inputs:
            fn(f)
        return (time.perf_counter_ns() - t0) / len(inputs)
    finally:
        gc.enable()


def measure(decision: str, rules, n: int, rounds: int, rng) -> dict:
    raw = [GENERATORS[decision](rng) for _ in range(n)]
    exact = [as_decimal(f) for f in raw]
    compiled = rules.rule(decision)
    impls = {"python-decimal": (PYTHON[decision], exact),
             "trimtab": (compiled.decide, exact),
             "trimtab+trace": (compiled.evaluate, exact)}      # defaults: no history, trace on
    try:
        import zen
        impls["zen-expression"] = (zen.compile_expression(ZEN_EXPR[decision]).evaluate, raw)
    except ImportError:
        pass
    # Agreement: trimtab must give exactly what the hand-written decimal code gives.
    disagree = sum(1 for f in exact if compiled.decide(f) != PYTHON[decision](f))
    for fn, inputs in impls.values():        # warm-up
        time_loop(fn, inputs[: max(1, n // 10)])
    samples = {name: [] for name in impls}
    for _ in range(rounds):
        for name, (fn, inputs) in impls.items():
            samples[name].append(time_loop(fn, inputs))
    return {"n": n, "rounds": rounds, "disagreements": disagree,
            "ns": {name: statistics.median(v) for name, v in samples.items()}}


# ---------------------------------------------------------------------- 1,000 rules
RULE_TEMPLATES = [
    "alert a{i} level yellow\n    on weekly_metrics per rep\n    when at least 2 of:\n"
    "        effective_visits < {k}\n        meeting_conversion < {p}% of industry.meeting_conversion\n"
    "        stage_advances = 0 for 2 consecutive weeks\n    notify direct_manager, hrbp\n"
    "    say \"{{rep}}: {{matched}} low\"\n",
    "score s{i}\n    on behavior_log per rep\n    +{k} for every 3 effective_visits, at most 200\n"
    "    +30 when needs_report = complete\n    -10 for each lead where hours_since_followup > {k}h\n",
    "status t{i}\n    on kr_progress per rep\n    green when progress >= expected\n"
    "    yellow when progress >= {p}% of expected\n    red otherwise\n",
    "target g{i}\n    on region_monthly per region\n    base = average(closed_amount, last 6 months)\n"
    "    factor = region_factor within ±15%\n    suggest base × (1 + industry_growth) × factor, range ±{k}%\n",
]


def generated_rule_set(count: int) -> str:
    rng = random.Random(1000)
    return "\n".join(RULE_TEMPLATES[i % len(RULE_TEMPLATES)].format(
        i=i, k=rng.randint(2, 40), p=rng.randint(50, 95)) for i in range(count))


def measure_load(count: int, repeats: int) -> dict:
    schemas = load_schemas(ROOT / "form_schemas")
    shared = [(str(ROOT / "rules" / n), (ROOT / "rules" / n).read_text(encoding="utf-8"))
              for n in ("roles.rules", "references.rules")]
    text = generated_rule_set(count)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rs = load_sources(shared + [("generated.rules", text)], schemas)
        times.append(time.perf_counter() - t0)
    assert len(rs.rules) == count
    return {"rules": count, "lines": text.count("\n"), "seconds": statistics.median(times)}


# ---------------------------------------------------------------------- report
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: fewer facts and rounds")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    n, rounds = (2_000, 5) if args.quick else (20_000, 9)
    rules = load(HERE / "rules", HERE / "forms")
    rng = random.Random(20261122)
    results = {d: measure(d, rules, n, rounds, rng) for d in ("scoring", "alert", "split")}
    load_result = measure_load(1000, 3)

    names = ["python-decimal", "trimtab", "trimtab+trace", "zen-expression"]
    print(f"decisions: {n:,} facts × {rounds} interleaved rounds, median ns per decision\n")
    print(f"{'decision':10}" + "".join(f"{x:>16}" for x in names)
          + f"{'trimtab/py':>12}{'trace/py':>10}{'zen/trimtab':>13}")
    verdicts = []
    for d, r in results.items():
        ns = r["ns"]
        py, tt, tr, zn = (ns.get(x) for x in names)
        ratios = {"trimtab_vs_python": tt / py, "trace_vs_python": tr / py,
                  "zen_vs_trimtab": (zn / tt) if zn else None}
        r["ratios"] = ratios
        cells = "".join(f"{ns[x]:>16,.0f}" if x in ns else f"{'—':>16}" for x in names)
        zen_cell = f"{ratios['zen_vs_trimtab']:>12.2f}×" if zn else f"{'n/a':>13}"
        print(f"{d:10}{cells}{ratios['trimtab_vs_python']:>11.2f}×{ratios['trace_vs_python']:>9.2f}×{zen_cell}")
        verdicts.append(ratios["trimtab_vs_python"] <= TARGETS["trimtab_vs_python"])
        verdicts.append(ratios["trace_vs_python"] <= TARGETS["trace_vs_python"])
        if zn:
            verdicts.append(ratios["zen_vs_trimtab"] >= TARGETS["zen_vs_trimtab"])
        if r["disagreements"]:
            print(f"  !! {r['disagreements']} disagreements with the hand-written decimal code")
            verdicts.append(False)
    if not all("zen-expression" in r["ns"] for r in results.values()):
        print("\nzen-engine is not installed: `pip install -e '.[bench]'` for its column")
    ok_load = load_result["seconds"] <= TARGETS["load_1000_s"]
    verdicts.append(ok_load)
    print(f"\nparse + check + compile of {load_result['rules']:,} generated rules "
          f"({load_result['lines']:,} lines): {load_result['seconds']:.3f} s (median of 3)")
    print(f"\ntargets: trimtab ≤ {TARGETS['trimtab_vs_python']}× python, trace ≤ "
          f"{TARGETS['trace_vs_python']}× python, zen ≥ {TARGETS['zen_vs_trimtab']}× trimtab, "
          f"1,000-rule load ≤ {TARGETS['load_1000_s']} s → {'all met' if all(verdicts) else 'NOT all met'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"decisions": results, "load": load_result,
                                               "targets": TARGETS}, indent=2), encoding="utf-8")
    return 1 if args.check and not all(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
