"""Numbers the platform draws: health radar, traffic lights, target adjustments, the spread
of completion rates across regions.  Read-only queries over stored facts and decisions."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal

from flask import Blueprint, jsonify
from sqlalchemy import select

from trimtab.dsl.decision import plain

from trimtab.server.auth import requires, scope
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError
from trimtab.server.storage.models import AuditEntry, Decision, Fact, Person
from trimtab.server.domain import period_decisions
from trimtab.server.domain.rulesets import active
from trimtab.server.web.api_models.dashboards import (Adjustments, CompletionRange, Funnel, Heat, Lights, Radar,
                                                      RepQuery, RuleQuery, TeamQuery)
from trimtab.server.web.contract import contract, query_as
from trimtab.server.web.http import sessions

bp = Blueprint("dashboards", __name__, url_prefix="/v1/dashboards")


def _r(value: Decimal):
    """A ratio for a chart: four decimal places are plenty."""
    return plain(Decimal(value).quantize(Decimal("0.0001")))

RADAR_AXES = ("effective_visits", "meeting_conversion", "new_opportunities")   # with references
RADAR_OWN = ("pipeline_coverage", "conversion_rate", "stage_advances")


def _visible(q):
    """Only facts (and their decisions) the caller may see: counts leak nothing."""
    clause = scope().facts_clause()
    return q if clause is None else q.where(clause)


@bp.get("/health-radar")
@requires("person")
@contract("A rep's latest week against the industry reference", query=RepQuery, answers={200: Radar},
          errors=(403, 404), description="Each axis's ratio is value ÷ reference (1.0 = the reference).")
def health_radar():
    """A rep's latest week against the industry reference (1.0 = the reference)."""
    rep = query_as(RepQuery).rep
    if not scope().sees_person(rep):
        raise DomainError("out_of_scope", msg("`{rep}` is not yours to see", rep=rep), "$.rep")
    with sessions() as s:
        fact = s.scalars(select(Fact).where(Fact.form == "weekly_metrics", Fact.subject == rep)
                         .order_by(Fact.period.desc(), Fact.id.desc())).first()
    if fact is None:
        raise DomainError("not_found", msg("no weekly metrics for `{rep}`", rep=rep), "$.rep")
    facts = json.loads(fact.payload, parse_float=Decimal)
    industry = active().checked.references.get("industry")
    axes = []
    for name in RADAR_AXES:
        ref = industry.items.get(name).value if industry and name in industry.items else None
        value = facts.get(name)
        axes.append({"axis": name, "value": plain(value), "reference": plain(ref),
                     "ratio": _r(Decimal(value) / Decimal(ref)) if ref and value is not None else None})
    axes += [{"axis": name, "value": plain(facts.get(name)), "reference": None, "ratio": None}
             for name in RADAR_OWN]
    return jsonify({"rep": rep, "period": fact.period, "axes": axes})


@bp.get("/traffic-lights")
@requires("person")
@contract("Status counts (green/yellow/red) per month", query=RuleQuery, answers={200: Lights})
def traffic_lights():
    """How many reps were green/yellow/red per month, by the status rules' current decisions
    (a resubmitted period counts once)."""
    rule = query_as(RuleQuery).rule
    with sessions() as s:
        q = select(Decision.rule, Decision.result, Fact.period).join(Fact).where(
            Decision.kind == "status", Decision.error_code.is_(None))
        if rule:
            q = q.where(Decision.rule == rule)
        rows = s.execute(period_decisions.current_arms(_visible(q))).all()
    counts: dict = defaultdict(Counter)
    for name, result, period in rows:
        counts[(name, period)][result.get("value")] += 1
    return jsonify({"months": [{"rule": name, "period": period, "counts": dict(c)}
                               for (name, period), c in sorted(counts.items())]})


