"""The workbench's pages and htmx fragments through Flask's test client (issue 16): who may
open them, the zh and en pages, a draft's parameters, try it, impact, submit and IT's accept as
HTML; the editor's keyword, completion and format API; the committed editor bundle current
against its sources; rule files parsed in threads at once (the draft pages' requests)."""
from __future__ import annotations

import re
import runpy
import threading
from collections import Counter

import pytest

import workbenchkit
from conftest import ROOT
from serverkit import Hooks, bearer, load_org, week
from workbenchkit import ALERTS
PEOPLE = {"people": [
    {"id": "east.li", "name": "李东", "role": "rep", "region": "east", "hrbp": "hr.east"},
    {"id": "hr.east", "name": "陈HRBP", "role": "hrbp", "region": "east"},
    {"id": "hr.west", "name": "Wendy", "role": "hrbp", "region": "west", "lang": "en"},
    {"id": "it.1", "name": "IT 工程师", "role": "it_engineer", "grants": "it"}]}


@pytest.fixture
def db_kind():
    return "sqlite"


repo = workbenchkit.repo                 # a fixture: the rules repository the app serves from


@pytest.fixture
def app_config(repo):
    return {"RULES_PATH": str(repo.rules), "RULES_REV": "main", "LANG": "zh"}


@pytest.fixture
def bench(app):
    hooks = Hooks(load_org(app, PEOPLE))
    for n in range(1, 5):
        assert hooks.post("weekly_metrics", week(n, 3, 0.9)).status_code == 200
    return app.test_client()


def test_pages_ask_for_sign_in_refuse_a_rep_and_speak_zh_first(app, bench):
    r = bench.get("/workbench/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/auth/login?next=/workbench/")
    r = bench.get("/workbench/", headers=bearer(app, "east.li"))
    assert r.status_code == 403 and "工作台只对HRBP和IT开放" in r.text
    r = bench.get("/workbench/", headers=bearer(app, "hr.east"))
    assert r.status_code == 200 and "规则工作台" in r.text and ALERTS in r.text
    r = bench.get("/workbench/", headers={**bearer(app, "hr.east"), "Accept-Language": "en-US"})
    assert "Rules workbench" in r.text and "规则工作台" not in r.text
    r = bench.get("/workbench/", headers=bearer(app, "hr.west"))      # her own language: en
    assert "Rules workbench" in r.text and "规则工作台" not in r.text
    r = bench.get("/workbench/?lang=zh", headers=bearer(app, "hr.west"))
    assert "规则工作台" in r.text
    it = bench.get("/workbench/", headers=bearer(app, "it.1"))
    assert it.status_code == 200 and 'id="nav-reviews"' in it.text and 'id="open-draft"' not in it.text


def test_a_session_must_send_its_csrf_token(app, bench):
    token = bearer(app, "hr.east")["Authorization"].split()[1]
    page = bench.get("/auth/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert bench.post("/auth/token", data={"token": token, "csrf_token": csrf}).status_code == 303
    refused = bench.post("/workbench/drafts", data={"files": ALERTS})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    home = bench.get("/workbench/")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)
    r = bench.post("/workbench/drafts", data={"files": ALERTS}, headers={"X-CSRFToken": csrf})
    assert r.status_code == 303 and re.fullmatch(r"/workbench/drafts/\d+", r.headers["Location"])


