"""The Monday report for the demo data, in both languages; missed schedule runs run once."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from conftest import ROOT
from serverkit import ADMIN_HEADERS, as_admin, Hooks, load_org, week
from trimtab.server.domain import reports
from trimtab.server.storage.models import OutboxMessage, ScheduleRun
from trimtab.server.domain.rulesets import load_for
from trimtab.server.jobs.schedules import run_due


@pytest.fixture
def app(app):
    """The conftest app with the org chart and east.li's weeks 3-5 (the fintech yellow alert)."""
    hooks = Hooks(load_org(app))
    for w in [week(3, 3, 0.85), week(4, 3, 0.8), week(5, 2, 0.7)]:     # the fintech yellow alert
        assert hooks.post("weekly_metrics", w).status_code == 200
    return app


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
    from trimtab.server.jobs.worker import _ruleset
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


def calibration_setup(app, weeks=range(1, 7)):
    """The fintech Q3 case up to the week-6 meeting: weekly metrics, a target of 80 new
    customers for east.li, and the meeting's attendees."""
    from trimtab.server.storage.models import Target
    client = as_admin(app.test_client())
    hooks = Hooks(client)
    data = {1: (5, 0.9), 2: (5, 0.88), 3: (3, 0.85), 4: (3, 0.8), 5: (2, 0.7), 6: (4, 0.9)}
    for n in weeks:
        assert hooks.post("weekly_metrics", week(n, *data[n]), lang="zh").status_code == 200
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        s.add(Target(subject="east.li", metric="new_customers", value=80))
    return client


MEETING = {"title": "Q3 目标校准会", "starts_at": "2026-08-14T10:00:00+08:00", "region": "east",
           "attendees": ["east.mgr", "hr.east", "sales.dir"]}


def test_the_calibration_brief_has_progress_risks_and_a_suggested_adjustment(app):
    client = calibration_setup(app)
    r = client.post("/v1/meetings", json=MEETING, headers=ADMIN_HEADERS)
    assert r.status_code == 201, r.json
    assert r.json["starts_at"] == "2026-08-14T02:00:00Z" and r.json["briefed_at"] is None
    brief = client.get(f"/v1/meetings/{r.json['id']}/brief?lang=en").json
    report = brief["report"]
    assert report["cycle"] == "2026-Q3" and report["elapsed"] == 0.478      # 44 of 92 days
    [progress] = report["progress"]
    # 4 + 3 + 4 + 3 + 4 + 3 new customers in weeks 1–6; at that pace 44 by the quarter's end;
    # the suggestion stops at the ±15% band: 80 → 68.
    assert progress == {"rep": "east.li", "name": "李东", "metric": "new_customers", "target": 80,
                        "actual": 21, "completion": 0.263, "projected": 44,
                        "suggested_target": 68, "suggested_change": -0.15}
    [risk] = report["risks"]
    assert {"rule": "健康度黄灯", "level": "yellow", "period": "2026-W32"} in risk["alerts"]
    assert "- 李东 · new_customers: 21 of 80 (26.3% done; 44 at the current pace)" in brief["markdown"]
    assert "- 李东 · new_customers: 80 → 68 (-15.0%, within ±15%)" in brief["markdown"]
    zh = client.get(f"/v1/meetings/{r.json['id']}/brief?lang=zh").json
    assert zh["title"] == "目标执行简报"
    assert "- 李东 · new_customers：21 / 80（完成 26.3%，按当前节奏预计 44）" in zh["markdown"]
    assert "1. 外部环境是否有重大变化？" in zh["markdown"]


def test_the_brief_keeps_to_the_band_the_rules_state(app, tmp_path):
    """The band comes from the rules in force (the split's `adjust at most ±N%`), not the code."""
    import shutil
    from trimtab.server.storage.models import Meeting
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests", "demo"))
    text = (rules / "targets.rules").read_text(encoding="utf-8")
    assert "adjust at most ±15%, require reason" in text
    (rules / "targets.rules").write_text(text.replace("adjust at most ±15%", "adjust at most ±10%"),
                                         encoding="utf-8")
    narrower = load_for({**app.config, "RULES_PATH": str(rules), "RULES_REV": None})
    client = calibration_setup(app)
    meeting_id = client.post("/v1/meetings", json=MEETING, headers=ADMIN_HEADERS).json["id"]
    with app.extensions["trimtab.sessions"]() as s:
        meeting = s.get(Meeting, meeting_id)
        shipped = reports.calibration_brief(s, meeting, load_for(app.config), app.config["TZ"])
        report = reports.calibration_brief(s, meeting, narrower, app.config["TZ"])
    assert (shipped["band"], shipped["progress"][0]["suggested_change"]) == (0.15, -0.15)
    assert (report["band"], report["progress"][0]["suggested_change"]) == (0.1, -0.1)
    assert report["progress"][0]["suggested_target"] == 72
    assert "- 李东 · new_customers: 80 → 72 (-10.0%, within ±10%)" in reports.render(report, "en")[1]
    assert "- 李东 · new_customers：80 → 72（-10.0%，±10% 以内）" in reports.render(report, "zh")[1]


