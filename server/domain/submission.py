"""The submission service: an authenticated submission of a form → its answer.

validate → read what the rules need → evaluate once → a plan → one writer; then the effects
that wait for the commit (the notification job, the metrics).  A retried delivery answers what
the first one answered, byte for byte; a captured request sent again under another delivery id
is refused.  No HTTP here: the webhook route and the platform adapters turn requests into a
`Submission` and an `Answer` into a response."""
from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from trimtab.dsl.decision import plain
from trimtab.server.domain import approval_effects, history, pg_intake, plan as plans, tx_writer
from trimtab.server.messages import msg
from trimtab.server.core import limits, security
from trimtab.server.core.errors import DomainError
from trimtab.server.domain.filing import file
from trimtab.server.storage.models import Delivery
from trimtab.server.domain.plan import Submission
from trimtab.server.domain.validation import validate

__all__ = ["Answer", "Submission", "earlier_answer", "init_app", "submit"]


def init_app(app) -> None:
    """PostgreSQL: most webhooks are two statements on a connection kept for them
    (pg_intake.Held); subjects' histories are kept per process, extended with new facts only
    (history.Cache; HISTORY_CACHE_ENTRIES bounds it)."""
    engine = app.extensions["trimtab.engine"]
    app.extensions["trimtab.pg_direct"] = pg_intake.Held(engine) if engine.dialect.name == "postgresql" \
        else None
    app.extensions["trimtab.history"] = history.Cache(
        int(app.config.get("HISTORY_CACHE_ENTRIES") or history.CACHE_ENTRIES))


class Answer(NamedTuple):
    """The response: its JSON text and status; `replayed` when it is an earlier delivery's."""
    text: str
    status: int = 200
    replayed: bool = False


def submit(app, ruleset, sub: Submission) -> Answer:
    """Store `sub` with its decisions under `ruleset`, or answer as its delivery did before.
    `app`: the Flask app whose configuration and extensions (sessions, engine, channels,
    routes, metrics) serve it."""
    if sub.form not in ruleset.schemas:
        raise DomainError("unknown_form", msg("no form `{form}`", form=sub.form), "$")
    if not isinstance(sub.facts, dict):
        raise DomainError("schema_violation", msg("the body must be a JSON object"), "$")
    if len(sub.delivery_id) > limits.MAX_DELIVERY_ID:
        raise DomainError("delivery_id_too_long", msg("a delivery id is at most {max_delivery_id} characters",
                                                      max_delivery_id=limits.MAX_DELIVERY_ID), security.DELIVERY)
    digest = hashlib.sha256(sub.raw).hexdigest()
    for attempt in (1, 2):
        try:
            return _store_and_decide(app, ruleset, sub, digest)
        except DBAPIError as err:
            # Pooled connections are not pinged before use (a round trip on every webhook); one
            # the database dropped — a restart — fails here, the pool discards its siblings, and
            # the webhook runs again on a fresh connection.  Safe: if the first attempt did
            # commit, the delivery key turns the second into a replay.
            if attempt == 2 or not err.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _store_and_decide(app, ruleset, sub: Submission, digest: str) -> Answer:
    """The webhook's writes, all or nothing, then what waits for their commit → the answer;
    or the earlier answer for a retry."""
    ext = app.extensions
    try:
        schema = ruleset.schemas[sub.form]
        if not sub.checked and validate(schema, sub.facts, sub.lang):   # "75%" became 0.75:
            sub = sub._replace(payload=json.dumps(plain(sub.facts), ensure_ascii=False))  # store that
        filing = file(schema, sub.facts, app.config["TZ"])
        body, text = _plan_and_write(ext, ruleset, sub, digest, filing, app.config)
    except (IntegrityError, DomainError):
        # The delivery's unique key is the idempotency check: a retry is rare, so it is not
        # looked up first (a round trip fewer per webhook); a retry fails on the key, stores
        # nothing, and answers as the first delivery did — perhaps racing it on another
        # worker, even if the organisation chart or the rules changed since.
        answer = earlier_answer(ext["trimtab.sessions"], sub.client, sub.delivery_id,
                                 sub.proof, digest)
        if answer is None:
            raise
        return answer
    after_commit(app, body)
    # The stored text itself: serialised once, and a retry's answer is byte for byte the same.
    return Answer(text)


def after_commit(app, body: dict) -> None:
    """The notification job (the rows exist for the worker now) and the metrics.  The job is
    enqueued by the app's `trimtab.enqueue_dispatch` (jobs/worker.py's, set by create_app):
    jobs/ stands above domain/."""
    cfg = app.config
    if body.get("notifications_queued") and cfg.get("REDIS_URL"):
        # the job names nothing: the worker knows where
        app.extensions["trimtab.enqueue_dispatch"](cfg["REDIS_URL"])
    metrics = app.extensions["trimtab.metrics"]
    for d in body["decisions"]:         # the answer itself is counted with every other one
        if d.get("kind") == "alert" and d.get("value"):
            metrics.fired(d["rule"])


def _plan_and_write(ext, ruleset, sub: Submission, digest: str, filing, cfg):
    """Read what the rules need, evaluate once, and store the plan with the writer it calls
    for → (the answer, its JSON text)."""
    sessions, routes, channels = ext["trimtab.sessions"], ext["trimtab.routes"], ext["trimtab.channels"]
    which = history.kind(ruleset, sub.form)
    direct = ext["trimtab.pg_direct"]
    if direct is not None and which != history.REQUESTS:
        with pg_intake.connect(direct, ext["trimtab.history"]) as pg:
            read = pg.read(sub.form, sub.facts, filing,
                           None if which is None else ruleset.schemas[sub.form])
            plan = plans.make(ruleset, sub, digest, filing, read.history)
            if not plan.needs_transaction(read.current, routes):
                try:
                    return pg.write(plan, read)
                except pg_intake.Declined:
                    pass            # the period was decided meanwhile: decide it again, locked
        with sessions() as session, session.begin():
            return tx_writer.write(session, plan, read.fact_id, channels, routes,
                                   approval_effects.for_app(ext, cfg))
    with sessions() as session, session.begin():
        # One transaction: the fact, its decisions, its notifications or approval and this
        # delivery are stored together or not at all.
        earlier = history.read(session, ruleset, sub.form, filing.subject, filing.period,
                               ext["trimtab.history"])
        plan = plans.make(ruleset, sub, digest, filing, earlier)
        return tx_writer.write(session, plan, None, channels, routes,
                               approval_effects.for_app(ext, cfg))


def earlier_answer(sessions, client: str, delivery_id: str, proof: str | None,
                    digest: str) -> Answer | None:
    """The stored answer to this delivery id (409 if it came with another body); 409 if this
    signed request was delivered under another id; None if neither."""
    with sessions() as session:
        seen = session.scalars(select(Delivery).where(
            Delivery.client == client, Delivery.delivery_id == delivery_id)).first()
        replayed = seen is None and proof is not None and session.scalars(select(Delivery.id).where(
            Delivery.client == client, Delivery.proof == proof)).first() is not None
    if replayed:
        raise DomainError("replayed_request", msg("this signed request was already delivered under another "
                                                  "delivery id; nothing was stored"), "$") from None
    if seen is None:
        return None
    if seen.body_sha256 != digest:
        raise DomainError("delivery_conflict",
                          msg("this delivery id was used before with a different body"), "$")
    return Answer(seen.response, seen.status, replayed=True)
