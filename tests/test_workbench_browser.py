"""The workbench in a real browser (issue 16): Debian's chromium driven by playwright against
the server on a thread (werkzeug) over a fresh SQLite database with the org chart and four
recorded weeks.  An HRBP misspells a field and sees the zh diagnostic with its suggestion,
fixes it, moves a threshold in the parameters form, tries the draft on recorded facts, replays,
submits; IT accepts and the server answers with the new version; a rep gets 403.  Chinese typed
through an IME (CDP composition) lands in the editor exactly.  Screenshots of each step go to
var/screenshots/workbench/.  Without chromium these tests FAIL (scripts/test.sh installs it)."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from conftest import ROOT
from gitrepo import RulesRepo
from serverkit import Hooks, bearer, load_org, make_app, week

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "var" / "screenshots" / "workbench"
ALERTS = "rules/alerts.rules"
PEOPLE = {"people": [
    {"id": "east.li", "name": "李东", "role": "rep", "region": "east", "manager": "east.mgr", "hrbp": "hr.east"},
    {"id": "east.mgr", "name": "王经理", "role": "regional_manager", "region": "east", "manager": "sales.dir"},
    {"id": "hr.east", "name": "陈HRBP", "role": "hrbp", "region": "east"},
    {"id": "sales.dir", "name": "销售总监", "role": "sales_director"},
    {"id": "it.1", "name": "IT 工程师", "role": "it_engineer", "grants": "it"}]}
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, app, repo): the server on a thread, the org chart and 4 weeks recorded."""
    from werkzeug.serving import make_server
    tmp = tmp_path_factory.mktemp("browser")
    repo = RulesRepo(tmp / "repo")
    app = make_app(f"sqlite:///{tmp / 'trimtab.db'}", RULES_PATH=str(repo.rules), RULES_REV="main",
                   LANG="zh")
    hooks = Hooks(load_org(app, PEOPLE))
    for n in range(1, 5):
        assert hooks.post("weekly_metrics", week(n, 3, 0.9)).status_code == 200
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", app, repo
    httpd.shutdown()
    app.extensions["trimtab.engine"].dispose()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk "
                    "(scripts/test.sh does)")
    from playwright.sync_api import sync_playwright     # in the test extra; missing fails too
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--lang=zh-CN"])
        yield launched
        launched.close()


def signed_in(browser, server, person: str):
    """A browser context signed in as `person` through the sign-in page and a personal token."""
    base, app, _ = server
    token = bearer(app, person)["Authorization"].split()[1]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{base}/auth/login?next=/workbench/")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    return context, page


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def editor_text(page) -> str:
    return page.evaluate("window.trimtabEditor.state.doc.toString()")


def put_cursor(page, offset: int) -> None:
    page.evaluate("(at) => { const v = window.trimtabEditor; v.focus(); v.dispatch({selection: {anchor: at}}); }",
                  offset)


def open_alerts(page, base: str, title: str) -> None:
    page.goto(f"{base}/workbench/")
    page.check(f"input[value='{ALERTS}']")
    page.fill("input[name=title]", title)
    page.click("#open-draft button[type=submit]")
    page.wait_for_url(re.compile(r"/workbench/drafts/\d+"))
    page.wait_for_function("window.trimtabEditor !== undefined")


