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
from trimtab.server.web import gate
from trimtab.server.web.api import body, page_args, sessions, text
from trimtab.server.web.errors import DomainError, request_lang

bp = Blueprint("workbench", __name__, url_prefix="/v1")
MAX_PATH = 300


def _path_arg() -> str:
    path = request.args.get("path", "")
    if not path or len(path) > MAX_PATH:
        raise DomainError("bad_request", msg("`path` names a file of the draft (1 to {most} characters)",
                                             most=MAX_PATH), "$.path")
    return path


def _draft_answer(session, draft: Draft, status: int = 200):
    found = drafts.files_of(session, draft)
    return jsonify(drafts.draft_json(draft, found, rulesets.active().version)), status


# ---------------------------------------------------------------- the served files
@bp.get("/rulesets/current/files")
@requires("workbench")
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
def open_draft():
    data = body()
    paths = data.get("files")
    if not isinstance(paths, list):
        raise DomainError("schema_violation", msg("`files` is a list of file paths"), "$.files")
    title = text(data, "title")
    if title is not None and len(title) > drafts.MAX_TITLE:
        raise DomainError("schema_violation", msg("`{name}` has at most {most} characters", name="title",
                                                  most=drafts.MAX_TITLE), "$.title")
    with sessions() as session, session.begin():
        draft = drafts.open_draft(session, current_principal(), rulesets.active(), paths, title)
        return _draft_answer(session, draft, 201)


@bp.get("/drafts")
@requires("hrbp")
def my_drafts():
    """The caller's own drafts, newest first."""
    from sqlalchemy import select
    limit, after = page_args()
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
def get_draft(draft_id: int):
    with sessions() as session:
        return _draft_answer(session, drafts.readable(session, current_principal(), draft_id))


@bp.delete("/drafts/<id:draft_id>")
@requires("hrbp")
def discard_draft(draft_id: int):
    """Discard your own draft (open or sent back; not while in review or once accepted)."""
    with sessions() as session, session.begin():
        drafts.discard(session, current_principal(), draft_id)
    return jsonify({"id": draft_id, "discarded": True})


@bp.post("/drafts/<id:draft_id>/files")
@requires("hrbp")
def add_file(draft_id: int):
    """A new, empty rule file in your draft, beside the served ones."""
    path = text(body(), "path", required=True)
    with sessions() as session, session.begin():
        row = drafts.add_file(session, current_principal(), draft_id, rulesets.active(), path)
        answer = jsonify({"path": row.path, "etag": row.etag, "changed": True, "new": True})
    answer.headers["ETag"] = f'"{row.etag}"'
    return answer, 201


@bp.get("/drafts/<id:draft_id>/file")
@requires("workbench")
def get_file(draft_id: int):
    path = _path_arg()
    with sessions() as session:
        draft = drafts.readable(session, current_principal(), draft_id)
        row = drafts.file_of(session, draft, path)
        answer = jsonify({"path": row.path, "text": row.text, "etag": row.etag,
                          "changed": row.etag != row.base_sha256})
    answer.headers["ETag"] = f'"{row.etag}"'
    return answer


def _file_body() -> dict:
    """A file's body: JSON {"text": …}.  Not through body(): its limit on a text (4,000
    characters, for facts) is not a rule file's (drafts.MAX_FILE_CHARS)."""
    import json
    try:
        data = json.loads(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DomainError("malformed_json", msg("the body is not JSON"), "$") from None
    if not isinstance(data, dict):
        raise DomainError("bad_request", msg("the body must be a JSON object"), "$")
    return data


@bp.put("/drafts/<id:draft_id>/file")
@requires("hrbp")
def put_file(draft_id: int):
    path = _path_arg()
    data = _file_body()
    with sessions() as session, session.begin():
        row = drafts.write_file(session, current_principal(), draft_id, path, data.get("text"),
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
def check_draft(draft_id: int):
    """Every diagnostic of the whole rule set with the draft applied."""
    lang = request_lang()
    published, files, _ = _loaded(draft_id, checked=False)
    found = drafts.diagnose(published, files)
    return jsonify({"ok": not found, "count": len(found),
                    "diagnostics": [d.to_json(lang) for d in found]})


@bp.post("/drafts/<id:draft_id>/evaluate")
@requires("workbench")
def evaluate_draft(draft_id: int):
    """The draft beside the served version on given facts, or on the recorded facts of a
    subject and period."""
    current_app.extensions["trimtab.evaluate_limit"].hit(current_principal())
    data, lang = body(), request_lang()
    form = text(data, "form", required=True)
    published, _files, draft_set = _loaded(draft_id)
    if form not in published.by_form and form not in draft_set.by_form:
        raise DomainError("unknown_form", msg("no rules listen to form `{form}`", form=form), "$.form")
    if data.get("subject") is not None or data.get("period") is not None:
        subject, period = text(data, "subject", required=True), text(data, "period", required=True)
        with sessions() as session:
            case = draft_impact.recorded_case(session, published, scope(), form, subject, period)
    else:
        case = {"fact_id": None, "facts": data.get("facts"), "history": data.get("history", []),
                "as_of": text(data, "as_of")}
        if not isinstance(case["history"], list):
            raise DomainError("schema_violation", msg("`history` is a list of earlier facts"), "$.history")
    with gate.turn(request.content_length or 0):
        answer = draft_impact.compare(published, draft_set, form, case["facts"], case["history"],
                                      case["as_of"], lang)
    answer.update(fact_id=case["fact_id"], facts=plain(case["facts"]))
    return jsonify(answer)


@bp.get("/drafts/<id:draft_id>/diff")
@requires("workbench")
def diff_draft(draft_id: int):
    published, _files, draft_set = _loaded(draft_id)
    return jsonify(draft_impact.changes(published, draft_set, request_lang()))


@bp.get("/drafts/<id:draft_id>/tests")
@requires("workbench")
def test_draft(draft_id: int):
    _published, _files, draft_set = _loaded(draft_id)
    return jsonify(draft_impact.rule_tests(draft_set, current_app.config["RULES_PATH"],
                                           request_lang()))


# ---------------------------------------------------------------- replays
REPLAY_FIELDS = ("form", "subject", "from", "to", "group_by")


@bp.post("/drafts/<id:draft_id>/replay")
@requires("hrbp")
def replay_draft(draft_id: int):
    """The draft over the recorded facts of a range: answered at once when the range is small,
    else a job (202) to follow at /v1/replays/<id>."""
    data = body() if request.get_data() else {}
    params = {k: text(data, k) for k in REPLAY_FIELDS if data.get(k) is not None}
    for k in ("from", "to"):
        draft_impact.day(params.get(k), k)
    examples = data.get("examples", 5)
    if not isinstance(examples, int) or isinstance(examples, bool) or not 0 <= examples <= replays.MAX_EXAMPLES:
        raise DomainError("schema_violation", msg("`examples` is a whole number from 0 to {most}",
                                                  most=replays.MAX_EXAMPLES), "$.examples")
    params.update(examples=examples, lang=request_lang())
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
def replay_status(job_id: int):
    with sessions() as session:
        job = session.get(ReplayJob, job_id)
        if job is None or job.owner_id != current_principal().person_id:
            raise DomainError("not_found", msg("no replay {job_id}", job_id=job_id), "$.id")
        return jsonify(replays.job_json(job))
