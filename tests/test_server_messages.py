"""The server's messages (docs/messages.md): every refusal the server raises is a message of its
catalog with a zh-CN translation, every message renders in zh without English, and an answer
is in the request's language."""
from __future__ import annotations

import ast
import string

import pytest

from conftest import ROOT
from messagekit import ALLOWED, SAMPLE, english_words
from trimtab.dsl.catalog_tools import read_catalog
from trimtab.server.messages import Msg, msg

PO = ROOT / "server/locale/zh_CN/LC_MESSAGES/trimtab_server.po"
CATALOG = [m for m in read_catalog(PO) if m.id]
TRANSLATED = {m.id for m in CATALOG if m.string and not m.fuzzy}

# Who builds a refusal from a message, and which argument the message is.  The helpers raise
# DomainError with the message their callers give them: their callers are checked instead.
BUILDERS = {"DomainError": 1, "unauthorized": 0, "_unauthorized": 0}
OAUTH_BUILDERS = {**BUILDERS, "_refuse": 1}
# Messages that are not the server's catalog's, each for its reason: a RuleError's (the
# language's catalog, already in the request's language), a helper passing on its caller's
# msg(...), a catalog lookup of the language's limit texts, jsonschema's wrapped per keyword.
PASSED_ON = {
    ("server/core/errors.py", "err.message(lang)"),
    ("server/web/targets.py", "d.error.message(lang)"),
    ("server/web/targets.py", "doc['explanation']"),
    ("server/web/oauth.py", "message"),
    ("server/plugin/signed.py", "message"),
    ("server/web/api.py", "message"),
    ("server/web/api.py", "problem[1]"),                       # orgchart.problem_of: msg(...)
    ("server/core/limits.py", "LIMIT_MESSAGES.get(problem.message, problem.message)"),
    ("server/domain/validation.py", "problem_message(first)"),
    ("server/web/contract.py", "problem_message(problem, name)"),   # pydantic's problem as msg(...)
    ("server/plugin/lark_records.py", "err.message"),          # parse_text's msg(...), at the cell's path
    ("server/web/workbench_editor.py", "err.message(out)"),    # the RuleError, in the request's language
}


def refusal_sites() -> list[tuple[str, str, int, ast.expr | None]]:
    """(code or "", file, line, message expression) of every refusal built in server/."""
    sites = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        builders = OAUTH_BUILDERS if path.name == "oauth.py" else BUILDERS
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            name = getattr(node, "func", None) is not None and getattr(node.func, "id", None)
            if not isinstance(node, ast.Call) or name not in builders:
                continue
            index = builders[name]
            message = node.args[index] if len(node.args) > index else \
                next((k.value for k in node.keywords if k.arg == "message"), None)
            first = node.args[0] if node.args else None
            code = first.value if name != "unauthorized" and isinstance(first, ast.Constant) else ""
            sites.append((str(code), str(path.relative_to(ROOT)), node.lineno, message))
    return sites


SITES = refusal_sites()


def test_the_scan_sees_the_servers_refusals():
    assert len(SITES) > 150 and len({code for code, *_ in SITES if code}) > 40


@pytest.mark.parametrize("code", sorted({code or "(a helper's caller)" for code, *_ in SITES}))
def test_every_refusal_of_a_code_is_a_translated_catalog_message(code):
    bad = []
    for site_code, file, line, message in SITES:
        if (site_code or "(a helper's caller)") != code:
            continue
        if isinstance(message, ast.Call) and getattr(message.func, "id", None) == "msg":
            msgid = message.args[0].value if message.args and isinstance(message.args[0], ast.Constant) else None
            if msgid not in TRANSLATED:
                bad.append(f"{file}:{line}: msg({msgid!r}) has no zh translation (scripts/messages.sh)")
        elif message is None or (file, ast.unparse(message)) not in PASSED_ON:
            shown = ast.unparse(message) if message is not None else "no message"
            bad.append(f"{file}:{line}: {shown} — write msg(\"English {{arg}}\", arg=…)")
    assert not bad, "\n".join(bad)


# Sample arguments beyond the language's: what a person or the server passes; words of ours
# as the code passes them (a Msg); other programs' own text shown verbatim.
SERVER_SAMPLE = {**SAMPLE, "who": "10.0.0.1", "id": "华东.李", "rep": "华东.李", "actor": "华东.李",
                 "requester": "华东.李", "waiting": "华南.王", "held": "华东", "region": "华南",
                 "provider": "钉钉", "platform_names": "飞书", "sheet": "人员", "column": "B", "row": "3",
                 "message": "为空", "facts": "0.12345", "names": "`x`", "given": "1200"}
WORD_SAMPLE = {"what": msg("meeting"), "field": msg("month"), "arg": msg("concerns them"),
               "parts": [msg("{count} rules", count=2), msg("{count} files", count=1)]}
VERBATIM = {"err", "error"}
SERVER_ALLOWED = {"CSV", "Excel", "xlsx", "MB", "KB", "ISO", "UTC", "NUL", "CSRF", "Unix", "HRBP", "IT", "PostgreSQL"}


