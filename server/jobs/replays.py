"""Replays of a draft over recorded facts, as jobs that take an id.

A replay of a few records runs in the request (`INLINE_RECORDS`); a longer one is a row of
`replay_jobs` run by an RQ worker when REDIS_URL is set (`replay_job(job_id)`), else by a
thread of the serving process.  Either way the job reads its draft and the facts from the
database, writes its progress (`done` of `total`) as it goes and the report at the end, and
running it twice gives the same report (it only reads facts and overwrites its own row).
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import update

from trimtab.server.storage.drafts import Draft, ReplayJob
from trimtab.server.storage.models import utcnow

log = logging.getLogger("trimtab.jobs")
INLINE_RECORDS = 2_000         # at most this many records: answered in the request
PROGRESS_EVERY = 500           # records between two progress writes
MAX_EXAMPLES = 20


def run(sessions, published, job_id: int) -> None:
    """Run job `job_id` against the served set `published`; the row says how it went."""
    from trimtab.dsl.replay import replay
    from trimtab.server.auth.principal import Principal
    from trimtab.server.auth.scope import scope_of
    from trimtab.server.domain import draft_impact, drafts
    with sessions() as session, session.begin():
        job = session.get(ReplayJob, job_id)
        if job is None:
            return
        draft = session.get(Draft, job.draft_id)
        files = drafts.files_of(session, draft)
        params, owner = dict(job.params), job.owner_id
        job.status, job.done, job.error = "running", 0, None
    try:
        from trimtab.server.storage.models import Person
        from trimtab.server.auth.principal import of_person
        with sessions() as session:
            person = session.get(Person, owner)
            principal = of_person(person, "job") if person is not None else \
                Principal(person_id=owner, name=owner)
            seen = scope_of(session, principal)
            query = draft_impact.facts_query(seen, params.get("form"), params.get("subject"),
                                             draft_impact.day(params.get("from"), "from"),
                                             draft_impact.day(params.get("to"), "to"))
            found = draft_impact.records(session, query)
        draft_set = drafts.load_draft(published, files)
        total = len(found)
        _progress(sessions, job_id, 0, total)
        report = replay(published, draft_set, found, examples=params.get("examples", 5),
                        group_by=params.get("group_by"),
                        progress=lambda n: _progress(sessions, job_id, n, total),
                        progress_every=PROGRESS_EVERY)
        result = report.to_json(published, draft_set, params.get("lang", "en"))
        result = _json_safe(result)
        with sessions() as session, session.begin():
            session.execute(update(ReplayJob).where(ReplayJob.id == job_id).values(
                status="done", done=total, total=total, result=result, finished_at=utcnow()))
    except Exception as err:          # the row says why; the log has the rest
        log.exception("replay job %s failed", job_id)
        message = getattr(err, "message", None) or err.__class__.__name__
        with sessions() as session, session.begin():
            session.execute(update(ReplayJob).where(ReplayJob.id == job_id).values(
                status="failed", error=str(message)[:1000], finished_at=utcnow()))


def _progress(sessions, job_id: int, done: int, total: int) -> None:
    with sessions() as session, session.begin():
        session.execute(update(ReplayJob).where(ReplayJob.id == job_id)
                        .values(done=done, total=total))


def _json_safe(doc):
    import json
    return json.loads(json.dumps(doc, ensure_ascii=False, default=str))


def start(app, job_id: int) -> str:
    """Run the job off the request: on RQ when REDIS_URL is set, else in a thread here.
    → "rq" or "thread"."""
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        try:
            from trimtab.server.jobs.worker import _queue
            _queue(redis_url).enqueue(replay_job, job_id, job_timeout=3600)
            return "rq"
        except Exception as err:          # Redis down: run it here rather than never
            log.warning("could not enqueue replay %s (%s); running it here", job_id,
                        err.__class__.__name__)
    sessions = app.extensions["trimtab.sessions"]
    published = app.extensions["trimtab.rules"].current
    threading.Thread(target=run, args=(sessions, published, job_id), daemon=True,
                     name=f"replay-{job_id}").start()
    return "thread"


def replay_job(job_id: int) -> None:
    """The RQ job: the worker's own database and the rule set the servers serve."""
    from trimtab.server.jobs.worker import _ruleset, _sessions, settings
    cfg = settings()
    sessions = _sessions(cfg.database_url)
    run(sessions, _ruleset(cfg.rules_path, cfg.rules_rev, sessions), job_id)


def job_json(job: ReplayJob) -> dict:
    return {"id": job.id, "draft": job.draft_id, "status": job.status, "done": job.done,
            "total": job.total, "params": job.params, "result": job.result, "error": job.error,
            "created_at": job.created_at.isoformat() + "Z",
            "finished_at": job.finished_at.isoformat() + "Z" if job.finished_at else None}
