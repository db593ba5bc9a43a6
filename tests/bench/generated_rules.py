"""Issue 2's load target beside bench_dsl.py's decisions: a rule set of 1,000 generated rules
of four kinds (alerts, scores, statuses, targets; seeded, so every run loads the same text)
parsed, checked and compiled, timed; and what the load leaves for later (each rule's
value-only function, compiled when its `decide` is first read)."""
from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from trimtab.dsl.ruleset import load_sources  # noqa: E402
from trimtab.dsl.schemas import load_schemas  # noqa: E402

WEEKLY_INT = ["effective_visits", "stage_advances", "new_opportunities", "new_customers",
              "new_visit_records", "negative_feedback"]
WEEKLY_RATIO = ["meeting_conversion", "pipeline_coverage", "conversion_rate"]
ROLES = ["direct_manager", "hrbp", "regional_manager", "headquarters"]


def _condition(rng) -> str:
    f, r, k, n, p = (rng.choice(WEEKLY_INT), rng.choice(WEEKLY_RATIO), rng.randint(1, 30),
                     rng.randint(2, 4), rng.randint(50, 95))
    return rng.choice([
        f"{f} < {k}", f"{f} >= {k}", f"{r} < {p}%", f"{r} < {p}% of industry.meeting_conversion",
        f"{f} = 0 for {n} consecutive weeks", f"{r} < {p}% of baseline({r}) for {n} consecutive weeks",
        f"average({f}, last {n} weeks) < {k}", f"growth({f}) < {p - 100}%",
        f"count({f} < {k}, last {n} weeks) >= 2", f"{f} < {k} and {r} < {p}%",
        f"{f} > {k} or {r} >= {p}%", f"change({f}) < 0", f"max({f}, last {n} weeks) < {k}",
    ])


def _alert(i, rng) -> str:
    conds = [_condition(rng) for _ in range(rng.randint(1, 4))]
    roles = ", ".join(rng.sample(ROLES, rng.randint(1, 3)))
    if len(conds) == 1:
        when = f"    when {conds[0]}\n"
    else:
        body = "".join(f"        {c}\n" for c in conds)
        when = f"    when at least {rng.randint(1, len(conds))} of:\n{body}"
    say = rng.choice(["", '    say "{rep}: {matched} low"\n', '    say "{rule} for {rep}"\n'])
    return (f"alert a{i} level {rng.choice(['yellow', 'orange', 'red'])}\n"
            f"    on weekly_metrics per rep\n{when}    notify {roles}\n{say}")


def _score(i, rng) -> str:
    pool = [f"+{rng.randint(5, 30)} for every {rng.randint(2, 5)} effective_visits",
            f"+{rng.randint(1, 5)} per needs_interviews",
            "+30 when needs_report = complete", f"+10 when demos_before_conversion >= {rng.randint(1, 3)}",
            f"-{rng.randint(5, 20)} for each lead where hours_since_followup > {rng.randint(24, 96)}h",
            f"+5 when count(leads where hours_since_followup < {rng.randint(2, 12)}h) >= 2"]
    lines = rng.sample(pool, rng.randint(1, 4))
    lines = [ln + (f", at most {rng.randint(60, 120)}" if ln.startswith("+") and rng.random() < 0.3 else "")
             for ln in lines]
    total = f"    total at most {rng.randint(100, 300)}\n" if rng.random() < 0.4 else ""
    return (f"score s{i}\n    on behavior_log per rep\n" + "".join(f"    {ln}\n" for ln in lines) + total)


def _status(i, rng) -> str:
    cuts = sorted(rng.sample(range(40, 100), rng.randint(1, 3)), reverse=True)
    names = ["green", "yellow", "orange", "red"]
    cases = [f"    {names[j]} when progress >= {c}% of expected\n" for j, c in enumerate(cuts)]
    if rng.random() < 0.5:
        cases[0] = "    green when progress >= expected\n" if cuts[0] < 100 else cases[0]
    return (f"status t{i}\n    on kr_progress per rep\n" + "".join(cases)
            + f"    {names[len(cuts)]} otherwise\n")


def _target(i, rng) -> str:
    agg, n = rng.choice(["average", "max", "min", "sum"]), rng.randint(3, 12)
    factor = rng.choice(["    factor = region_factor within ±15%\n", "    factor = region_factor\n", ""])
    growth = rng.choice(["(1 + industry_growth)", "1", "(1 + industry_growth) × (1 + industry_growth)"])
    suggest = f"base × {growth}" + (" × factor" if factor else "")
    rng_band = rng.choice(["", f", range ±{rng.randint(5, 20)}%"])
    return (f"target g{i}\n    on region_monthly per region\n    base = {agg}(closed_amount, last {n} months)\n"
            f"{factor}    suggest {suggest}{rng_band}\n")


def generated_rule_set(count: int) -> str:
    """`count` rules of four kinds with randomly varied structure (seeded)."""
    rng = random.Random(1000)
    makers = [_alert, _score, _status, _target]
    return "\n".join(makers[i % 4](i, rng) for i in range(count))


def measure_load(count: int, repeats: int) -> dict:
    schemas = load_schemas(ROOT / "form_schemas")
    shared = [(str(ROOT / "rules" / n), (ROOT / "rules" / n).read_text(encoding="utf-8"))
              for n in ("roles.rules", "references.rules")]
    text = generated_rule_set(count)
    times, later = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rs = load_sources(shared + [("generated.rules", text)], schemas)
        t1 = time.perf_counter()
        # what the load leaves for later: each rule's value-only function, compiled when its
        # `decide` is first read (replay's path; the server's never reads it)
        deciders = [rule.decide for rule in rs.rules]
        later.append(time.perf_counter() - t1)
        times.append(t1 - t0)
    assert len(rs.rules) == len(deciders) == count
    return {"rules": count, "lines": text.count("\n"), "shapes": rs.shapes,
            "seconds": min(times), "median_seconds": statistics.median(times),
            "decide_on_first_use_s": min(later)}
