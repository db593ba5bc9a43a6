"""Who may do what: every route × every role, on SQLite and PostgreSQL.

The cells are data (ACCESS below): the status each role gets.  A route the server has and the
table lacks fails `test_every_route_has_cells`, so no route can be added without saying who may
call it.  List routes are checked for leaks separately: they must return only what the role
may see, through filters and counts too."""
from __future__ import annotations

import json

import pytest

from conftest import RULES
from serverkit import ADMIN, bearer, running_app, set_target, week

ORG = {"people": [
    {"id": "east.li", "name": "李东", "role": "rep", "region": "east", "manager": "east.mgr",
     "hrbp": "hr.east"},
    {"id": "east.zhao", "name": "赵敏", "role": "rep", "region": "east", "manager": "east.lead",
     "hrbp": "hr.east"},
    {"id": "east.lead", "name": "钱组长", "role": "team_lead", "region": "east", "manager": "east.mgr"},
    {"id": "east.mgr", "name": "王经理", "role": "regional_manager", "region": "east",
     "manager": "sales.dir"},
    {"id": "hr.east", "name": "陈HRBP", "role": "hrbp", "region": "east"},
    {"id": "west.wu", "name": "吴西", "role": "rep", "region": "west", "manager": "west.mgr",
     "hrbp": "hr.west"},
    {"id": "west.mgr", "name": "孙经理", "role": "regional_manager", "region": "west",
     "manager": "sales.dir"},
    {"id": "hr.west", "name": "周HRBP", "role": "hrbp", "region": "west"},
    {"id": "sales.dir", "name": "销售总监", "role": "sales_director"},
    {"id": "it.1", "name": "IT", "role": "it_engineer", "grants": "it"},
    {"id": "admin.1", "name": "管理员", "role": "operations", "grants": "admin"},
]}
ROLES = {"anonymous": None, "rep": "east.li", "manager": "east.mgr", "hrbp": "hr.east",
         "it": "it.1", "admin": "admin.1", "admin_token": "-"}
# What each role sees of people (the leak checks): the rep themselves; the manager their line,
# transitively; the HRBP their region; IT only themselves.
SEES = {"rep": {"east.li"}, "manager": {"east.mgr", "east.lead", "east.li", "east.zhao"},
        "hrbp": {"hr.east", "east.li", "east.zhao", "east.lead", "east.mgr"}, "it": {"it.1"}}

ALL, SIGNED_IN = 200, {"anonymous": 401}
NONE_BUT = lambda ok, status=200, others=403: {r: (status if r in ok else others) for r in ROLES if r != "anonymous"}
ADMINS = ("admin", "admin_token")
# A workbench page: signed out, the sign-in page (302); else `who` (and admins) get `status`.
PAGE = lambda who=("hrbp", "it"), status=200: {"anonymous": 302, **NONE_BUT(who + ADMINS, status=status)}

