"""The Monday report for the demo data, in both languages; missed schedule runs run once."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from conftest import ROOT
from serverkit import ADMIN, ADMIN_HEADERS, CLIENT, ORG, SECRET, Hooks, fresh_database, week
from server import reports
from server.app import create_app
from server.models import OutboxMessage, ScheduleRun
from server.rulesets import load_for
from server.schedules import run_due


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    url, cleanup = fresh_database(request.param, tmp_path)
    app = create_app({"DATABASE_URL": url, "CLIENTS": {CLIENT: SECRET}, "ADMIN_TOKEN": ADMIN,
                      "RULES_PATH": str(ROOT / "rules")})
    client = app.test_client()
    client.post("/v1/org/people", json=ORG, headers=ADMIN_HEADERS)
    hooks = Hooks(client)
    for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:     # the fintech yellow alert
        hooks.post("weekly_metrics", w)
    yield app
    app.extensions["trimtab.engine"].dispose()
    cleanup()


def test_monday_report_renders_in_both_languages(app):
    now = dt.datetime.utcnow() + dt.timedelta(minutes=1)
    with app.extensions["trimtab.sessions"]() as s:
        report = reports.weekly_actions(s, "east", now - dt.timedelta(days=7), now)
        hints = reports.resource_hints(s, now - dt.timedelta(days=7), now)
    assert [r["rep"] for r in report["reps"]] == ["east.li"]
    assert report["reps"][0]["alerts"][0]["rule"] == "健康度黄灯"
    title_zh, text_zh = reports.render(report, "zh")
    title_en, text_en = reports.render(report, "en")
    assert title_zh == "本周行动建议" and "李东（east.li）：1 条预警（健康度黄灯）" in text_zh
    assert title_en == "This week's action suggestions" and "李东 (east.li): 1 alert(s) (健康度黄灯)" in text_en
    assert hints["regions"] == [{"region": "east", "alerts": {"yellow": 1}}]
    assert "east: yellow 1 (send support here first)" in reports.render(hints, "en")[1]


def test_a_missed_monday_runs_once_on_recovery(app):
    sessions = app.extensions["trimtab.sessions"]
    ruleset = load_for(app.config)
    tz = app.config["TZ"]
    monday = dt.datetime(2026, 8, 31, 1, 30)            # 09:30 in Shanghai, after the 09:00 run
    with sessions() as s, s.begin():                    # last ran three weeks ago
        s.add(ScheduleRun(name="周一行动建议", last_run_at=monday - dt.timedelta(weeks=3), runs=1))
    ran = run_due(sessions, ruleset, tz, {"default": "dt"}, now=monday)
    assert ran == ["周一行动建议"]
    with sessions() as s:
        messages = s.scalars(select(OutboxMessage).where(OutboxMessage.rule == "周一行动建议")).all()
        run = s.get(ScheduleRun, "周一行动建议")
    roles = sorted(m.role for m in messages)
    assert roles == ["headquarters", "regional_manager"]        # one report each, not three
    assert run.runs == 2
    assert run_due(sessions, ruleset, tz, {"default": "dt"}, now=monday + dt.timedelta(minutes=5)) == []


def test_the_worker_reloads_rules_only_when_a_file_changes(tmp_path):
    import shutil
    from server.jobs import _ruleset
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shutil.copytree(ROOT / "form_schemas", tmp_path / "form_schemas")
    first = _ruleset(str(tmp_path / "rules"))
    assert _ruleset(str(tmp_path / "rules")) is first                 # unchanged: same set
    cadence = tmp_path / "rules" / "cadence.rules"
    cadence.write_text(cadence.read_text(encoding="utf-8").replace("at 09:00", "at 08:30"),
                       encoding="utf-8")
    again = _ruleset(str(tmp_path / "rules"))
    assert again is not first
    assert next(s for s in again.schedules if s.name == "周一行动建议").timing.time == "08:30"