def test_a_draft_through_the_fragments_to_an_accepted_version(app, bench, repo):
    hr, it = bearer(app, "hr.east"), bearer(app, "it.1")
    r = bench.post("/workbench/drafts", data={"files": ALERTS, "title": "负面反馈"}, headers=hr)
    base = r.headers["Location"]
    page = bench.get(base, headers=hr)
    assert page.status_code == 200 and f'data-path="{ALERTS}"' in page.text

    params = bench.get(f"{base}/params?path={ALERTS}", headers=hr).text
    assert re.search(r'name="p:合同额下滑/when/2" value="3"', params)
    r = bench.post(f"{base}/params?path={ALERTS}", headers=hr, data={"p:合同额下滑/when/2": "0"})
    assert r.status_code == 200 and '"trimtab:file-changed"' in r.headers["HX-Trigger"]
    text = bench.get(f"/v1/drafts/{base.rsplit('/', 1)[1]}/file?path={ALERTS}", headers=hr).get_json()["text"]
    assert "negative_feedback >= 0" in text
    refused = bench.post(f"{base}/params?path={ALERTS}", headers=hr, data={"p:合同额下滑/when/2": "-1"})
    assert 'class="refusal"' in refused.text and "negative_feedback >= 0" in \
        bench.get(f"/v1/drafts/{base.rsplit('/', 1)[1]}/file?path={ALERTS}", headers=hr).get_json()["text"]

    assert "的阈值 3 → 0" in bench.get(f"{base}/diff", headers=hr).text
    form = bench.get(f"{base}/try?form=weekly_metrics", headers=hr).text
    record = re.findall(r'<option value="(east\.li\|[^"]+)"', form)[1]
    tried = bench.post(f"{base}/try", headers=hr, data={"form": "weekly_metrics", "record": record}).text
    assert re.search(r'<tr class="changed" data-rule="合同额下滑">\s*<td>合同额下滑 <mark', tried)
    typed = bench.post(f"{base}/try", headers=hr, data={
        "form": "weekly_metrics", "f:rep": "east.li", "f:region": "east", "f:week_start": "2026-07-06",
        "f:contract_amount": "100", "f:negative_feedback": "0"}).text
    assert 'data-rule="合同额下滑"' in typed
    replay = bench.post(f"{base}/replay", headers=hr, data={"form": "weekly_metrics", "group_by": "region"}).text
    assert "4 条记录" in replay and "<b>4 个有变化</b>" in replay and "合同额下滑: 4" in replay
    tests = bench.get(f"{base}/tests", headers=hr).text     # a rule test expected the old threshold
    assert "<b>1</b> 失败" in tests and "<details class=\"refusal\">" in tests
    assert "review/draft-" in bench.post(f"{base}/submit", headers=hr).text

    queue = bench.get("/workbench/reviews", headers=it).text
    assert "负面反馈" in queue and "合同额下滑: 4" in queue
    draft_id = base.rsplit("/", 1)[1]
    accepted = bench.post(f"/workbench/reviews/{draft_id}/accept", headers=it).text
    version = re.search(r'<code id="new-version">(\w+)</code>', accepted).group(1)
    served = bench.get("/v1/rulesets/current", headers=it).get_json()["version"]
    assert version == repo.git("rev-parse", "main") == served
    assert bench.post(f"/workbench/reviews/{draft_id}/accept", headers=it).status_code == 409


def test_the_editor_api_keywords_completion_format(app, bench):
    hr = bearer(app, "hr.east")
    table = bench.get("/workbench/api/keywords", headers=hr).get_json()
    assert {"当", "when", "预警", "alert", "when cleared"} <= set(table["keywords"])
    text = "alert 测试 level red\n    on weekly_metrics per rep\n    when effec"
    items = bench.post("/workbench/api/complete", headers={**hr, "Accept-Language": "zh"}, json={
        "text": text, "line": 2, "column": 14}).get_json()["items"]
    [field] = [i for i in items if i["label"] == "effective_visits"]
    assert field["kind"] == "field" and field["detail"].startswith("有效拜访数")
    roles = bench.post("/workbench/api/complete", headers=hr, json={
        "text": text + "\n    notify ", "line": 3, "column": 11}).get_json()["items"]
    assert {"direct_manager", "hrbp"} <= {i["label"] for i in roles}
    zh = bench.post("/workbench/api/format", headers=hr, json={
        "text": text.replace("effec", "effective_visits < 8") + "\n    notify hrbp\n", "lang": "zh",
        "path": "rules/新.rules"}).get_json()["text"]
    assert zh.startswith("预警 测试 级别 red\n    针对 周度销售指标 按 销售代表") and "当 有效拜访数 < 8" in zh
    bad = bench.post("/workbench/api/format", headers=hr, json={"text": "alert (", "lang": "en"})
    assert bad.status_code == 422 and bad.get_json()["error"]["diagnostics"]
    assert bench.get("/workbench/api/keywords", headers=bearer(app, "east.li")).status_code == 403


def test_the_committed_editor_bundle_is_built_from_the_sources():
    """scripts/bundle.sh records its sources' hash in the bundle's first line; this needs no Node."""
    expected = runpy.run_path(str(ROOT / "scripts" / "workbench" / "hash_sources.py"))["sources_hash"]()
    first = (ROOT / "server" / "web" / "static" / "editor.js").read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == f"/* trimtab-workbench-sources: {expected} */", \
        "server/web/static/editor.js is stale: run scripts/bundle.sh"
    assert (ROOT / "server" / "web" / "static" / "htmx.min.js").stat().st_size > 40_000


def test_rule_files_parse_right_in_threads_at_once(shipped):
    """A threaded server loads drafts in several requests at once: each load sees its own
    files (the parser's indenter keeps state; one shared parser lost rules).  Every load's
    texts differ (a comment of its own), so every file is parsed, not taken from those kept."""
    from trimtab.dsl.ruleset import load_sources
    sources = [(f.path, f.text) for f in shipped.checked.files]
    seen, errors = [], []     # list.append is atomic; a Counter's += is not (it lost a count once)

    def load_some():
        for i in range(4):
            mine = [(path, f"{text}\n# {threading.get_ident()} {i}\n") for path, text in sources]
            try:
                loaded = load_sources(mine, shipped.schemas)
                seen.append((len(loaded.rules), len(loaded.checked.schedules)))
            except Exception as err:          # what the race raised: parse errors out of nowhere
                errors.append(err)
    threads = [threading.Thread(target=load_some) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and Counter(seen) == Counter({(len(shipped.rules), len(shipped.checked.schedules)): 24})