# (method, path, body) → {role: status}; roles not named get `default`.
ACCESS = [
    ("GET", "/", None, {}, ALL),                          # JSON to a client; a browser: below
    ("GET", "/healthz", None, {}, ALL),
    ("GET", "/openapi.json", None, {}, ALL),
    ("GET", "/auth/login", None, {}, ALL),
    ("POST", "/auth/logout", None, {}, ALL),
    ("POST", "/auth/token", None, {}, 403),              # no CSRF token from the sign-in page
    ("GET", "/auth/login/dingtalk", None, {}, 302),      # to DingTalk's authorize page
    ("GET", "/auth/login/feishu", None, {}, 404),        # not configured here
    ("GET", "/auth/callback/dingtalk", None, {}, 403),   # no state: refused, whoever calls
    ("GET", "/metrics", None, {"anonymous": 401, **NONE_BUT(("it",) + ADMINS)}, None),
    ("GET", "/v1/me", None, SIGNED_IN, ALL),
    ("POST", "/v1/evaluate", {"form": "weekly_metrics", "facts": "{week}"}, SIGNED_IN, ALL),
    ("GET", "/v1/org/people", None, SIGNED_IN, ALL),
    ("POST", "/v1/org/people", {"people": []}, {"anonymous": 401, **NONE_BUT(ADMINS)}, None),
    ("POST", "/v1/org/import", "csv", {"anonymous": 401, **NONE_BUT(ADMINS)}, None),
    ("GET", "/v1/approvals", None, SIGNED_IN, ALL),
    ("GET", "/v1/approvals?pending_for=me", None, {"anonymous": 401, "admin_token": 403}, ALL),
    ("GET", "/v1/approvals/{east}", None, {"anonymous": 401, "it": 403}, ALL),
    ("GET", "/v1/approvals/{west}", None, {"anonymous": 401, **NONE_BUT(ADMINS)}, None),
    # east.zhao's change waits for east.lead: no one here may take it (a decision by its
    # approver, and by the rep on their own change, are in test_trust.py).
    ("POST", "/v1/approvals/{zhao}/decision", {"decision": "approve", "comment": "看看"},
     {"anonymous": 401, **NONE_BUT((), others=403)}, None),
    ("POST", "/v1/approvals/{east}/links", {"platform": "dingtalk", "external_id": "instance-{role}"},
     {"anonymous": 401, **NONE_BUT(("it",) + ADMINS, status=201)}, None),
    ("GET", "/v1/targets", None, SIGNED_IN, ALL),
    ("POST", "/v1/targets", {"subject": "east.zhao", "metric": "m_{role}", "value": 5},
     {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=201)}, None),
    ("POST", "/v1/targets", {"subject": "west.wu", "metric": "m_{role}", "value": 5},
     {"anonymous": 401, **NONE_BUT(ADMINS, status=201)}, None),
    ("GET", "/v1/targets/east.li/history", None, {"anonymous": 401, "it": 403}, ALL),
    ("GET", "/v1/targets/west.wu/history", None, {"anonymous": 401, **NONE_BUT(ADMINS)}, None),
    ("POST", "/v1/targets/suggest", {"form": "region_monthly", "facts": "{region_month}"},
     {"anonymous": 401, **NONE_BUT(("manager", "hrbp") + ADMINS)}, None),
    ("POST", "/v1/splits", {"facts": "{split}"}, SIGNED_IN, ALL),
    ("GET", "/v1/decisions", None, SIGNED_IN, ALL),
    ("GET", "/v1/audit", None, SIGNED_IN, ALL),
    ("GET", "/v1/notifications", None, SIGNED_IN, ALL),
    ("POST", "/v1/notifications/999/retry", None, {"anonymous": 401, **NONE_BUT(ADMINS, status=404)}, None),
    ("GET", "/v1/forms", None, SIGNED_IN, ALL),
    ("GET", "/v1/forms/weekly_metrics", None, SIGNED_IN, ALL),
    ("GET", "/v1/workflows", None, SIGNED_IN, ALL),
    ("GET", "/v1/workflows/目标变更", None, SIGNED_IN, ALL),
    ("GET", "/v1/rulesets/current", None, SIGNED_IN, ALL),
    ("POST", "/v1/rulesets/reload", None, {"anonymous": 401, **NONE_BUT(("it",) + ADMINS)}, None),
    ("GET", "/v1/dashboards/health-radar?rep=east.li", None, {"anonymous": 401, "it": 403}, ALL),
    ("GET", "/v1/dashboards/health-radar?rep=west.wu", None, {"anonymous": 401, **NONE_BUT(ADMINS)}, None),
    ("GET", "/v1/dashboards/traffic-lights", None, SIGNED_IN, ALL),
    ("GET", "/v1/dashboards/target-adjustments", None, SIGNED_IN, ALL),
    ("GET", "/v1/dashboards/completion-range", None, SIGNED_IN, ALL),
    ("GET", "/v1/dashboards/funnel", None, SIGNED_IN, ALL),
    ("GET", "/v1/dashboards/account-heat", None, SIGNED_IN, ALL),
    ("POST", "/v1/meetings", "{meeting}", {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=201)}, None),
    ("GET", "/v1/meetings", None, SIGNED_IN, ALL),
    ("GET", "/v1/meetings/{meeting}/brief", None,
     {"anonymous": 401, **NONE_BUT(("manager", "hrbp") + ADMINS)}, None),
    ("GET", "/v1/reports/weekly_actions", None, SIGNED_IN, ALL),
    ("GET", "/v1/reports/resource_hints", None, SIGNED_IN, ALL),
    ("POST", "/v1/delegations", {"delegate": "sales.dir", "starts_on": "2026-01-01",
                                 "ends_on": "2026-01-02", "reason": "休假"},
     {"anonymous": 401, "admin_token": 422}, 201),
    ("GET", "/v1/delegations", None, SIGNED_IN, ALL),
    ("DELETE", "/v1/delegations/{delegation}", None, {"anonymous": 401, "admin": 200, "admin_token": 200,
                                                       "it": 403, "manager": 403, "hrbp": 403, "rep": 200}, None),
    ("GET", "/platforms/jiandaoyun/forms/weekly_metrics", None, SIGNED_IN, ALL),
    ("GET", "/platforms/feishu_bitable/forms/weekly_metrics", None, {}, 308),
    # The workbench (issue 16): drafts for HRBPs, the review queue for IT, nothing for a rep.
    ("GET", "/v1/rulesets/current/files", None, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS)}, None),
    ("POST", "/v1/drafts", {"files": ["rules/alerts.rules"]},
     {"anonymous": 401, **NONE_BUT(("hrbp", "admin"), status=201), "admin_token": 403}, None),
    ("GET", "/v1/drafts", None, {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS)}, None),
    ("GET", "/v1/drafts/999", None, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS, status=404)}, None),
    ("DELETE", "/v1/drafts/999", None, {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=404)}, None),
    ("POST", "/v1/drafts/999/files", {"path": "rules/新规则.rules"},
     {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=404)}, None),
    ("GET", "/v1/drafts/999/file?path=rules/alerts.rules", None,
     {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS, status=404)}, None),
    ("PUT", "/v1/drafts/999/file?path=rules/alerts.rules", {"text": "x"},
     {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=404)}, None),
    ("GET", "/v1/drafts/999/check", None, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS, status=404)}, None),
    ("POST", "/v1/drafts/999/evaluate", {"form": "weekly_metrics", "facts": "{week}"},
     {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS, status=404)}, None),
    ("GET", "/v1/drafts/999/diff", None, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS, status=404)}, None),
    ("GET", "/v1/drafts/999/tests", None, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS, status=404)}, None),
    ("POST", "/v1/drafts/999/replay", None, {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=404)}, None),
    ("GET", "/v1/replays/999", None, {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=404)}, None),
    ("POST", "/v1/drafts/999/submit", None, {"anonymous": 401, **NONE_BUT(("hrbp",) + ADMINS, status=404)}, None),
    ("GET", "/v1/reviews", None, {"anonymous": 401, **NONE_BUT(("it",) + ADMINS)}, None),
    ("POST", "/v1/reviews/999/accept", None, {"anonymous": 401, **NONE_BUT(("it",) + ADMINS, status=404)}, None),
    ("POST", "/v1/reviews/999/return", {"comment": "请补充理由"},
     {"anonymous": 401, **NONE_BUT(("it",) + ADMINS, status=404)}, None),
    ("GET", "/v1/facts/export", None, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS)}, None),
    ("GET", "/v1/decisions/999999/why", None, {"anonymous": 401}, 404),
    # The workbench's pages (issue 16): HRBPs and IT; signed out, the sign-in page (302).
    ("GET", "/workbench/static/workbench.css", None, {}, ALL),
    ("GET", "/workbench/", None, PAGE(), None),
    ("GET", "/workbench/reviews", None, PAGE(("it",)), None),
    ("GET", "/workbench/drafts/999", None, PAGE(status=404), None),
    ("GET", "/workbench/why/999999", None, PAGE(status=404), None),
    ("POST", "/workbench/drafts", None, {"anonymous": 302, **NONE_BUT(("hrbp", "admin"), status=422)}, None),
    ("GET", "/workbench/drafts/999/params?path=rules/alerts.rules", None, PAGE(status=404), None),
    ("POST", "/workbench/drafts/999/params?path=rules/alerts.rules", None, PAGE(status=404), None),
    ("GET", "/workbench/drafts/999/try", None, PAGE(status=404), None),
    ("POST", "/workbench/drafts/999/try", None, PAGE(status=404), None),
    ("GET", "/workbench/drafts/999/diff", None, PAGE(status=404), None),
    ("POST", "/workbench/drafts/999/replay", None, PAGE(("hrbp",), 404), None),
    ("GET", "/workbench/replays/999", None, PAGE(("hrbp",), 404), None),
    ("GET", "/workbench/drafts/999/tests", None, PAGE(status=404), None),
    ("POST", "/workbench/drafts/999/submit", None, PAGE(("hrbp",), 404), None),
    ("POST", "/workbench/reviews/999/accept", None, PAGE(("it",), 404), None),
    ("POST", "/workbench/reviews/999/return", None, PAGE(("it",), 404), None),
    ("GET", "/workbench/api/keywords", None, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS)}, None),
    ("POST", "/workbench/api/complete", {"text": "", "line": 0, "column": 0},
     {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS)}, None),
    ("POST", "/workbench/api/format", {"text": ""}, {"anonymous": 401, **NONE_BUT(("hrbp", "it") + ADMINS)}, None),
    # Webhooks need a platform's signature, whatever person credentials come along.
    ("POST", "/hooks/weekly_metrics", "{week}", {}, 401),
    ("POST", "/platforms/jiandaoyun/hooks/weekly_metrics", "{week}", {}, 401),
    ("POST", "/platforms/mingdao/hooks/weekly_metrics/wrong", "{week}", {}, 401),
    ("POST", "/platforms/yida/hooks/weekly_metrics", "{week}", {}, 401),
    ("POST", "/platforms/feishu/hooks/weekly_metrics", "{week}", {}, 401),
    ("POST", "/platforms/feishu/events", "{week}", {}, 401),
    ("POST", "/platforms/dingtalk/approvals/events", "{week}", {}, 401),
    ("POST", "/platforms/feishu/approvals/events", "{week}", {}, 401),
    ("POST", "/platforms/jiandaoyun/approvals/events", "{week}", {}, 401),
    ("POST", "/v1/workflows/目标变更/evaluate", "{week}", {}, 401),
]


