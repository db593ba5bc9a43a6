"""/workbench/: the HRBP workbench in the browser (issue 16) — files and drafts, the editor, IT's
review queue, why a decision.  Pages are Jinja templates; what they do goes through the
workbench's JSON API (workbench.py, reviews.py) called in process (`call`), so a page can show
nothing the API would not answer, with the same refusals.  The htmx fragments a page swaps in
are in workbench_parts.py."""
from __future__ import annotations

import json
from pathlib import Path

from flask import (Blueprint, current_app, make_response, redirect, render_template, request,
                   send_from_directory, url_for)

from trimtab.server.auth import current_principal, requires
from trimtab.server.web import reviews, workbench
from trimtab.server.core.errors import DomainError
from trimtab.server.web.workbench_words import page_lang, words

bp = Blueprint("workbench_pages", __name__, url_prefix="/workbench", template_folder="templates")
STATIC = Path(__file__).resolve().parent / "static"


@bp.get("/static/<path:filename>")
@requires("public")
def static(filename: str):
    """The pages' stylesheet, htmx and the editor bundle: the same for everyone, no secrets."""
    return send_from_directory(STATIC, filename, max_age=3600)


class Refused(Exception):
    """An API refusal met by a page: its status, code and message (in the page's language)."""

    def __init__(self, status: int, error: dict):
        super().__init__(error.get("message", ""))
        self.status, self.error = status, error


def call(view, *args, method: str = "GET", body=None, query=None, headers=None):
    """(status, JSON, headers) of an API view run for the signed-in person, as if asked over
    HTTP in the page's language.  The principal is the page request's (already checked,
    CSRF included), so the API's own `requires` and scope decide what is allowed."""
    data = json.dumps(body, ensure_ascii=False) if body is not None else None
    with current_app.test_request_context(
            request.path, method=method, data=data, query_string=query,
            content_type="application/json" if data is not None else None,
            headers={"Accept-Language": page_lang(), **(headers or {})}):
        try:
            answer = current_app.make_response(view(*args))
        except DomainError as err:
            raise Refused(err.status, {"code": err.code, "message": err.message, **err.extra}) from None
    return answer.status_code, answer.get_json(), answer.headers


def render(template: str, code: int = 200, **context):
    lang = page_lang()
    response = make_response(render_template(f"workbench/{template}", t=words(lang), lang=lang,
                                             who=current_principal(), **context), code)
    if request.args.get("lang") in ("zh", "en"):
        response.set_cookie("trimtab_lang", lang, max_age=365 * 86400, samesite="Lax")
    return response


UNBOUNDED = 10 ** 12         # a limit beyond this is the language's ceiling, not a rule's


@bp.app_template_filter("wb_limit")
def shown_limit(value) -> str:
    """A parameter's limit as written (80, not 8E+1), or nothing for no real limit."""
    if value is None or abs(value) >= UNBOUNDED:
        return ""
    return format(value.normalize(), "f")


@bp.before_request
def signed_in_and_allowed():
    """Sign-in first (back here after), then HRBPs, IT and admins only: anyone else 403."""
    if request.endpoint == "workbench_pages.static":
        return None
    principal = current_principal()
    if principal is None:
        return redirect(url_for("auth.sign_in_page", next=request.full_path.rstrip("?")))
    if not (principal.is_hrbp or principal.is_it):
        return render("forbidden.html", 403)
    return None


@bp.errorhandler(Refused)
def refused(err: Refused):
    template = "part_error.html" if request.headers.get("HX-Request") else "error.html"
    return render(template, err.status, error=err.error)


# ---------------------------------------------------------------- files and drafts
@bp.get("/")
@requires("workbench")
def home():
    who = current_principal()
    _, served, _ = call(workbench.served_files)
    mine = call(workbench.my_drafts)[1]["items"] if who.is_hrbp or who.is_admin else []
    return render("home.html", served=served, drafts=mine)


@bp.post("/drafts")
@requires("workbench")
def open_draft():
    paths = request.form.getlist("files")
    asked = {"files": paths, **({"title": request.form["title"]} if request.form.get("title") else {})}
    _, draft, _ = call(workbench.open_draft, method="POST", body=asked)
    return redirect(url_for(".draft_page", draft_id=draft["id"]), 303)


@bp.get("/drafts/<int:draft_id>")
@requires("workbench")
def draft_page(draft_id: int):
    _, draft, _ = call(workbench.get_draft, draft_id)
    paths = [f["path"] for f in draft["files"]]
    path = request.args.get("path") or (paths[0] if paths else None)
    if path not in paths:
        raise Refused(404, {"code": "not_found", "message": path or ""})
    return render("draft.html", draft=draft, path=path, forms=_forms(),
                  editable=draft["status"] in ("open", "returned") and
                  draft["owner"] == current_principal().person_id)


def _forms() -> list[str]:
    from trimtab.server.domain import rulesets
    return sorted(rulesets.active().by_form)


# ---------------------------------------------------------------- IT's queue, why
@bp.get("/reviews")
@requires("workbench")
def review_queue():
    status = request.args.get("status", "submitted")
    _, queue, _ = call(reviews.queue, query={"status": status})
    return render("reviews.html", items=queue["items"], status=status)


@bp.get("/why/<decision:decision_id>")
@requires("workbench")
def why_page(decision_id: int):
    _, doc, _ = call(reviews.why, decision_id)
    return render("why.html", doc=doc, decision_id=decision_id)
