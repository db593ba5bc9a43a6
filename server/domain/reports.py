"""Reports the schedules send: structured JSON for the platform and markdown in zh or en."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, true, union_all
from sqlalchemy.orm import Session

from trimtab.server.messages import msg
from trimtab.server.storage.models import Approval, Decision, Fact, Person, Target

OFF_PACE = Decimal("0.05")      # projected off the target by more than this: suggest a change
AGENDA = [msg("Has the outside environment changed materially?"),
          msg("Do the team's resources match the current target?"),
          msg("Is support needed from above or from peer departments?")]

TITLES = {"weekly_actions": msg("This week's action suggestions"),
          "resource_hints": msg("Cross-region resource hints"),
          "snapshot_reminder": msg("Bi-weekly goal snapshot reminder"),
          "calibration_brief": msg("Target execution brief")}


def _fired_alerts(session: Session, start: dt.datetime, end: dt.datetime, sees=None):
    """Alerts fired in [start, end) about subjects `sees` (a Scope; None: all): each period's
    current decision, so a resubmitted period counts once."""
    def fired(sets):
        return (select(Decision.id, Decision.subject, Decision.rule, Decision.result)
                .where(Decision.kind == "alert", Decision.fired.is_(True),
                       Decision.superseded_at.is_(None), sets,
                       Decision.created_at >= start, Decision.created_at < end))
    # The sets that can hold one, each arm by its index (migration 0022): the periods' heads
    # with a fired alert (ix_decision_sets_fired_alerts, its condition as written there), and
    # superseded sets whose decisions are kept current (ix_decision_sets_kept).
    both = union_all(fired((Decision.set_fired_alerts == true()) & Decision.set_superseded_at.is_(None)),
                     fired(Decision.set_kept == true())).subquery()
    rows = session.execute(select(both.c.subject, both.c.rule, both.c.result).order_by(both.c.id)).all()
    return rows if sees is None else [r for r in rows if sees.sees_subject(r.subject)]


def weekly_actions(session: Session, region: str | None, start: dt.datetime, end: dt.datetime,
                   sees=None) -> dict:
    """Per rep of the region: the alerts that fired in [start, end) and what to do about them."""
    people = {p.id: p for p in session.scalars(select(Person))}
    reps: dict = defaultdict(list)
    for subject, rule, result in _fired_alerts(session, start, end, sees):
        person = people.get(subject)
        if region is not None and (person is None or person.region != region):
            continue
        reps[subject].append({"rule": rule, "level": result.get("level"),
                              "message": result.get("message") or result.get("explanation")})
    return {"report": "weekly_actions", "region": region, "from": start.isoformat(),
            "to": end.isoformat(), "reps": [
                {"rep": rep, "name": people[rep].name if rep in people else rep, "alerts": alerts}
                for rep, alerts in sorted(reps.items())]}


def resource_hints(session: Session, start: dt.datetime, end: dt.datetime, sees=None) -> dict:
    """Alerts per region by level; the regions under most pressure come first."""
    people = {p.id: p for p in session.scalars(select(Person))}
    per: dict = defaultdict(Counter)
    for subject, rule, result in _fired_alerts(session, start, end, sees):
        region = people[subject].region if subject in people else None
        per[region or "-"][result.get("level")] += 1
    weight = {"red": 3, "orange": 2, "yellow": 1}
    regions = sorted(per.items(), key=lambda kv: -sum(weight.get(k, 0) * n for k, n in kv[1].items()))
    return {"report": "resource_hints", "from": start.isoformat(), "to": end.isoformat(),
            "regions": [{"region": r, "alerts": dict(c)} for r, c in regions]}


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the calibration cycle (the quarter) holding `day`."""
    q = (day.month - 1) // 3
    first = dt.date(day.year, 3 * q + 1, 1)
    after = dt.date(day.year + (q == 3), (3 * q + 3) % 12 + 1, 1)
    return first, after - dt.timedelta(days=1)


def adjustment_band(ruleset, day: dt.date) -> Decimal | None:
    """How far a meeting may suggest moving a target, as the rules in force on `day` state it:
    a split's free band (`adjust within ±15%, beyond require reason`), or its limit when every
    adjustment needs a reason anyway (`adjust at most ±15%, require reason`: the meeting is
    where the reason is given); the narrowest if several rules state one, None when none does."""
    bands = [a.limit if a.capped else a.band for form in ruleset.by_form
             for r in ruleset.in_force(form, day.isoformat())
             if r.kind == "split" and (a := r.rule.adjust) is not None]
    return min(bands, default=None)