def test_bad_meetings_are_refused_with_the_path(app):
    client = as_admin(app.test_client())
    bad = [({**MEETING, "attendees": ["east.mgr", "nobody"]}, 422, "$.attendees[1]"),
           ({**MEETING, "kind": "offsite"}, 422, "$.kind"),
           ({**MEETING, "starts_at": "next tuesday"}, 422, "$.starts_at"),
           ({**MEETING, "attendees": []}, 422, "$.attendees"),
           ({k: v for k, v in MEETING.items() if k != "title"}, 422, "$.title")]
    for doc, status, path in bad:
        r = client.post("/v1/meetings", json=doc, headers=ADMIN_HEADERS)
        assert (r.status_code, r.json["error"]["path"]) == (status, path), (doc, r.json)
    assert app.test_client().post("/v1/meetings", json=MEETING).status_code == 401
    assert client.get("/v1/meetings/999/brief").status_code == 404
    assert client.get("/v1/meetings").json["items"] == []


def test_the_brief_goes_to_each_attendee_once_48_hours_ahead(app):
    client = calibration_setup(app, weeks=[5])
    meeting_id = client.post("/v1/meetings", json=MEETING, headers=ADMIN_HEADERS).json["id"]
    sessions, ruleset, tz = app.extensions["trimtab.sessions"], load_for(app.config), app.config["TZ"]
    starts = dt.datetime(2026, 8, 14, 2, 0)
    routes = {"default": "dt"}
    assert "校准会简报" not in run_due(sessions, ruleset, tz, routes, now=starts - dt.timedelta(hours=49))
    assert "校准会简报" in run_due(sessions, ruleset, tz, routes, now=starts - dt.timedelta(hours=47))
    assert "校准会简报" not in run_due(sessions, ruleset, tz, routes, now=starts - dt.timedelta(hours=46))
    with sessions() as s:
        messages = s.scalars(select(OutboxMessage).where(OutboxMessage.rule == "校准会简报")).all()
    assert sorted(m.recipient for m in messages) == ["east.mgr", "hr.east", "sales.dir"]
    assert {m.payload["title"] for m in messages} == {"目标执行简报"}
    assert messages[0].payload["report"]["meeting"]["id"] == meeting_id
    assert client.get("/v1/meetings").json["items"][0]["briefed_at"] is not None


def test_a_late_meeting_is_briefed_at_once_and_a_past_one_never(app):
    client = calibration_setup(app, weeks=[5])
    soon = {**MEETING, "title": "soon", "starts_at": "2026-08-14T10:00:00+08:00"}
    past = {**MEETING, "title": "past", "starts_at": "2026-08-10T10:00:00+08:00"}
    for doc in (soon, past):
        assert client.post("/v1/meetings", json=doc, headers=ADMIN_HEADERS).status_code == 201
    sessions, ruleset, tz = app.extensions["trimtab.sessions"], load_for(app.config), app.config["TZ"]
    # Every worker was down until 10 hours before the meeting: the brief goes out once, now.
    now = dt.datetime(2026, 8, 13, 16, 0)
    assert "校准会简报" in run_due(sessions, ruleset, tz, {"default": "dt"}, now=now)
    items = {m["title"]: m for m in client.get("/v1/meetings").json["items"]}
    assert items["soon"]["briefed_at"] is not None and items["past"]["briefed_at"] is None


def test_reports_as_the_platform_reads_them(app):
    client = as_admin(app.test_client())
    r = client.get("/v1/reports/weekly_actions?region=east&lang=en")
    assert r.status_code == 200
    assert [rep["rep"] for rep in r.json["report"]["reps"]] == ["east.li"]
    assert "李东 (east.li): 1 alert(s) (健康度黄灯)" in r.json["markdown"]
    hints = client.get("/v1/reports/resource_hints?lang=zh").json
    assert hints["title"] == "跨区域资源提示" and hints["report"]["regions"][0]["region"] == "east"
    old = client.get("/v1/reports/weekly_actions?region=east&to=2020-01-06T09:00:00").json
    assert old["report"]["reps"] == []                          # nothing in that week
    assert client.get("/v1/reports/nothing").status_code == 404
    bad = client.get("/v1/reports/weekly_actions?to=someday")
    assert bad.status_code == 422 and bad.json["error"]["path"] == "$.to"


