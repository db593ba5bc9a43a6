"""/v1/drafts: the HRBP workbench's API — drafts and their files (ETag / If-Match), checking
a draft, evaluating it beside the served version, its diff, rule tests and replays.
Routes turn HTTP into calls of server/domain/drafts.py and draft_impact.py, and back."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from trimtab.dsl.decision import plain
from trimtab.server.auth import current_principal, requires, scope
from trimtab.server.domain import draft_impact, drafts, rulesets
from trimtab.server.jobs import replays
from trimtab.server.messages import msg
from trimtab.server.storage.drafts import Draft, ReplayJob
from trimtab.server.core import gate
from trimtab.server.web.http import sessions
from trimtab.server.web.api_models import workbench as m
from trimtab.server.web.api_models.common import Page
from trimtab.server.web.contract import body_as, contract, file_body, query_as
from trimtab.server.core.errors import DomainError, request_lang

bp = Blueprint("workbench", __name__, url_prefix="/v1")
LANG = (m.ACCEPT_LANGUAGE,)


def _path_arg() -> str:
    return query_as(m.DraftFilePath).path


def _draft_answer(session, draft: Draft, status: int = 200):
    found = drafts.files_of(session, draft)
    return jsonify(drafts.draft_json(draft, found, rulesets.active().version)), status


# ---------------------------------------------------------------- the served files
@bp.get("/rulesets/current/files")
@requires("workbench")
@contract("The served rule set as a file list (path, size, rules of each)", answers={200: m.ServedFiles})
def served_files():
    """The served rule set as a file list: each file's path, size and rules."""
    rs = rulesets.active()
    rules: dict[str, list] = {}
    for r in rs.checked.rules:
        rules.setdefault(r.loc.file, []).append(r.name)
    return jsonify({"version": rs.version, "files": [
        {"path": path, "bytes": len(content.encode("utf-8")), "rules": rules.get(path, [])}
        for path, content in drafts.published_files(rs).items()]})


# ---------------------------------------------------------------- drafts and their files
@bp.post("/drafts")
@requires("hrbp")
@contract("Open published files into a new draft of your own (HRBP); at most 20 files, 20 open drafts a person",
          body=m.OpenDraft, answers={201: m.Draft}, errors=(409, 422))
def open_draft():
    drafts.needs_person(current_principal())        # 403 for the admin token before the body's 422
    data = body_as(m.OpenDraft)
    with sessions() as session, session.begin():
        draft = drafts.open_draft(session, current_principal(), rulesets.active(), list(data.files),
                                  data.title)
        return _draft_answer(session, draft, 201)


@bp.get("/drafts")
@requires("hrbp")
@contract("Your drafts, newest first", query=Page, answers={200: m.DraftList},
          description="`after` pages on to older drafts: the ids below it.")
def my_drafts():
    """The caller's own drafts, newest first."""
    from sqlalchemy import select
    page = query_as(Page)
    limit, after = page.limit, page.after
    q = select(Draft).where(Draft.owner_id == current_principal().person_id)
    if after:
        q = q.where(Draft.id < after)
    with sessions() as session:
        found = session.scalars(q.order_by(Draft.id.desc()).limit(limit)).all()
        items = [drafts.draft_json(d, drafts.files_of(session, d), rulesets.active().version)
                 for d in found]
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.get("/drafts/<id:draft_id>")
@requires("workbench")
@contract("A draft: its files with their ETags, its state and review (owner; IT once submitted; else 404)",
          answers={200: m.Draft}, errors=(404,))
def get_draft(draft_id: int):
    with sessions() as session:
        return _draft_answer(session, drafts.readable(session, current_principal(), draft_id))


@bp.delete("/drafts/<id:draft_id>")
@requires("hrbp")
@contract("Discard your own draft, its files and replays (open or sent back; 409 draft_not_editable in "
          "review or accepted)", answers={200: m.Discarded}, errors=(404, 405, 409),
          description=m.ROUTER_405)
def discard_draft(draft_id: int):
    """Discard your own draft (open or sent back; not while in review or once accepted)."""
    with sessions() as session, session.begin():
        drafts.discard(session, current_principal(), draft_id)
    return jsonify({"id": draft_id, "discarded": True})


