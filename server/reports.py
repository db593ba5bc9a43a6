"""Reports the schedules send: structured JSON for the platform and markdown in zh or en."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Decision, Person

TITLES = {"weekly_actions": {"zh": "本周行动建议", "en": "This week's action suggestions"},
          "resource_hints": {"zh": "跨区域资源提示", "en": "Cross-region resource hints"},
          "snapshot_reminder": {"zh": "双周目标快照提醒", "en": "Bi-weekly goal snapshot reminder"}}


def _fired_alerts(session: Session, start: dt.datetime, end: dt.datetime):
    return session.execute(
        select(Decision.subject, Decision.rule, Decision.result)
        .where(Decision.kind == "alert", Decision.fired.is_(True),
               Decision.created_at >= start, Decision.created_at < end)
        .order_by(Decision.id)).all()


def weekly_actions(session: Session, region: str | None, start: dt.datetime, end: dt.datetime) -> dict:
    """Per rep of the region: the alerts that fired in [start, end) and what to do about them."""
    people = {p.id: p for p in session.scalars(select(Person))}
    reps: dict = defaultdict(list)
    for subject, rule, result in _fired_alerts(session, start, end):
        person = people.get(subject)
        if region is not None and (person is None or person.region != region):
            continue
        reps[subject].append({"rule": rule, "level": result.get("level"),
                              "message": result.get("message") or result.get("explanation")})
    return {"report": "weekly_actions", "region": region, "from": start.isoformat(),
            "to": end.isoformat(), "reps": [
                {"rep": rep, "name": people[rep].name if rep in people else rep, "alerts": alerts}
                for rep, alerts in sorted(reps.items())]}


def resource_hints(session: Session, start: dt.datetime, end: dt.datetime) -> dict:
    """Alerts per region by level; the regions under most pressure come first."""
    people = {p.id: p for p in session.scalars(select(Person))}
    per: dict = defaultdict(Counter)
    for subject, rule, result in _fired_alerts(session, start, end):
        region = people[subject].region if subject in people else None
        per[region or "-"][result.get("level")] += 1
    weight = {"red": 3, "orange": 2, "yellow": 1}
    regions = sorted(per.items(), key=lambda kv: -sum(weight.get(k, 0) * n for k, n in kv[1].items()))
    return {"report": "resource_hints", "from": start.isoformat(), "to": end.isoformat(),
            "regions": [{"region": r, "alerts": dict(c)} for r, c in regions]}


def render(report: dict, lang: str) -> tuple[str, str]:
    """(title, markdown) of a report."""
    title = TITLES[report["report"]][lang]
    zh = lang == "zh"
    lines = []
    if report["report"] == "weekly_actions":
        lines.append(f"**{title}** · {report['region'] or ('全部区域' if zh else 'all regions')}")
        if not report["reps"]:
            lines.append("本周没有预警，保持节奏。" if zh else "No alerts this week; keep the rhythm.")
        for rep in report["reps"]:
            names = "、".join(a["rule"] for a in rep["alerts"]) if zh else ", ".join(a["rule"] for a in rep["alerts"])
            lines.append(f"- {rep['name']}（{rep['rep']}）：{len(rep['alerts'])} 条预警（{names}），建议本周一对一复盘"
                         if zh else
                         f"- {rep['name']} ({rep['rep']}): {len(rep['alerts'])} alert(s) ({names}); "
                         f"suggest a one-to-one review this week")
    elif report["report"] == "resource_hints":
        lines.append(f"**{title}**")
        for i, r in enumerate(report["regions"]):
            counts = ", ".join(f"{k} {v}" for k, v in sorted(r["alerts"].items()))
            hint = ("（建议优先支援）" if zh else " (send support here first)") if i == 0 else ""
            lines.append(f"- {r['region']}: {counts}{hint}")
        if not report["regions"]:
            lines.append("各区域本周均无预警。" if zh else "No region raised alerts this week.")
    else:
        lines.append(f"**{title}**")
        lines.append(f"请在今天提交 {report['form']}：进展、障碍与资源需求。" if zh else
                     f"Please submit {report['form']} today: progress, obstacles and resource needs.")
    return title, "\n".join(lines)