def test_a_failing_schedule_never_stops_the_others(app, monkeypatch, caplog):
    # Issue 13: one schedule raising OverflowError stopped every schedule and the silences.
    sessions, ruleset, tz = app.extensions["trimtab.sessions"], load_for(app.config), app.config["TZ"]
    monday = dt.datetime(2026, 8, 31, 1, 30)
    with sessions() as s, s.begin():
        for name in ("周一行动建议", "双周目标快照"):
            s.add(ScheduleRun(name=name, last_run_at=monday - dt.timedelta(weeks=3), runs=1))

    def broken(*args, **kwargs):
        raise OverflowError("date value out of range")
    monkeypatch.setattr(reports, "weekly_actions", broken)
    with caplog.at_level("WARNING", logger="trimtab.schedules"):
        ran = run_due(sessions, ruleset, tz, {"default": "dt"}, now=monday)
    assert ran == ["双周目标快照"]
    assert [r.getMessage() for r in caplog.records if r.name == "trimtab.schedules"] == [
        "schedule 周一行动建议 failed: OverflowError: date value out of range"]
    with sessions() as s:
        assert s.get(ScheduleRun, "周一行动建议").runs == 1          # rolled back: tried again
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.rule == "周一行动建议")).all() == []
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.rule == "双周目标快照")).all()


def test_the_sweeper_runs_schedules_and_dispatch_each_on_its_own(monkeypatch):
    import threading
    from trimtab.server.jobs import worker as jobs
    calls = {"dispatch": 0, "schedules": 0}

    def job(name, fails):
        def run():
            calls[name] += 1
            if fails:
                raise OverflowError(name)
        return run
    monkeypatch.setattr(jobs, "dispatch_job", job("dispatch", True))
    monkeypatch.setattr(jobs, "schedules_job", job("schedules", False))
    stop = threading.Event()
    sweeper = threading.Thread(target=jobs._sweeper, args=(stop, 0.01))
    sweeper.start()
    deadline = dt.datetime.now() + dt.timedelta(seconds=5)
    while calls["schedules"] < 2 and dt.datetime.now() < deadline:
        stop.wait(0.05)
    stop.set()
    sweeper.join()
    assert calls["schedules"] >= 2 and calls["dispatch"] >= 2


def test_the_scheduler_runs_every_10_days_monthly_and_nth_weekday_at_a_fixed_clock(app, monkeypatch):
    from trimtab.server.jobs.schedules import next_due
    sessions, ruleset, tz = app.extensions["trimtab.sessions"], load_for(app.config), app.config["TZ"]
    new = ["旬度经营简报", "月度校准准备", "月度自动报表"]
    with sessions() as s, s.begin():                    # last ran on 20 August
        for name in new:
            s.add(ScheduleRun(name=name, last_run_at=dt.datetime(2026, 8, 20), runs=1))
    windows = []
    real = reports.weekly_actions

    def spy(session, region, start, end):
        windows.append((start, end))
        return real(session, region, start, end)
    monkeypatch.setattr(reports, "weekly_actions", spy)
    now = dt.datetime(2026, 9, 7, 1, 30)                # Monday 7 September, 09:30 in Shanghai
    # Since 20 August: the 10-day brief on the 29th, the 1st of September, the first Monday.
    assert run_due(sessions, ruleset, tz, {"default": "dt"}, now=now) == new
    with sessions() as s:
        sent = {(m.rule, m.role) for m in s.scalars(select(OutboxMessage).where(OutboxMessage.rule.in_(new)))}
    assert sent == {("旬度经营简报", "regional_manager"), ("月度校准准备", "regional_manager"),
                    ("月度自动报表", "headquarters")}
    # The brief of 29 August 09:00 covers the ten days since the one of 19 August.
    assert set(windows) == {(dt.datetime(2026, 8, 19, 1, 0), dt.datetime(2026, 8, 29, 1, 0))}
    assert run_due(sessions, ruleset, tz, {"default": "dt"}, now=now + dt.timedelta(minutes=5)) == []
    # Next: the 10-day brief on 8 September, 09:00 in Shanghai.
    assert next_due(sessions, ruleset, tz, now=now) == dt.datetime(2026, 9, 8, 1, 0)