def cells():
    for method, path, body, special, default in ACCESS:
        for role in ROLES:
            expected = special.get(role, default)
            yield pytest.param(method, path, body, role, expected, id=f"{method} {path} {role}")


MEETING = {"kind": "calibration_meeting", "title": "Q3 校准会", "starts_at": "2026-08-14T10:00:00+08:00",
           "region": "east", "attendees": ["east.mgr", "hr.east"]}
SPLIT = json.loads((RULES / "demo" / "medical_split.json").read_text(encoding="utf-8"))["facts"]


@pytest.fixture(scope="module")
def world(db_kind, tmp_path_factory):
    """One app per database with the org above, facts for three reps, a pending change for an
    east and a west rep, a meeting and a delegation."""
    with running_app(db_kind, tmp_path_factory.mktemp("access"), org=ORG, LANG="en",
                     AUTH_FAILURE_LIMIT="10000/minute",
                     OAUTH={"dingtalk": {"client_id": "ding-id", "client_secret": "ding-secret"}}
                     ) as (app, hooks):
        yield app, facts_approvals_and_more(app, hooks)


def facts_approvals_and_more(app, hooks) -> dict:
    """The world's rows, and the ids the ACCESS paths name ({east}, {meeting}, …)."""
    admin = hooks.client
    for rep, region in (("east.li", "east"), ("east.zhao", "east"), ("west.wu", "west")):
        for n in (1, 2):
            r = hooks.post("weekly_metrics", dict(week(n, 2, 0.5), rep=rep, region=region,
                                                  new_visit_records=0))
            assert r.status_code == 200, r.json
    ids = {}
    for rep in ("east.li", "east.zhao", "west.wu"):
        set_target(app, rep, "new_customers", 80)
        r = hooks.post("target_change", {
            "rep": rep, "date": "2026-08-12", "metric": "new_customers", "current_target": 80,
            "proposed_target": 75, "reason": "竞品", "meeting": "calibration", "requested_by": rep})
        assert r.status_code == 200 and r.json["approval"], r.json
        ids[rep] = r.json["approval"]["id"]
    meeting = admin.post("/v1/meetings", json=MEETING).json["id"]
    delegation = admin.post("/v1/delegations", headers=bearer(app, "east.li"), json={
        "delegate": "east.zhao", "starts_on": "2026-01-01", "ends_on": "2026-01-02", "reason": "x"}).json["id"]
    values = {"{east}": ids["east.li"], "{zhao}": ids["east.zhao"], "{west}": ids["west.wu"],
              "{meeting}": meeting,
              "{delegation}": delegation}
    return values