@bp.post("/drafts/<id:draft_id>/files")
@requires("hrbp")
@contract("Add a new, empty rule file to your draft (a name ending in .rules in the rules' folder, e.g. "
          "rules/新规则.rules); at most 20 files a draft", body=m.NewFile, answers={201: m.FileAdded},
          headers=m.ETAG, errors=(404, 409, 422))
def add_file(draft_id: int):
    """A new, empty rule file in your draft, beside the served ones."""
    path = body_as(m.NewFile).path
    with sessions() as session, session.begin():
        row = drafts.add_file(session, current_principal(), draft_id, rulesets.active(), path)
        answer = jsonify({"path": row.path, "etag": row.etag, "changed": True, "new": True})
    answer.headers["ETag"] = f'"{row.etag}"'
    return answer, 201


@bp.get("/drafts/<id:draft_id>/file")
@requires("workbench")
@contract("A file of a draft, with its ETag (header and body)", query=m.DraftFilePath, answers={200: m.FileRead},
          headers=m.ETAG, errors=(404,))
def get_file(draft_id: int):
    path = _path_arg()
    with sessions() as session:
        draft = drafts.readable(session, current_principal(), draft_id)
        row = drafts.file_of(session, draft, path)
        answer = jsonify({"path": row.path, "text": row.text, "etag": row.etag,
                          "changed": row.etag != row.base_sha256})
    answer.headers["ETag"] = f'"{row.etag}"'
    return answer


@bp.put("/drafts/<id:draft_id>/file")
@requires("hrbp")
@contract("Replace a file's text (owner); If-Match must name the ETag read, else 409 stale_etag with the "
          "current one (`error.etag`); at most 65,536 characters", query=m.DraftFilePath, body=m.DraftFileText,
          parameters=(m.IF_MATCH,), answers={200: m.FileWritten}, headers=m.ETAG,
          errors=(404, 405, 409, 422, 428), description=m.ROUTER_405)
def put_file(draft_id: int):
    path = _path_arg()
    data = file_body(m.DraftFileText)
    with sessions() as session, session.begin():
        row = drafts.write_file(session, current_principal(), draft_id, path, data.text,
                                request.headers.get("If-Match"))
        answer = jsonify({"path": row.path, "etag": row.etag, "changed": row.etag != row.base_sha256})
    answer.headers["ETag"] = f'"{row.etag}"'
    return answer


# ---------------------------------------------------------------- what the draft does
def _loaded(draft_id: int, checked: bool = True):
    """(published set, the draft's files, the draft's set or None when `checked` is False)."""
    published = rulesets.active()
    with sessions() as session:
        draft = drafts.readable(session, current_principal(), draft_id)
        files = drafts.files_of(session, draft)
    return published, files, (drafts.load_draft(published, files, request_lang()) if checked else None)


@bp.get("/drafts/<id:draft_id>/check")
@requires("workbench")
@contract("Every diagnostic of the whole rule set with the draft applied, in the caller's language",
          parameters=LANG, answers={200: m.DraftCheck}, errors=(404,))
def check_draft(draft_id: int):
    """Every diagnostic of the whole rule set with the draft applied."""
    lang = request_lang()
    published, files, _ = _loaded(draft_id, checked=False)
    found = drafts.diagnose(published, files)
    return jsonify({"ok": not found, "count": len(found),
                    "diagnostics": [d.to_json(lang) for d in found]})


@bp.post("/drafts/<id:draft_id>/evaluate")
@requires("workbench")
@contract("The draft's decisions beside the served version's, on given facts or on the recorded facts of a "
          "subject and period; what differs is marked", body=m.EvaluateDraft, parameters=LANG,
          answers={200: m.Comparison}, errors=(404, 422, 429))
def evaluate_draft(draft_id: int):
    """The draft beside the served version on given facts, or on the recorded facts of a
    subject and period."""
    current_app.extensions["trimtab.evaluate_limit"].hit(current_principal())
    data, lang = body_as(m.EvaluateDraft), request_lang()
    form = data.form
    published, _files, draft_set = _loaded(draft_id)
    if form not in published.by_form and form not in draft_set.by_form:
        raise DomainError("unknown_form", msg("no rules listen to form `{form}`", form=form), "$.form")
    if data.subject is not None or data.period is not None:
        for name in ("subject", "period"):
            if getattr(data, name) is None:
                raise DomainError("schema_violation", msg("`{name}` must be a non-empty text", name=name),
                                  f"$.{name}")
        with sessions() as session:
            case = draft_impact.recorded_case(session, published, scope(), form, data.subject, data.period)
    else:
        case = {"fact_id": None, "facts": data.facts, "history": list(data.history), "as_of": data.as_of}
    with gate.turn(request.content_length or 0):
        answer = draft_impact.compare(published, draft_set, form, case["facts"], case["history"],
                                      case["as_of"], lang)
    answer.update(fact_id=case["fact_id"], facts=plain(case["facts"]))
    return jsonify(answer)


