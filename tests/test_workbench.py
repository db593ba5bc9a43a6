"""The workbench's server side (issue 16), end to end through the test client on SQLite and
PostgreSQL: an HRBP drafts a change of alerts.rules, checks, evaluates, replays, submits;
IT accepts and the server answers with the new version.  Stored rows and the git repository
are checked, not only statuses."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import workbenchkit
from serverkit import week
from workbenchkit import ALERTS, THRESHOLD, as_, open_alerts, put, rows

repo, app_config, bench = workbenchkit.repo, workbenchkit.app_config, workbenchkit.bench   # fixtures


def test_an_hrbp_drafts_checks_tries_replays_submits_and_it_accepts(app, bench, repo):
    from trimtab.server.storage.drafts import Draft, DraftFile
    from trimtab.server.storage.models import ActiveRuleset, AuditEntry, Fact
    client, hooks = bench
    hr = as_(app, "hr.east")
    served = client.get("/v1/rulesets/current", headers=hr).get_json()["version"]
    files = client.get("/v1/rulesets/current/files", headers=hr).get_json()["files"]
    assert ALERTS in [f["path"] for f in files]

    draft = open_alerts(app, client)
    did = draft["id"]
    got = client.get(f"/v1/drafts/{did}/file?path={ALERTS}", headers=hr)
    original, tag = got.get_json()["text"], got.headers["ETag"].strip('"')
    assert tag == draft["files"][0]["etag"] and "negative_feedback >= 3" in original

    # a misspelt field: the zh diagnostic with its suggestion, placed in the file
    typo = original.replace("negative_feedback >= 3", "negative_feedbak >= 3")
    r = put(app, client, did, typo, tag)
    assert r.status_code == 200, r.get_json()
    tag = r.get_json()["etag"]
    check = client.get(f"/v1/drafts/{did}/check", headers={**hr, "Accept-Language": "zh"}).get_json()
    assert check["ok"] is False
    [diag] = [d for d in check["diagnostics"] if d["code"] == "check.unknown_field"]
    line = typo.splitlines().index(next(x for x in typo.splitlines() if "negative_feedbak" in x)) + 1
    assert (diag["file"], diag["line"]) == (ALERTS, line) and diag["column"] > 0
    assert "negative_feedback" in diag["hint"] and "字段" in diag["message"]

    # two editors: a write naming the ETag before the last one is refused with the current one
    stale = put(app, client, did, original, draft["files"][0]["etag"])
    assert stale.status_code == 409 and stale.get_json()["error"]["etag"] == tag

    # fixed, and a threshold moved
    changed = original.replace(*THRESHOLD)
    r = put(app, client, did, changed, tag)
    assert r.status_code == 200
    assert client.get(f"/v1/drafts/{did}/check", headers=hr).get_json() == \
        {"ok": True, "count": 0, "diagnostics": []}
    [stored] = rows(app, DraftFile, DraftFile.draft_id == did)
    assert stored.text == changed and stored.etag == r.get_json()["etag"]

    # on the recorded facts of week 3: the changed decision, marked, with both explanations
    with app.extensions["trimtab.sessions"]() as session:
        period = session.scalars(select(Fact.period).order_by(Fact.id).offset(2)).first()
    tried = client.post(f"/v1/drafts/{did}/evaluate", headers=hr, json={
        "form": "weekly_metrics", "subject": "east.li", "period": period}).get_json()
    assert tried["changed"] == ["合同额下滑"]
    [row] = [x for x in tried["rules"] if x["rule"] == "合同额下滑"]
    assert (row["published"]["value"], row["draft"]["value"]) == (False, True)
    assert "value" in row["differs"] and row["draft"]["explanation"] and row["draft"]["trace"]
    assert tried["published_version"] == served

    words = client.get(f"/v1/drafts/{did}/diff", headers=hr).get_json()["words"]
    assert words == ["合同额下滑: condition `growth(contract_amount) < -20% or negative_feedback >= 3`"
                     " → `growth(contract_amount) < 10% or negative_feedback >= 3`"]

    replayed = client.post(f"/v1/drafts/{did}/replay", headers=hr, json={"form": "weekly_metrics"})
    assert replayed.status_code == 200
    report = replayed.get_json()
    assert report["status"] == "done" and report["result"]["records"] == 4
    assert report["result"]["by_rule"] == {"合同额下滑": 3}      # weeks 2–4 have a week before
    assert report["result"]["by_group"] == {"east": 3}

    tests = client.get(f"/v1/drafts/{did}/tests", headers=hr).get_json()
    assert tests["passed"] > 30 and tests["coverage"]["rules"]["total"] > 20

    # submit: a commit on review/draft-<id>, authored by the HRBP, with the impact in words
    r = client.post(f"/v1/drafts/{did}/submit", headers=hr)
    assert r.status_code == 200, r.get_json()
    sub = r.get_json()
    assert sub["status"] == "submitted" and sub["review"]["branch"] == f"review/draft-{did}"
    commit = repo.git("rev-parse", f"review/draft-{did}")
    assert commit == sub["review"]["commit"] and repo.git("rev-parse", "main") == served
    assert repo.git("log", "-1", "--format=%an <%ae>", commit) == "陈HRBP <chen.hr@example.com>"
    msg = repo.git("log", "-1", "--format=%B", commit)
    assert words[0] in msg and "4 records" in msg and "合同额下滑: 3" in msg and "passed" in msg
    assert repo.git("show", f"{commit}:{ALERTS}") == changed.rstrip("\n")
    [audit] = rows(app, AuditEntry, AuditEntry.action == "draft.submit")
    assert (audit.actor, audit.details["commit"], audit.details["draft"]) == ("hr.east", commit, did)
    assert client.put(f"/v1/drafts/{did}/file?path={ALERTS}", json={"text": original},
                      headers=as_(app, "hr.east", **{"If-Match": tag})).status_code == 409

    # nothing served changed yet; the rep and the HRBP are refused the queue
    assert client.get("/v1/rulesets/current", headers=hr).get_json()["version"] == served
    assert client.get("/v1/reviews", headers=hr).status_code == 403
    assert client.get("/v1/reviews", headers=as_(app, "east.li")).status_code == 403
    queue = client.get("/v1/reviews", headers=as_(app, "it.1")).get_json()["items"]
    assert [q["id"] for q in queue] == [did] and queue[0]["summary"]["replay"]["decisions_changed"] == 3

    # IT accepts: merged, reloaded through the guard, and served
    r = client.post(f"/v1/reviews/{did}/accept", headers=as_(app, "it.1"))
    assert r.status_code == 200, r.get_json()
    new = r.get_json()["version"]
    assert new == commit == repo.git("rev-parse", "main") != served
    current = client.get("/v1/rulesets/current", headers=hr)
    assert current.get_json()["version"] == new and current.headers["X-Trimtab-Ruleset-Version"] == new
    [row] = rows(app, Draft, Draft.id == did)
    assert (row.status, row.reviewer_id, row.merged_version) == ("accepted", "it.1", new)
    [active] = rows(app, ActiveRuleset)
    assert (active.rev, active.activated_by) == (new, "it.1")
    actions = [a.action for a in rows(app, AuditEntry, AuditEntry.subject == "ruleset")]
    assert actions[-2:] == ["ruleset.activate", "draft.accept"]
    # and a webhook now decides by the new rule
    answer = hooks.post("weekly_metrics", week(5, 3, 0.9)).get_json()
    fired = {d["rule"]: d["value"] for d in answer["decisions"]}
    assert fired["合同额下滑"] is True
    # why, for a decision before and one after: each with the rule as its version had it
    decided = client.get("/v1/decisions?rule=合同额下滑", headers=hr).get_json()["items"]
    before, after = (client.get(f"/v1/decisions/{d['id']}/why", headers=hr).get_json()
                     for d in (decided[0], decided[-1]))
    assert (before["ruleset_version"], after["ruleset_version"]) == (served, new)
    assert "< -20%" in before["rule_text"]["text"] and "< 10%" in after["rule_text"]["text"]


def test_a_rep_may_not_use_the_workbench(app, bench):
    client, _ = bench
    rep = as_(app, "east.li")
    did = open_alerts(app, client)["id"]
    for method, path in [("POST", "/v1/drafts"), ("GET", "/v1/drafts"), ("GET", f"/v1/drafts/{did}"),
                         ("GET", "/v1/rulesets/current/files"), ("GET", f"/v1/drafts/{did}/check"),
                         ("POST", f"/v1/drafts/{did}/submit"), ("GET", "/v1/reviews"),
                         ("POST", f"/v1/reviews/{did}/accept"), ("GET", "/v1/facts/export")]:
        r = client.open(path, method=method, json={"files": [ALERTS]}, headers=rep)
        assert r.status_code == 403, (method, path, r.status_code)


def test_drafts_are_private_and_it_reads_only_submitted_ones(app, bench):
    client, _ = bench
    draft = open_alerts(app, client)
    did, tag = draft["id"], draft["files"][0]["etag"]
    for who in ("hr.west", "it.1"):
        assert client.get(f"/v1/drafts/{did}", headers=as_(app, who)).status_code == 404
        assert client.get(f"/v1/drafts/{did}/file?path={ALERTS}",
                          headers=as_(app, who)).status_code == 404
    assert put(app, client, did, "x", tag, person="hr.west").status_code == 404
    assert client.get("/v1/drafts", headers=as_(app, "hr.west")).get_json()["items"] == []
    text = client.get(f"/v1/drafts/{did}/file?path={ALERTS}", headers=as_(app, "hr.east")).get_json()["text"]
    tag = put(app, client, did, text.replace(*THRESHOLD), tag).get_json()["etag"]
    assert client.post(f"/v1/drafts/{did}/submit", headers=as_(app, "hr.east")).status_code == 200
    assert client.get(f"/v1/drafts/{did}", headers=as_(app, "it.1")).status_code == 200
    assert client.get(f"/v1/drafts/{did}", headers=as_(app, "hr.west")).status_code == 404


def test_an_hrbp_cannot_accept_their_own_submission(app, bench, repo):
    from trimtab.server.storage.drafts import Draft
    client, _ = bench
    draft = open_alerts(app, client, person="hr.it")
    did = draft["id"]
    text = client.get(f"/v1/drafts/{did}/file?path={ALERTS}", headers=as_(app, "hr.it")).get_json()["text"]
    assert put(app, client, did, text.replace(*THRESHOLD), draft["files"][0]["etag"],
               person="hr.it").status_code == 200
    assert client.post(f"/v1/drafts/{did}/submit", headers=as_(app, "hr.it")).status_code == 200
    main = repo.git("rev-parse", "main")
    r = client.post(f"/v1/reviews/{did}/accept", headers=as_(app, "hr.it"))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "separation_of_duties"
    assert repo.git("rev-parse", "main") == main
    assert rows(app, Draft, Draft.id == did)[0].status == "submitted"
    # sent back with a comment, it is the author's to edit again
    r = client.post(f"/v1/reviews/{did}/return", json={"comment": "阈值请与财务确认"},
                    headers=as_(app, "it.1"))
    assert r.status_code == 200 and r.get_json()["review"]["comment"] == "阈值请与财务确认"
    assert rows(app, Draft, Draft.id == did)[0].status == "returned"
    assert client.post(f"/v1/reviews/{did}/accept", headers=as_(app, "it.1")).status_code == 409


def test_accept_refuses_a_merge_that_drops_rules_and_nothing_moves(app, bench, repo):
    client, _ = bench
    draft = open_alerts(app, client)
    did = draft["id"]
    assert put(app, client, did, "# 全部删除\n", draft["files"][0]["etag"]).status_code == 200
    assert client.post(f"/v1/drafts/{did}/submit", headers=as_(app, "hr.east")).status_code == 200
    served, main = client.get("/v1/rulesets/current", headers=as_(app, "it.1")).get_json()["version"], \
        repo.git("rev-parse", "main")
    r = client.post(f"/v1/reviews/{did}/accept", headers=as_(app, "it.1"))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "removals_need_confirmation"
    assert "合同额下滑" in r.get_json()["error"]["removed"]["rules"]
    assert repo.git("rev-parse", "main") == main
    assert client.get("/v1/rulesets/current", headers=as_(app, "it.1")).get_json()["version"] == served


def test_an_open_draft_is_discarded_with_its_files_and_replays_a_submitted_one_is_not(app, bench):
    from trimtab.server.storage.drafts import Draft, DraftFile, ReplayJob
    client, _ = bench
    hr = as_(app, "hr.east")
    draft = open_alerts(app, client)
    did = draft["id"]
    assert client.post(f"/v1/drafts/{did}/replay", json={}, headers=hr).status_code == 200
    assert client.delete(f"/v1/drafts/{did}", headers=as_(app, "hr.west")).status_code == 404
    assert client.delete(f"/v1/drafts/{did}", headers=hr).status_code == 200
    assert not rows(app, Draft, Draft.id == did) and not rows(app, DraftFile, DraftFile.draft_id == did)
    assert not rows(app, ReplayJob, ReplayJob.draft_id == did)
    assert client.get(f"/v1/drafts/{did}", headers=hr).status_code == 404
    draft = open_alerts(app, client)
    text = client.get(f"/v1/drafts/{draft['id']}/file?path={ALERTS}", headers=hr).get_json()["text"]
    put(app, client, draft["id"], text.replace(*THRESHOLD), draft["files"][0]["etag"])
    assert client.post(f"/v1/drafts/{draft['id']}/submit", headers=hr).status_code == 200
    r = client.delete(f"/v1/drafts/{draft['id']}", headers=hr)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "draft_not_editable"


NEW_RULE = """预警 商机停滞 级别 yellow
    针对 weekly_metrics 按 rep 每周
    当 stage_advances = 0 连续 2 周
    通知 direct_manager
    提示 "{rep}：连续两周没有商机推进"