def headers_for(app, role: str) -> dict:
    who = ROLES[role]
    if who is None:
        return {}
    if who == "-":
        return {"Authorization": f"Bearer {ADMIN}"}
    return bearer(app, who)


def request_body(body, role):
    facts_of = {"{week}": dict(week(3, 5, 0.9)), "{region_month}": {
        "region": "east", "month": "2026-06", "closed_amount": 1000000, "industry_growth": 0.08,
        "region_factor": 1}, "{split}": SPLIT, "{meeting}": MEETING}
    if isinstance(body, str) and body in facts_of:
        return {"json": facts_of[body]}
    if body == "csv":
        return {"data": "id,name,role\nnew.1,新人,rep\n".encode(), "content_type": "text/csv"}
    if isinstance(body, dict):
        doc = {k: (facts_of.get(v, v.replace("{role}", role)) if isinstance(v, str) else v)
               for k, v in body.items()}
        return {"json": doc}
    return {}


@pytest.mark.parametrize("method,path,body,role,expected", list(cells()))
def test_route_role_cell(world, method, path, body, role, expected):
    app, values = world
    for key, value in values.items():
        path = path.replace(key, str(value))
    client = app.test_client()
    r = client.open(path, method=method, headers=headers_for(app, role), **request_body(body, role))
    assert r.status_code == expected, (r.status_code, r.get_json(silent=True))
    if r.status_code >= 400 and r.is_json:
        assert set(r.json["error"]) >= {"code", "message"}