def calibration_brief(session: Session, meeting, ruleset, tz) -> dict:
    """The pre-meeting brief (seed 000): for each rep in the meeting's scope and each target,
    progress in the cycle so far, the risks (alerts, pending changes) and a suggested
    adjustment — the projection at the current pace, kept within the band the rules state for
    a meeting's change (adjustment_band; unbounded when no rule states one)."""
    schemas = ruleset.schemas
    day = meeting.starts_at.replace(tzinfo=dt.timezone.utc).astimezone(tz).date()
    band = adjustment_band(ruleset, day)
    first, last = quarter_of(day)
    elapsed = Decimal((day - first).days) / Decimal((last - first).days + 1)
    cycle = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    people = {p.id: p for p in session.scalars(select(Person))}
    reps = sorted(p.id for p in people.values()
                  if p.role == "rep" and (meeting.region is None or p.region == meeting.region))
    # Actuals: weekly forms' fields named like the target's metric, the latest submission of
    # each week, from the cycle's first day to the meeting.
    weekly = [name for name, schema in schemas.items() if schema.period == "week"]
    actual: dict = defaultdict(Decimal)
    latest: dict = {}
    for fid, form, subject, period, payload in session.execute(
            select(Fact.id, Fact.form, Fact.subject, Fact.period, Fact.payload)
            .where(Fact.form.in_(weekly), Fact.subject.in_(reps), Fact.occurred_on >= first,
                   Fact.occurred_on < day).order_by(Fact.id)):
        latest[(form, subject, period)] = payload
    for (form, subject, _period), payload in latest.items():
        for field, value in json.loads(payload, parse_float=Decimal).items():
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                actual[(subject, field)] += Decimal(value)
    alerts: dict = defaultdict(list)        # alerts about the cycle's facts, by the facts' dates
    for subject, rule, result, period in session.execute(
            select(Decision.subject, Decision.rule, Decision.result, Fact.period)
            .join(Fact, Fact.id == Decision.fact_id)
            .where(Decision.kind == "alert", Decision.fired.is_(True), Decision.subject.in_(reps),
                   Decision.superseded_at.is_(None),
                   Fact.occurred_on >= first, Fact.occurred_on < day).order_by(Decision.id)):
        alerts[subject].append({"rule": rule, "level": result.get("level"), "period": period})
    pending = defaultdict(list)
    for a in session.scalars(select(Approval).where(Approval.status == "pending",
                                                    Approval.subject.in_(reps))):
        pending[a.subject].append({"approval": a.id, "metric": a.metric,
                                   "before": _num(a.before), "after": _num(a.after)})
    rows = []
    for target in session.scalars(select(Target).where(Target.subject.in_(reps))
                                  .order_by(Target.subject, Target.metric)):
        done = actual.get((target.subject, target.metric))
        row = {"rep": target.subject, "name": people[target.subject].name, "metric": target.metric,
               "target": _num(target.value), "actual": None, "completion": None,
               "projected": None, "suggested_target": None, "suggested_change": None}
        if done is not None and target.value and elapsed > 0:
            projected = done / elapsed
            change = projected / target.value - 1
            if band is not None:
                change = max(-band, min(band, change))
            row.update(actual=_num(done), completion=_num(_round(done / target.value, "0.001")),
                       projected=_num(_round(projected, "1")))
            if abs(projected / target.value - 1) > OFF_PACE:
                row.update(suggested_change=_num(_round(change, "0.001")),
                           suggested_target=_num(_round(target.value * (1 + change), "1")))
        rows.append(row)
    return {"report": "calibration_brief", "meeting": {
                "id": meeting.id, "title": meeting.title, "region": meeting.region,
                "starts_at": meeting.starts_at.isoformat() + "Z", "attendees": meeting.attendees,
                "local_time": meeting.starts_at.replace(tzinfo=dt.timezone.utc).astimezone(tz)
                .strftime("%Y-%m-%d %H:%M") + f" ({tz.key})"},
            "cycle": cycle, "elapsed": _num(_round(elapsed, "0.001")),
            "band": _num(band), "progress": rows,
            "risks": [{"rep": rep, "name": people[rep].name, "alerts": alerts.get(rep, []),
                       "pending_changes": pending.get(rep, [])}
                      for rep in reps if alerts.get(rep) or pending.get(rep)]}


