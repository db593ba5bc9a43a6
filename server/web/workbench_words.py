"""The workbench pages' own words, by key: English here, the other languages in the server's
catalog (server/locale, docs/messages.md) like every other message.  Messages from the API
(refusals, diagnostics, explanations) come already in the page's language: the pages ask for it."""
from __future__ import annotations

from flask import current_app, request

from trimtab.server.messages import Msg, msg

WORDS: dict[str, Msg] = {
    "title": msg("Rules workbench"),
    "files": msg("Files and drafts"),
    "served": msg("Rule files being served"),
    "version": msg("version"),
    "rules": msg("rules"),
    "open_draft": msg("Open as a draft"),
    "draft_title": msg("Draft title"),
    "my_drafts": msg("My drafts"),
    "no_drafts": msg("No drafts yet"),
    "status.open": msg("open"),
    "status.submitted": msg("in review"),
    "status.accepted": msg("accepted"),
    "status.returned": msg("sent back"),
    "stale": msg("the served version moved on"),
    "reviews": msg("Review queue"),
    "sign_out": msg("Sign out"),
    "editor": msg("Edit"),
    "saved": msg("saved"),
    "saving": msg("saving…"),
    "checking": msg("checking…"),
    "no_problems": msg("no problems"),
    "problems": msg("problems"),
    "format": msg("Format"),
    "to_zh": msg("To Chinese"),
    "to_en": msg("To English"),
    "conflict": msg("Someone else changed this file"),
    "reload": msg("Reload (drop my changes)"),
    "merge": msg("Merge my changes"),
    "merge_failed": msg("Both changed the same lines; cannot merge"),
    "params": msg("Parameters"),
    "no_params": msg("This file has no tunable numbers"),
    "apply": msg("Apply"),
    "limits": msg("limits"),
    "try": msg("Try it"),
    "form": msg("Form"),
    "typed_facts": msg("Typed facts"),
    "recorded_facts": msg("Recorded facts"),
    "pick_record": msg("Pick a record"),
    "run": msg("Run"),
    "rule": msg("Rule"),
    "published": msg("Served"),
    "draft": msg("Draft"),
    "changed": msg("changed"),
    "unchanged": msg("same"),
    "trace": msg("trace"),
    "impact": msg("Impact"),
    "diff": msg("Changes"),
    "no_changes": msg("No changes"),
    "replay": msg("Replay recorded facts"),
    "from": msg("from"),
    "to": msg("to"),
    "group_by": msg("group by"),
    "progress": msg("progress"),
    "records": msg("records"),
    "decisions_compared": msg("decisions compared"),
    "changed_count": msg("differ"),
    "by_rule": msg("by rule"),
    "by_group": msg("by team"),
    "examples": msg("examples"),
    "tests": msg("Rule tests"),
    "passed": msg("passed"),
    "failed": msg("failed"),
    "coverage": msg("coverage"),
    "submit": msg("Submit for review"),
    "submitted": msg("Submitted for review"),
    "accept": msg("Accept"),
    "send_back": msg("Send back"),
    "comment": msg("Comment"),
    "accepted_now": msg("Accepted; now serving version"),
    "returned_note": msg("Sent back"),
    "queue_empty": msg("Nothing waiting for review"),
    "author": msg("author"),
    "why": msg("Why this decision"),
    "facts": msg("Facts"),
    "rule_text": msg("The rule's text"),
    "explanation": msg("Explanation"),
    "forbidden": msg("The workbench is for HRBPs and IT"),
    "error": msg("Something went wrong"),
}


def page_lang() -> str:
    """zh unless asked otherwise: `?lang=`, then the `lang` cookie, then the signed-in person's
    own language (the org chart's 语言), then Accept-Language, then the deployment's LANG."""
    for asked in (request.args.get("lang"), request.cookies.get("trimtab_lang")):
        if asked in ("zh", "en"):
            return asked
    from trimtab.server.auth import current_principal
    principal = current_principal()
    if principal is not None and principal.lang in ("zh", "en"):
        return principal.lang
    accept = request.headers.get("Accept-Language", "").lower()
    if accept:
        return "en" if accept.startswith("en") else "zh"
    return current_app.config.get("LANG") or "zh"


def words(lang: str):
    return lambda key: WORDS[key].render(lang) if key in WORDS else key