def test_every_route_has_cells(world):
    app, _ = world
    covered = {(m, p.split("?")[0]) for m, p, *_ in ACCESS}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "access", None), f"{rule.rule} declares no access"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert any(m == method and _matches(rule.rule, p) for m, p in covered), (method, rule.rule)


def _matches(rule: str, path: str) -> bool:
    import re
    pattern = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "[^/]+", rule)
    return re.fullmatch(pattern, path) is not None or \
        re.fullmatch(pattern, re.sub(r"\{[a-z]+\}", "1", path)) is not None


# ---------------------------------------------------------------------- no leaks
@pytest.mark.parametrize("role", ["rep", "manager", "hrbp", "it"])
def test_lists_show_only_what_the_role_sees(world, role):
    app, _ = world
    client = app.test_client()
    h = headers_for(app, role)
    sees = SEES[role]
    people = {p["id"] for p in client.get("/v1/org/people", headers=h).json["people"]}
    assert people == sees
    decisions = client.get("/v1/decisions?limit=500", headers=h).json["items"]
    assert {d["subject"] for d in decisions} <= sees
    # a filter naming someone out of scope finds nothing — not even a count
    assert client.get("/v1/decisions?subject=west.wu", headers=h).json["items"] == []
    assert client.get("/v1/targets?subject=west.wu", headers=h).json["targets"] == []
    assert {t["subject"] for t in client.get("/v1/targets", headers=h).json["targets"]} <= sees
    audit = client.get("/v1/audit?limit=500", headers=h).json["items"]
    assert all(a["subject"] in sees or a["actor"] == ROLES[role] for a in audit)
    approvals = client.get("/v1/approvals", headers=h).json["items"]
    assert all(a["subject"] in sees or ROLES[role] in [s["approver"] for s in a["steps"]]
               for a in approvals)
    notes = client.get("/v1/notifications?limit=500", headers=h).json["items"]
    assert all(n["recipient"] in sees for n in notes)
    lights = client.get("/v1/dashboards/traffic-lights", headers=h).json["months"]
    statuses = [d for d in decisions if d["kind"] == "status" and d["error"] is None]
    assert sum(sum(m["counts"].values()) for m in lights) == len(statuses)