def _round(value: Decimal, step: str) -> Decimal:
    return value.quantize(Decimal(step), rounding=ROUND_HALF_UP)


def _num(value):
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def render(report: dict, lang: str) -> tuple[str, str]:
    """(title, markdown) of a report, in `lang` (the server's catalog: docs/messages.md)."""
    title = TITLES[report["report"]].render(lang)
    say = lambda text, **args: msg(text, **args).render(lang)
    lines = []
    if report["report"] == "weekly_actions":
        region = report["region"] or say("all regions")
        lines.append(f"**{title}** · {region}")
        if not report["reps"]:
            lines.append(say("No alerts this week; keep the rhythm."))
        for rep in report["reps"]:
            lines.append(say("- {name} ({rep}): {count} alert(s) ({rules}); suggest a one-to-one review this week",
                             name=rep["name"], rep=rep["rep"], count=len(rep["alerts"]),
                             rules=[a["rule"] for a in rep["alerts"]]))
    elif report["report"] == "resource_hints":
        lines.append(f"**{title}**")
        for i, r in enumerate(report["regions"]):
            counts = ", ".join(f"{k} {v}" for k, v in sorted(r["alerts"].items()))
            hint = say(" (send support here first)") if i == 0 else ""
            lines.append(f"- {r['region']}: {counts}{hint}")
        if not report["regions"]:
            lines.append(say("No region raised alerts this week."))
    elif report["report"] == "calibration_brief":
        lines += _render_brief(report, title, say)
    else:
        lines.append(f"**{title}**")
        lines.append(say("Please submit {form} today: progress, obstacles and resource needs.", form=report["form"]))
    return title, "\n".join(lines)


def payload(report: dict, lang: str) -> dict:
    """A report as an outbox message: rendered in every language (the dispatcher sends the
    receiver's), `lang`'s on top."""
    texts = {each: dict(zip(("title", "text"), render(report, each))) for each in ("zh", "en")}
    return {**texts[lang], "report": report, "texts": texts}


def _render_brief(report: dict, title: str, say) -> list[str]:
    m = report["meeting"]
    pct = lambda x: f"{x * 100:.1f}%"
    lines = [f"**{title}** · {m['title']} · {m['local_time']}",
             say("Cycle {cycle}, {elapsed} elapsed", cycle=report["cycle"], elapsed=pct(report["elapsed"])),
             "", say("**Progress**")]
    for r in report["progress"]:
        if r["actual"] is None:
            lines.append(say("- {name} · {metric}: target {target}, no actuals yet",
                             name=r["name"], metric=r["metric"], target=r["target"]))
            continue
        lines.append(say("- {name} · {metric}: {actual} of {target} ({completion} done; {projected} at the "
                         "current pace)", name=r["name"], metric=r["metric"], actual=r["actual"],
                         target=r["target"], completion=pct(r["completion"]), projected=r["projected"]))
    lines += ["", say("**Risks**")]
    for r in report["risks"]:
        bits = [msg("{rule} ({level}, {period})", rule=a["rule"], level=a["level"], period=a["period"])
                for a in r["alerts"]]
        bits += [msg("pending target change {before} → {after}", before=p["before"], after=p["after"])
                 for p in r["pending_changes"]]
        lines.append(say("- {name}: {risks}", name=r["name"], risks=bits))
    if not report["risks"]:
        lines.append(say("- none"))
    lines += ["", say("**Suggested adjustment**")]
    suggestions = [r for r in report["progress"] if r["suggested_target"] is not None]
    band = report.get("band")
    within = "" if band is None else say(", within ±{band}%", band=_num(Decimal(str(band)) * 100))
    for r in suggestions:
        change = f"{r['suggested_change'] * 100:+.1f}%"
        lines.append(say("- {name} · {metric}: {target} → {suggested} ({change}{within})",
                         name=r["name"], metric=r["metric"], target=r["target"], suggested=r["suggested_target"],
                         change=change, within=within))
    if not suggestions:
        lines.append(say("- keep the targets as they are"))
    lines += ["", say("**The meeting discusses three questions only**")]
    lines += [f"{i}. {text}" for i, text in enumerate(map(say, AGENDA), 1)]
    return lines