def test_an_hrbp_changes_a_rule_in_the_browser_and_it_accepts(browser, server):
    base, app, repo = server
    served = repo.git("rev-parse", "main")

    # a rep cannot open the workbench
    context, page = signed_in(browser, server, "east.li")
    assert page.goto(f"{base}/workbench/").status == 403
    assert "HRBP" in page.text_content("#forbidden")
    shot(page, "00-rep-403")
    context.close()

    context, page = signed_in(browser, server, "hr.east")
    page.wait_for_selector("#served")
    assert "规则工作台" in page.title() and ALERTS in page.text_content("#served")
    shot(page, "01-files")
    open_alerts(page, base, "负面反馈预警提前")
    text = editor_text(page)
    assert "negative_feedback >= 3" in text
    shot(page, "02-editor")

    # a misspelt field, typed: the zh diagnostic with its did-you-mean, as one types
    put_cursor(page, text.index("negative_feedback >= 3") + len("negative_feedbac"))
    page.keyboard.press("Backspace")
    page.keyboard.type("k")
    problem = page.wait_for_selector("#problems li[data-code='check.unknown_field']")
    said = problem.text_content()
    assert "negative_feedbak" in said and "字段" in said and "negative_feedback" in said.split("—")[-1]
    page.wait_for_selector(".cm-lint-marker-error")
    shot(page, "03-diagnostic")

    # fixed: no problems left
    page.keyboard.press("Backspace")
    page.keyboard.type("c")
    page.wait_for_function("document.querySelectorAll('#problems li').length === 0 && "
                           "document.getElementById('save-state').textContent.includes('没有问题')")
    assert editor_text(page) == text

    # a threshold moved in the parameters form: the text changes in the rule's notation
    page.fill("input[data-id='合同额下滑/when/2']", "0")
    page.click("#params-form button[type=submit]")
    page.wait_for_selector("#params tr.changed")
    page.wait_for_function("window.trimtabEditor.state.doc.toString().includes('negative_feedback >= 0')")
    assert editor_text(page) == text.replace("negative_feedback >= 3", "negative_feedback >= 0")
    page.wait_for_selector("#diff li")
    assert "合同额下滑" in page.text_content("#diff")
    shot(page, "04-parameters")

    # try it on week 3's recorded facts: the changed decision marked, with its explanation
    page.wait_for_selector("#try-record")
    period = page.eval_on_selector("#try-record", "s => s.options[2].value")
    page.select_option("#try-record", period)
    page.click("#try-run")
    row = page.wait_for_selector("#compare tr.changed[data-rule='合同额下滑']")
    assert "有变化" in row.text_content() and "已触发" in row.text_content()
    shot(page, "05-try")

    # the replay: every recorded week changes for this rule
    page.click("#replay-form button[type=submit]")
    summary = page.wait_for_selector("#replay-summary")
    assert "4 条记录" in summary.text_content() and "4 个有变化" in summary.text_content()
    assert "合同额下滑: 4" in page.text_content("#replay")
    page.click("#run-tests")
    assert "1 失败" in page.wait_for_selector("#tests-summary").text_content()   # one expected 3
    shot(page, "06-impact")

    page.click("#submit")
    assert "review/draft-" in page.wait_for_selector("#submitted").text_content()
    shot(page, "07-submitted")
    context.close()

    # IT accepts; the server answers with the new version
    context, page = signed_in(browser, server, "it.1")
    page.goto(f"{base}/workbench/reviews")
    assert "负面反馈预警提前" in page.text_content("main")
    shot(page, "08-review-queue")
    page.click("button.accept")
    version = page.wait_for_selector("#new-version").text_content()
    shot(page, "09-accepted")
    assert version != served and version == repo.git("rev-parse", "main")
    answer = page.request.get(f"{base}/v1/rulesets/current")
    assert answer.json()["version"] == version
    assert answer.headers["x-trimtab-ruleset-version"] == version
    assert "negative_feedback >= 0" in repo.git("show", f"{version}:{ALERTS}")
    context.close()


def test_chinese_typed_through_an_ime_lands_exactly(browser, server):
    base = server[0]
    context, page = signed_in(browser, server, "hr.east")
    open_alerts(page, base, "输入法")
    before = editor_text(page)
    put_cursor(page, len(before))
    page.keyboard.press("Enter")
    cdp = context.new_cdp_session(page)
    composed = ""
    for pinyin, chinese in (("dang", "当 "), ("youxiaobaifangshu", "有效拜访数"), (" < 8", " < 8")):
        for n in range(1, len(pinyin) + 1):       # the candidate window as the IME grows it
            cdp.send("Input.imeSetComposition", {"text": pinyin[:n], "selectionStart": n,
                                                 "selectionEnd": n})
        cdp.send("Input.insertText", {"text": chinese})
        composed += chinese
    page.wait_for_function("(want) => window.trimtabEditor.state.doc.toString().endsWith(want)",
                           arg="\n" + composed)
    assert editor_text(page) == before + "\n" + composed
    shot(page, "10-ime")
    context.close()