@pytest.mark.parametrize("role", ["rep", "manager", "hrbp", "it"])
def test_no_get_route_shows_an_east_role_anything_of_the_west(world, role):
    """Every GET that answers 200, with every filter the table uses: west.wu, his manager and
    his HRBP appear nowhere (reports, dashboards, briefs and counts included)."""
    app, values = world
    client = app.test_client()
    for method, path, *_ in ACCESS:
        if method != "GET" or path in ("/openapi.json", "/auth/login", "/metrics"):
            continue
        for key, value in values.items():
            path = path.replace(key, str(value))
        r = client.get(path, headers=headers_for(app, role))
        if r.status_code == 200 and r.is_json:
            text = r.get_data(as_text=True)
            for secret in ("west.wu", "吴西", "west.mgr", "hr.west"):
                assert secret not in text, (role, path)


def test_admin_sees_everyone(world):
    app, _ = world
    client = app.test_client()
    people = {p["id"] for p in client.get("/v1/org/people", headers=headers_for(app, "admin")).json["people"]}
    assert {p["id"] for p in ORG["people"]} <= people
    subjects = {d["subject"] for d in client.get("/v1/decisions?limit=500",
                                                 headers=headers_for(app, "admin")).json["items"]}
    assert {"east.li", "east.zhao", "west.wu"} <= subjects


def test_a_manager_sees_reports_of_reports(world):
    app, _ = world
    subjects = {d["subject"] for d in app.test_client().get(
        "/v1/decisions?limit=500", headers=headers_for(app, "manager")).json["items"]}
    assert subjects == {"east.li", "east.zhao"}         # east.zhao reports to east.lead


def test_the_openapi_document_says_who_may_call_each_route(world):
    app, _ = world
    spec = app.test_client().get("/openapi.json").json
    assert spec["paths"]["/v1/rulesets/reload"]["post"]["x-access"] == "IT or admin"
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    assert spec["paths"]["/v1/decisions"]["get"]["security"] == [{"bearerToken": []}, {"sessionCookie": []}]


# --------------------------------------------------- the table in docs/server.md
NOTES = {"{east}": "east.li's change", "{zhao}": "east.zhao's change, waiting for east.lead",
         "{west}": "west.wu's change", "{meeting}": "an east meeting", "{delegation}": "east.li's"}
SHOWN_ROLES = {"anonymous": "no credentials", "rep": "rep east.li", "manager": "manager east.mgr",
               "hrbp": "HRBP hr.east", "it": "IT", "admin": "admin", "admin_token": "admin token"}


def access_table() -> str:
    """The route × role table as docs/server.md shows it: ✓ for 2xx, else the status."""
    lines = ["| route | " + " | ".join(SHOWN_ROLES.values()) + " |",
             "|---|" + "---|" * len(SHOWN_ROLES)]
    for method, path, body, special, default in ACCESS:
        shown, notes = path, []
        for key, note in NOTES.items():
            if key in path:
                shown, notes = shown.replace(key, "<id>"), notes + [note]
        if isinstance(body, dict) and "subject" in body:
            notes.append(f"for {body['subject']}")
        if path == "/auth/token":
            notes.append("without the sign-in page's CSRF token")
        cells = []
        for role in SHOWN_ROLES:
            status = special.get(role, default)
            cells.append("✓" if 200 <= status < 400 else str(status))
        note = f" ({', '.join(notes)})" if notes else ""
        lines.append(f"| `{method} {shown}`{note} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_the_server_doc_shows_this_table():
    from conftest import ROOT
    page = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
    assert access_table() in page, "docs/server.md's route × role table is stale: paste " \
        "`python -c 'import sys; sys.path.insert(0, \"tests\"); import test_access; " \
        "print(test_access.access_table())'`"