"""


def test_a_new_file_with_a_rule_in_chinese_joins_the_draft_and_its_commit(app, bench, repo):
    client, _ = bench
    hr = as_(app, "hr.east")
    did = open_alerts(app, client)["id"]
    path = "rules/商机.rules"
    for bad, code in (("rules/../x.rules", "unknown_file"), ("elsewhere/a.rules", "unknown_file"),
                      ("rules/a.txt", "unknown_file"), (ALERTS, "file_exists")):
        r = client.post(f"/v1/drafts/{did}/files", json={"path": bad}, headers=hr)
        assert r.get_json()["error"]["code"] == code, bad
    r = client.post(f"/v1/drafts/{did}/files", json={"path": path}, headers=hr)
    assert r.status_code == 201 and r.get_json()["new"] is True
    assert client.post(f"/v1/drafts/{did}/files", json={"path": path}, headers=hr).status_code == 409
    typo = NEW_RULE.replace("stage_advances", "stage_advance")
    tag = client.put(f"/v1/drafts/{did}/file?path={path}", json={"text": typo},
                     headers={**hr, "If-Match": r.get_json()["etag"]}).get_json()["etag"]
    [diag] = client.get(f"/v1/drafts/{did}/check", headers=hr).get_json()["diagnostics"]
    assert (diag["file"], diag["line"], diag["code"]) == (path, 3, "check.unknown_field")
    tag = client.put(f"/v1/drafts/{did}/file?path={path}", json={"text": "# 草稿\n" + NEW_RULE},
                     headers={**hr, "If-Match": tag}).get_json()["etag"]
    assert client.get(f"/v1/drafts/{did}/check", headers=hr).get_json()["ok"] is True
    assert client.post(f"/v1/drafts/{did}/replay", json={}, headers=hr).get_json()["status"] == "done"
    assert client.put(f"/v1/drafts/{did}/file?path={path}", json={"text": NEW_RULE},    # after it
                      headers={**hr, "If-Match": tag}).status_code == 200
    assert client.get(f"/v1/drafts/{did}/diff", headers=hr).get_json()["words"] == ["商机停滞: new alert"]
    week3 = client.post(f"/v1/drafts/{did}/evaluate", headers=hr, json={
        "form": "weekly_metrics", "facts": week(3, 3, 0.9),
        "history": [week(1, 3, 0.9), week(2, 3, 0.9)]}).get_json()
    assert week3["changed"] == ["商机停滞"]
    r = client.post(f"/v1/drafts/{did}/submit", headers=hr)
    assert r.status_code == 200, r.get_json()
    commit = r.get_json()["review"]["commit"]
    assert repo.git("show", f"{commit}:{path}") == NEW_RULE.rstrip("\n")
    assert "Replay:\n  not run since the draft's last change" in repo.git("log", "-1", "--format=%B", commit)


def test_writes_need_if_match_and_stay_within_limits(app, bench):
    from trimtab.server.domain.drafts import MAX_FILE_CHARS, MAX_FILES
    client, _ = bench
    draft = open_alerts(app, client)
    did, tag = draft["id"], draft["files"][0]["etag"]
    url = f"/v1/drafts/{did}/file?path={ALERTS}"
    assert client.put(url, json={"text": "x"}, headers=as_(app, "hr.east")).status_code == 428
    big = put(app, client, did, "#" * (MAX_FILE_CHARS + 1), tag)
    assert big.status_code == 422 and big.get_json()["error"]["path"] == "$.text"
    many = client.post("/v1/drafts", json={"files": [ALERTS] * (MAX_FILES + 1)}, headers=as_(app, "hr.east"))
    assert many.status_code == 422
    unknown = client.post("/v1/drafts", json={"files": ["rules/nope.rules"]}, headers=as_(app, "hr.east"))
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_file"


def test_recorded_facts_export_and_why_a_decision(app, bench):
    client, _ = bench
    items = client.get("/v1/facts/export?form=weekly_metrics", headers=as_(app, "hr.east")).get_json()["items"]
    assert [i["facts"]["week_start"] for i in items] == ["2026-07-06", "2026-07-13", "2026-07-20", "2026-07-27"]
    assert items[0]["facts"]["meeting_conversion"] == 0.27 and items[0]["form"] == "weekly_metrics"
    assert client.get("/v1/facts/export", headers=as_(app, "hr.west")).get_json()["items"] == []
    decisions = client.get("/v1/decisions?rule=合同额下滑", headers=as_(app, "hr.east")).get_json()["items"]
    why = client.get(f"/v1/decisions/{decisions[-1]['id']}/why", headers=as_(app, "hr.east")).get_json()
    assert why["rule_text"]["text"].startswith("alert 合同额下滑 level red")
    assert why["rule_text"]["file"] == ALERTS and why["facts"]["week_start"] == "2026-07-27"
    assert why["explanation"] and why["ruleset_version"] == decisions[-1]["ruleset_version"]
    assert client.get(f"/v1/decisions/{decisions[-1]['id']}/why",
                      headers=as_(app, "hr.west")).status_code == 403


def test_check_gives_every_file_its_diagnostics_when_one_does_not_parse(app, bench):
    """A syntax error in one file does not hide a misspelt field in another: the broken file
    stands in with its served text for the check."""
    client, _ = bench
    hr = as_(app, "hr.east")
    r = client.post("/v1/drafts", json={"files": [ALERTS, "rules/health.rules"]}, headers=hr)
    did, tags = r.get_json()["id"], {f["path"]: f["etag"] for f in r.get_json()["files"]}
    for path, old, new in ((ALERTS, "when days_late > 5 days", "when days_late > > 5 days"),
                           ("rules/health.rules", "pipeline_coverage < 75%", "pipeline_coverag < 75%")):
        text = client.get(f"/v1/drafts/{did}/file?path={path}", headers=hr).get_json()["text"]
        assert client.put(f"/v1/drafts/{did}/file?path={path}", json={"text": text.replace(old, new)},
                          headers={**hr, "If-Match": tags[path]}).status_code == 200
    found = client.get(f"/v1/drafts/{did}/check", headers=hr).get_json()["diagnostics"]
    assert {(d["file"], d["code"].split(".")[0]) for d in found} == \
        {(ALERTS, "parse"), ("rules/health.rules", "check")}
    [typo] = [d for d in found if d["file"] == "rules/health.rules"]
    assert typo["code"] == "check.unknown_field" and "pipeline_coverage" in typo["hint"]


def test_two_drafts_of_the_same_lines_the_second_accept_is_a_conflict(app, bench, repo):
    """Two HRBPs change the same line from the same version: the first accepted wins; the
    second's commit (its parent the version it started from) does not merge, nothing moves."""
    from trimtab.server.storage.drafts import Draft
    client, _ = bench
    it = as_(app, "it.1")
    drafts = {}
    for person, new in (("hr.east", "growth(contract_amount) < 10%"),
                        ("hr.it", "growth(contract_amount) < 5%")):
        draft = open_alerts(app, client, person=person)
        text = client.get(f"/v1/drafts/{draft['id']}/file?path={ALERTS}",
                          headers=as_(app, person)).get_json()["text"]
        assert put(app, client, draft["id"], text.replace(THRESHOLD[0], new), draft["files"][0]["etag"],
                   person=person).status_code == 200
        drafts[person] = draft["id"]
    assert client.post(f"/v1/drafts/{drafts['hr.east']}/submit", headers=as_(app, "hr.east")).status_code == 200
    assert client.post(f"/v1/reviews/{drafts['hr.east']}/accept", headers=it).status_code == 200
    first = repo.git("rev-parse", "main")
    later = client.get(f"/v1/drafts/{drafts['hr.it']}", headers=as_(app, "hr.it")).get_json()
    assert later["stale"] is True
    assert client.post(f"/v1/drafts/{drafts['hr.it']}/submit", headers=as_(app, "hr.it")).status_code == 200
    r = client.post(f"/v1/reviews/{drafts['hr.it']}/accept", headers=it)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "review_conflict"
    assert repo.git("rev-parse", "main") == first
    assert client.get("/v1/rulesets/current", headers=it).get_json()["version"] == first
    assert rows(app, Draft, Draft.id == drafts["hr.it"])[0].status == "submitted"