@bp.get("/drafts/<id:draft_id>/diff")
@requires("workbench")
@contract("What the draft changes, in words (as `trimtab diff`)", parameters=LANG,
          answers={200: m.DraftDiff}, errors=(404, 422))
def diff_draft(draft_id: int):
    published, _files, draft_set = _loaded(draft_id)
    return jsonify(draft_impact.changes(published, draft_set, request_lang()))


@bp.get("/drafts/<id:draft_id>/tests")
@requires("workbench")
@contract("The rule tests and inline examples run on the draft, with coverage (as `trimtab test --coverage "
          "--json`)", parameters=LANG, answers={200: m.DraftTests}, errors=(404, 422))
def test_draft(draft_id: int):
    _published, _files, draft_set = _loaded(draft_id)
    return jsonify(draft_impact.rule_tests(draft_set, current_app.config["RULES_PATH"],
                                           request_lang()))


# ---------------------------------------------------------------- replays
REPLAY_FIELDS = ("form", "subject", "from", "to", "group_by")


@bp.post("/drafts/<id:draft_id>/replay")
@requires("hrbp")
@contract("Replay the draft over the recorded facts of a range (owner): up to 2,000 records answered at once, "
          "more as a job (202, Location: /v1/replays/{id}); at most 100,000 records",
          body=m.ReplayDraft, body_required=False, parameters=LANG,
          answers={200: m.ReplayJob, 202: m.ReplayJob}, errors=(404, 422),
          headers={"Location": "202: the job's address, /v1/replays/{id}"})
def replay_draft(draft_id: int):
    """The draft over the recorded facts of a range: answered at once when the range is small,
    else a job (202) to follow at /v1/replays/<id>."""
    data = body_as(m.ReplayDraft) if request.get_data() else m.ReplayDraft()
    asked = data.model_dump(by_alias=True)
    params = {k: asked[k] for k in REPLAY_FIELDS if asked[k] is not None}
    for k in ("from", "to"):
        draft_impact.day(params.get(k), k)
    params.update(examples=data.examples, lang=request_lang())
    published, _files, _draft_set = _loaded(draft_id)       # 422 now if the draft does not check
    principal = current_principal()
    with sessions() as session, session.begin():
        draft = drafts.owned(session, principal, draft_id, editable=False)
        query = draft_impact.facts_query(scope(), params.get("form"), params.get("subject"),
                                         draft_impact.day(params.get("from"), "from"),
                                         draft_impact.day(params.get("to"), "to"))
        from sqlalchemy import func, select
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
        job = ReplayJob(draft_id=draft.id, owner_id=principal.person_id, params=params,
                        status="queued", done=0, total=min(total, draft_impact.MAX_RECORDS))
        session.add(job)
        session.flush()
        job_id = job.id
    if total <= replays.INLINE_RECORDS:
        replays.run(current_app.extensions["trimtab.sessions"], published, job_id)
        status = 200
    else:
        replays.start(current_app._get_current_object(), job_id)
        status = 202
    with sessions() as session:
        answer = jsonify(replays.job_json(session.get(ReplayJob, job_id)))
    if status == 202:
        answer.headers["Location"] = f"/v1/replays/{job_id}"
    return answer, status


@bp.get("/replays/<id:job_id>")
@requires("hrbp")
@contract("A replay job: its progress (done of total records) and, when done, its report (owner)",
          answers={200: m.ReplayJob}, errors=(404,))
def replay_status(job_id: int):
    with sessions() as session:
        job = session.get(ReplayJob, job_id)
        if job is None or job.owner_id != current_principal().person_id:
            raise DomainError("not_found", msg("no replay {job_id}", job_id=job_id), "$.id")
        return jsonify(replays.job_json(job))