def placeholders(text: str) -> set[str]:
    """The {named} arguments of a text; none when its braces are literal (a message without
    arguments is not formatted: `a 简道云 push is {op, data, opTime}`)."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        return set()
    return names if all(n.isidentifier() for n in names) else set()


def server_args(msgid: str, zh: str) -> dict:
    names = placeholders(msgid) | placeholders(zh)
    return {n: "…" if n in VERBATIM else WORD_SAMPLE[n] if n in WORD_SAMPLE and f"{{{n}}}" in zh
            and f"`{{{n}}}`" not in zh else SERVER_SAMPLE.get(n, "3") for n in names}


@pytest.mark.parametrize("msgid", sorted(m.id for m in CATALOG))
def test_every_server_message_renders_in_zh_without_english(msgid):
    zh_template = next(m.string for m in CATALOG if m.id == msgid)
    args = server_args(msgid, zh_template)
    zh = Msg(msgid, args).render("zh")
    assert not any("{%s}" % n in zh for n in args), zh
    assert not [w for w in english_words(zh) if w not in SERVER_ALLOWED], f"{msgid} → {zh}"


def test_the_allowed_names_stay_short():
    assert len(ALLOWED | SERVER_ALLOWED) < 30


# ---------------------------------------------------------------- answers in the request's language

def no_english(text: str) -> bool:
    return not [w for w in english_words(text) if w not in SERVER_ALLOWED]


def test_a_bad_signature_is_answered_in_chinese(hooks):
    zh = hooks.post("weekly_metrics", b"{}", lang="zh-CN", secret="wrong")
    en = hooks.post("weekly_metrics", b"{}", lang="en", secret="wrong")
    assert zh.status_code == en.status_code == 401
    assert zh.json["error"]["message"] == "未知的客户端或签名错误"
    assert en.json["error"]["message"] == "unknown client or wrong signature"


def test_an_unknown_form_is_answered_in_chinese(hooks):
    zh = hooks.post("no_such_form", b"{}", lang="zh-CN").json["error"]
    en = hooks.post("no_such_form", b"{}", lang="en").json["error"]
    assert zh == {"code": "unknown_form", "message": "没有表单 `no_such_form`", "path": "/hooks/no_such_form"}
    assert en == {"code": "unknown_form", "message": "no form `no_such_form`", "path": "/hooks/no_such_form"}


def test_a_schema_violation_and_its_problems_are_answered_in_chinese(hooks):
    body = {"rep": "sales.east.li", "week": "2026-W10", "effective_visits": "many"}
    zh = hooks.post("weekly_metrics", body, lang="zh-CN")
    en = hooks.post("weekly_metrics", body, lang="en")
    assert zh.status_code == en.status_code == 422
    assert zh.json["error"]["path"] == en.json["error"]["path"]
    messages = [zh.json["error"]["message"]] + [p["message"] for p in zh.json["error"]["problems"]]
    assert all(no_english(m) for m in messages), messages
    # English is jsonschema's own text, word for word
    assert en.json["error"]["message"].endswith(("is a required property", "is not of type 'integer'"))


def test_an_org_import_with_bad_rows_is_answered_in_chinese(client):
    body = b"id,role\nsales.x,\n"
    zh = client.post("/v1/org/import", data=body, content_type="text/csv", headers={"Accept-Language": "zh-CN"})
    en = client.post("/v1/org/import", data=body, content_type="text/csv", headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 422
    assert zh.json["error"]["problems"][0]["message"] == "`role` 为空"
    assert en.json["error"]["problems"][0]["message"] == "`role` is empty"
    assert zh.json["error"]["message"].startswith("有 1 行有误") and no_english(zh.json["error"]["message"])


def test_werkzeugs_refusals_are_answered_in_chinese(client):
    zh = client.get("/v1/no/such/route", headers={"Accept-Language": "zh-CN"})
    en = client.get("/v1/no/such/route", headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 404
    assert zh.json["error"]["message"] == "此地址没有内容：请检查网址"
    assert en.json["error"]["message"].startswith("The requested URL was not found")


def test_without_accept_language_a_signed_in_person_is_answered_in_their_language(app, client):
    from serverkit import bearer
    client.post("/v1/org/people", json={"people": [
        {"id": "east.zh", "name": "赵", "role": "rep", "region": "east", "lang": "zh"},
        {"id": "east.en", "name": "Ed", "role": "rep", "region": "east", "lang": "en"}]})
    app.config["LANG"] = "en"
    zh = client.get("/v1/meetings/999999/brief", headers=bearer(app, "east.zh"))
    en = client.get("/v1/meetings/999999/brief", headers=bearer(app, "east.en"))
    assert zh.status_code == en.status_code == 404, zh.json
    assert zh.json["error"]["message"] == "没有会议 999999"
    assert en.json["error"]["message"] == "no meeting 999999"


def test_an_excel_import_problem_is_told_in_the_readers_language():
    from trimtab.server.plugin.excel import ImportRefused, problem_text, read_book
    with pytest.raises(ImportRefused) as refused:
        read_book(b"not a workbook")
    problem = refused.value.problems[0]
    assert problem_text(problem, "zh") == "该文件不是 Excel 工作簿（.xlsx）"
    assert problem_text(problem) == "the file is not an Excel workbook (.xlsx)"


def test_the_workbenchs_refusals_are_answered_in_chinese(client):
    zh = client.get("/v1/decisions/999999/why", headers={"Accept-Language": "zh-CN"})
    en = client.get("/v1/decisions/999999/why", headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 404
    assert zh.json["error"]["message"] == "没有判定结果 999999"
    assert en.json["error"]["message"] == "no decision 999999"
    zh = client.get("/v1/reviews?status=open", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 400
    assert zh.json["error"]["message"].startswith("`status` 只能是")     # the query model's refusal
    assert "accepted" in zh.json["error"]["message"] and zh.json["error"]["path"] == "$.status"