@bp.get("/target-adjustments")
@requires("person")
@contract("Approved target changes per quarter and region, and per person", answers={200: Adjustments})
def target_adjustments():
    """Approved target changes per quarter and team (region), and per rep on average."""
    with sessions() as s:
        seen = scope()
        rows = [r for r in s.execute(select(AuditEntry.at, AuditEntry.subject).where(
            AuditEntry.action == "target_changed")).all() if seen.sees_subject(r.subject)]
        regions = dict(s.execute(select(Person.id, Person.region)).all())
        reps_per_region = Counter(r for pid, r in regions.items()
                                  if r is not None)
    per: dict = defaultdict(int)
    for at, subject in rows:
        quarter = f"{at.year}-Q{(at.month - 1) // 3 + 1}"
        per[(quarter, regions.get(subject) or "-")] += 1
    out = []
    for (quarter, region), n in sorted(per.items()):
        people = reps_per_region.get(region) or 1
        out.append({"quarter": quarter, "region": region, "changes": n,
                    "per_person": round(n / people, 2)})
    return jsonify({"quarters": out})


@bp.get("/completion-range")
@requires("person")
@contract("KR completion per month: per region, min, max and spread", answers={200: CompletionRange})
def completion_range():
    """Completion (progress ÷ expected) of KRs per month: min, max and spread across regions."""
    with sessions() as s:
        facts = s.execute(_visible(select(Fact.period, Fact.subject, Fact.payload)
                                   .where(Fact.form == "kr_progress"))).all()
        regions = dict(s.execute(select(Person.id, Person.region)).all())
    by_month: dict = defaultdict(lambda: defaultdict(list))
    for period, subject, payload in facts:
        f = json.loads(payload, parse_float=Decimal)
        if f.get("expected"):
            by_month[period][regions.get(subject) or "-"].append(Decimal(f["progress"]) / Decimal(f["expected"]))
    months = []
    for period, per_region in sorted(by_month.items()):
        averages = {r: sum(v) / len(v) for r, v in per_region.items()}
        lo, hi = min(averages.values()), max(averages.values())
        months.append({"period": period, "regions": {r: _r(v) for r, v in sorted(averages.items())},
                       "min": _r(lo), "max": _r(hi), "spread": _r(hi - lo)})
    return jsonify({"months": months})


FUNNEL = ("leads", "quotes", "contracts", "payments")


@bp.get("/funnel")
@requires("person")
@contract("Each team's latest funnel (lead → quote → contract → payment) with step conversions",
          query=TeamQuery, answers={200: Funnel})
def funnel():
    """Each team's latest weekly funnel, lead → quote → contract → payment, with conversions."""
    team = query_as(TeamQuery).team
    with sessions() as s:
        q = select(Fact).where(Fact.form == "pipeline_snapshot")
        if team:
            q = q.where(Fact.subject == team)
        latest: dict = {}
        for f in s.scalars(_visible(q).order_by(Fact.period, Fact.id)):
            latest[f.subject] = f
    teams = []
    for subject, f in sorted(latest.items()):
        facts = json.loads(f.payload, parse_float=Decimal)
        stages = [{"stage": name, "count": facts[name]} for name in FUNNEL]
        for prev, cur in zip(stages, stages[1:]):
            cur["from_previous"] = _r(Decimal(cur["count"]) / prev["count"]) if prev["count"] else None
        teams.append({"team": subject, "period": f.period, "stages": stages})
    return jsonify({"teams": teams})


@bp.get("/account-heat")
@requires("person")
@contract("Key accounts' latest colour by region (status rules on account_status)", answers={200: Heat})
def account_heat():
    """Each key account's latest colour (from the status rules on account_status), by region."""
    with sessions() as s:
        rows = s.execute(period_decisions.current_arms(_visible(
            select(Decision.subject, Decision.rule, Decision.result, Fact.payload, Fact.id, Fact.period)
            .join(Fact).where(Decision.form == "account_status", Decision.kind == "status",
                              Decision.error_code.is_(None))))).all()
    latest: dict = {}
    for subject, rule, result, payload, _id, _period in sorted(rows, key=lambda r: (r.period, r.id)):
        latest[(rule, subject)] = (result.get("value"), json.loads(payload, parse_float=Decimal))
    regions: dict = defaultdict(lambda: {"counts": Counter(), "accounts": []})
    for (rule, account), (colour, facts) in sorted(latest.items()):
        region = regions[facts.get("region") or "-"]
        region["counts"][colour] += 1
        region["accounts"].append({"account": account, "rule": rule, "colour": colour,
                                   "stage": facts.get("procurement_stage")})
    return jsonify({"regions": [{"region": r, "counts": dict(v["counts"]), "accounts": v["accounts"]}
                                for r, v in sorted(regions.items())]})