class TestServingTheFilesOnDisk:
    """`trimtab serve` serves the files on disk (no TRIMTAB_RULES_REV): accepting moves the
    checked-out branch and its files, and refuses while they hold uncommitted changes."""

    @pytest.fixture
    def app_config(self, repo):
        return {"RULES_PATH": str(repo.rules), "LANG": "en"}

    def submitted(self, app, client) -> int:
        draft = open_alerts(app, client)
        text = client.get(f"/v1/drafts/{draft['id']}/file?path={ALERTS}",
                          headers=as_(app, "hr.east")).get_json()["text"]
        assert put(app, client, draft["id"], text.replace(*THRESHOLD),
                   draft["files"][0]["etag"]).status_code == 200
        assert client.post(f"/v1/drafts/{draft['id']}/submit", headers=as_(app, "hr.east")).status_code == 200
        return draft["id"]

    def test_accept_fast_forwards_the_work_tree(self, app, bench, repo):
        client, _ = bench
        did = self.submitted(app, client)
        r = client.post(f"/v1/reviews/{did}/accept", headers=as_(app, "it.1"))
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["version"] == repo.git("rev-parse", "HEAD")
        assert THRESHOLD[1] in (repo.rules / "alerts.rules").read_text(encoding="utf-8")
        assert repo.git("status", "--porcelain") == ""

    def test_uncommitted_changes_on_disk_refuse_the_accept(self, app, bench, repo):
        client, _ = bench
        did = self.submitted(app, client)
        head = repo.git("rev-parse", "HEAD")
        repo.edit("rules/alerts.rules", "days_late > 5 days", "days_late > 6 days")
        r = client.post(f"/v1/reviews/{did}/accept", headers=as_(app, "it.1"))
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "rules_worktree_dirty"
        assert repo.git("rev-parse", "HEAD") == head
