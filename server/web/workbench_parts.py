"""The htmx fragments of the workbench's draft page and review queue: parameters, try it,
impact (diff, replay with progress, tests), submit, accept and send back.  Each answers HTML
for the part of the page it replaces, from the JSON API's answer (workbench_pages.call)."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from flask import make_response, request

from trimtab.dsl.diagnostics import RuleError
from trimtab.server.auth import requires
from trimtab.server.domain import drafts, rulesets
from trimtab.server.web import reviews, workbench
from trimtab.server.web.workbench_pages import Refused, bp, call, render
from trimtab.server.web.workbench_words import page_lang

RECORDED_CHOICES = 50           # recorded facts offered to pick from, latest first


# ---------------------------------------------------------------- parameters
def _file(draft_id: int, path: str) -> dict:
    return call(workbench.get_file, draft_id, query={"path": path})[1]


def _parameters(path: str, text: str):
    from trimtab.dsl.parameters import parameters
    try:
        return parameters(text, rulesets.active().schemas, path), None
    except RuleError as err:
        return [], err.message(page_lang())


@bp.get("/drafts/<int:draft_id>/params")
@requires("workbench")
def params_part(draft_id: int):
    path = request.args.get("path", "")
    found, problem = _parameters(path, _file(draft_id, path)["text"])
    return render("part_params.html", draft_id=draft_id, path=path, params=found, problem=problem)


@bp.post("/drafts/<int:draft_id>/params")
@requires("workbench")
def set_params(draft_id: int):
    """The numbers changed in the form, written into the file's text in the rule's notation
    (dsl/parameters.set_parameters, checked with the rest of the draft), saved with If-Match."""
    from trimtab.dsl.parameters import set_parameters
    path = request.args.get("path", "")
    current = _file(draft_id, path)
    found, problem = _parameters(path, current["text"])
    changes = {}
    for p in found:
        asked = (request.form.get(f"p:{p.id}") or "").strip()
        if asked and _number(asked) != p.value:
            changes[p.id] = asked
    text = current["text"]
    if changes:
        with_draft = drafts.sources_with(rulesets.active(), [])
        _, draft, _ = call(workbench.get_draft, draft_id)
        sources = [(name, src) for name, src in with_draft if name != path]
        sources += [(f["path"], _file(draft_id, f["path"])["text"]) for f in draft["files"]
                    if f["path"] != path]
        try:
            text = set_parameters(current["text"], changes, rulesets.active().schemas,
                                  filename=path, sources=sources)
        except RuleError as err:
            problem = err.message(page_lang())
    etag = current["etag"]
    if changes and problem is None:
        _, saved, _ = call(workbench.put_file, draft_id, method="PUT", body={"text": text},
                           query={"path": path}, headers={"If-Match": f'"{etag}"'})
        etag = saved["etag"]
        found, problem = _parameters(path, text)
    response = make_response(render("part_params.html", draft_id=draft_id, path=path,
                                     params=found, problem=problem, changed=sorted(changes)))
    if changes and problem is None:   # the editor reloads the file it shows
        response.headers["HX-Trigger"] = json.dumps({"trimtab:file-changed": {"path": path,
                                                                              "etag": etag}})
    return response


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.rstrip("%万元天小时分钟 ").replace(",", ""))
    except InvalidOperation:
        return None


# ---------------------------------------------------------------- try it
@bp.get("/drafts/<int:draft_id>/try")
@requires("workbench")
def try_form(draft_id: int):
    form = request.args.get("form", "")
    schema = rulesets.active().schemas.get(form)
    if schema is None:
        raise Refused(404, {"code": "unknown_form", "message": form})
    _, recorded, _ = call(reviews.export_facts, query={"form": form, "limit": 500})
    items = recorded["items"][-RECORDED_CHOICES:][::-1]
    props = schema.raw.get("properties", {})
    return render("part_try_form.html", draft_id=draft_id, form=form, schema=schema,
                  props=props, recorded=items)


@bp.post("/drafts/<int:draft_id>/try")
@requires("workbench")
def try_run(draft_id: int):
    form = request.form.get("form", "")
    picked = request.form.get("record")
    if picked:
        subject, _, period = picked.partition("|")
        asked = {"form": form, "subject": subject, "period": period}
    else:
        asked = {"form": form, "facts": _typed_facts(form)}
    _, result, _ = call(workbench.evaluate_draft, draft_id, method="POST", body=asked)
    return render("part_try_result.html", result=result)


def _typed_facts(form: str) -> dict:
    """The form's fields as typed, each read as its kind (a number stays exact as text)."""
    schema = rulesets.active().schemas.get(form)
    if schema is None:                  # a form nobody has: refused as the GET refuses it
        raise Refused(404, {"code": "unknown_form", "message": form})
    facts: dict = {}
    for name, f in schema.fields.items():
        raw = (request.form.get(f"f:{name}") or "").strip()
        if not raw:
            continue
        if f.kind in ("integer", "number"):
            number = _number(raw)
            facts[name] = raw if number is None else \
                (int(number) if f.kind == "integer" and number == number.to_integral() else float(number))
        elif f.kind == "boolean":
            facts[name] = raw in ("true", "是", "1")
        elif f.kind == "array":
            try:
                facts[name] = json.loads(raw)
            except ValueError:
                facts[name] = raw
        else:
            facts[name] = raw
    return facts


# ---------------------------------------------------------------- impact
@bp.get("/drafts/<int:draft_id>/diff")
@requires("workbench")
def diff_part(draft_id: int):
    _, diff, _ = call(workbench.diff_draft, draft_id)
    return render("part_diff.html", diff=diff)


@bp.post("/drafts/<int:draft_id>/replay")
@requires("workbench")
def replay_part(draft_id: int):
    asked = {k: request.form[k] for k in ("form", "from", "to", "group_by") if request.form.get(k)}
    _, job, _ = call(workbench.replay_draft, draft_id, method="POST", body=asked)
    return render("part_replay.html", job=job)


@bp.get("/replays/<int:job_id>")
@requires("workbench")
def replay_progress(job_id: int):
    _, job, _ = call(workbench.replay_status, job_id)
    return render("part_replay.html", job=job)


@bp.get("/drafts/<int:draft_id>/tests")
@requires("workbench")
def tests_part(draft_id: int):
    _, tests, _ = call(workbench.test_draft, draft_id)
    return render("part_tests.html", tests=tests)


# ---------------------------------------------------------------- review
@bp.post("/drafts/<int:draft_id>/submit")
@requires("workbench")
def submit_part(draft_id: int):
    _, draft, _ = call(reviews.submit, draft_id, method="POST", body={})
    return render("part_submitted.html", draft=draft)


@bp.post("/reviews/<int:draft_id>/accept")
@requires("workbench")
def accept_part(draft_id: int):
    _, draft, _ = call(reviews.accept, draft_id, method="POST",
                       body={"allow_removals": request.form.get("allow_removals") == "on"})
    return render("part_reviewed.html", draft=draft)


@bp.post("/reviews/<int:draft_id>/return")
@requires("workbench")
def return_part(draft_id: int):
    _, draft, _ = call(reviews.send_back, draft_id, method="POST",
                       body={"comment": request.form.get("comment", "")})
    return render("part_reviewed.html", draft=draft)
