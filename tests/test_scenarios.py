"""The seeds' own cases (domain.md §7), run against the shipped rules in rules/."""
from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal

from conftest import RULES


def demo(name):
    return json.loads((RULES / "demo" / f"{name}.json").read_text(encoding="utf-8"),
                      parse_float=Decimal)


def by_rule(decisions):
    return {d.rule: d for d in decisions}


def test_behaviour_example_scores_50(shipped):
    spec = demo("behavior_scoring")
    d = by_rule(shipped.evaluate("behavior_log", spec["facts"]))["行为分"]
    assert d.value == 50
    assert d.details["weighted"] == 20            # 40% toward the performance rating
    text = d.explain("en")
    assert "+40 points" in text and "+30 points" in text and "-20 points" in text


def _week(n, opportunities, coverage):
    spec = demo("fintech_week5")
    facts = dict(spec["facts"])
    # Week 1 of the quarter's weeks here is the Monday 2026-07-06 (ISO 2026-W28); week 5 is
    # the demo's 2026-08-03.  History is read on the calendar, so the dates must be real.
    monday = dt.date(2026, 7, 6) + dt.timedelta(weeks=n - 1)
    facts.update(week_start=monday.isoformat(), new_opportunities=opportunities,
                 pipeline_coverage=Decimal(str(coverage)))
    return facts


def test_fintech_q3_yellow_alert_comes_in_week_5(shipped):
    """Weeks 1–2 healthy; new opportunities thin from week 3 (a competitor's cheap package);
    week 4 is the second week running, one indicator only; week 5 the pipeline slips too."""
    weeks = [_week(1, 5, 0.9), _week(2, 5, 0.88), _week(3, 3, 0.85), _week(4, 3, 0.8),
             _week(5, 2, 0.7), _week(6, 2, 0.7)]
    fired = []
    for i, facts in enumerate(weeks):
        d = by_rule(shipped.evaluate("weekly_metrics", facts, weeks[:i]))["健康度黄灯"]
        assert d.error is None
        fired.append(d.value)
    assert fired == [False, False, False, False, True, True]
    week4 = by_rule(shipped.evaluate("weekly_metrics", weeks[3], weeks[:3]))["健康度黄灯"]
    assert week4.details["matched"] == 1             # thin two weeks running: one indicator
    week5 = by_rule(shipped.evaluate("weekly_metrics", weeks[4], weeks[:4]))["健康度黄灯"]
    assert week5.details["notify"] == ["direct_manager", "hrbp"]
    assert "east.li" in week5.details["message"]


def test_fintech_q3_target_change_and_second_change_refused(shipped):
    change = demo("target_change")["facts"]
    first = by_rule(shipped.evaluate("target_change", change))["目标变更"]
    assert first.value is True
    assert [s["roles"] for s in first.details["steps"]] == [["direct_manager"], ["hrbp"]]
    again = dict(change, date="2026-08-20", current_target=70, proposed_target=65)
    second = by_rule(shipped.evaluate("target_change", again, [change]))["目标变更"]
    assert second.value is False
    assert "每个校准周期只能正式调整一次目标" in second.headline("zh")


def test_medical_devices_split_is_weighted_not_equal(shipped):
    spec = demo("medical_split")
    d = by_rule(shipped.evaluate("target_plan", spec["facts"]))["区域目标拆分"]
    assert d.error is None and d.details["ok"]
    shares = {s["key"]: s for s in d.details["shares"]}     # amounts at 0.01 元
    bases = [s["base"] for s in shares.values()]
    assert sum(bases) == 30_000_000                     # the bases split the whole target
    assert shares["广东"]["base"] > 6_000_000 > shares["海南"]["base"]   # not 600万 each
    # 广东: 0.5×0.40 + 0.3×0.30 + 0.2×0.25 = 0.34 of a total weight of 1.0 → 1,020万
    assert shares["广东"]["base"] == 10_200_000
    assert shares["福建"]["final"] == shares["福建"]["base"] * Decimal("0.9")   # −10%, within ±15%
    assert shares["江西"]["final"] == shares["江西"]["base"] * Decimal("1.12")   # +12%, with a reason
    # Seed 004: ±15% at most, each with a written reason. 江西 without its reason is refused…
    facts = copy.deepcopy(spec["facts"])
    del facts["provinces"][4]["reason"]
    refused = by_rule(shipped.evaluate("target_plan", facts))["区域目标拆分"]
    assert not refused.details["ok"]
    assert [(v["key"], v["code"]) for v in refused.details["violations"]] == [("江西", "reason_required")]
    # …and so is +20%, reason or not: no reason lifts the band.
    facts = copy.deepcopy(spec["facts"])
    facts["provinces"][4]["adjustment"] = 0.2
    beyond = by_rule(shipped.evaluate("target_plan", facts))["区域目标拆分"]
    assert [(v["key"], v["code"]) for v in beyond.details["violations"]] == [("江西", "beyond_limit")]
