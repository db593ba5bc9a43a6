"""The transactional outbox: alerts become messages in the same transaction as the decision;
a dispatcher delivers them later, so a webhook never waits on a notification and a message is
never lost while a receiver is down (retried with backoff, then dead-lettered, retryable)."""
from __future__ import annotations

import logging
import random
import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .channels import ChannelError, route_for
from .models import OutboxMessage, Person, utcnow

log = logging.getLogger("trimtab.outbox")
MAX_ATTEMPTS = 6
BASE_DELAY_S = 30


def backoff(attempts: int, rng=random) -> timedelta:
    """30 s, 60 s, 120 s … with ±20% jitter so retries of a burst do not arrive together."""
    delay = BASE_DELAY_S * (2 ** (attempts - 1))
    return timedelta(seconds=delay * rng.uniform(0.8, 1.2))


def enqueue_alert(session: Session, decision, fact_id: int, facts: dict, routes: dict,
                  channels: dict, resolve) -> int:
    """One outbox row per recipient of a fired alert; returns how many were written."""
    if not routes:
        return 0                                    # no channels configured: nothing to send
    details = decision.details
    subject = session.get(Person, str(facts.get("rep"))) if facts.get("rep") else None
    payload = {"title": f"[{details['level']}] {decision.rule}", "rule": decision.rule,
               "level": details["level"], "text": details.get("message") or decision.headline("zh"),
               "explanation": decision.explain("zh"), "subject": subject.id if subject else None}
    for role in details["notify"]:
        person = resolve(session, role, subject) if subject is not None else None
        missing = None if person is not None else \
            f"no one holds role `{role}` for `{payload['subject']}` in the organisation chart"
        session.add(message(decision.rule, role, person, payload, routes, channels, fact_id,
                            missing))
    return len(details["notify"])


def message(rule: str, role: str, person, payload: dict, routes: dict, channels: dict,
            fact_id=None, problem: str | None = None) -> OutboxMessage:
    """An outbox row for one recipient.  A message that cannot go anywhere (no channel for the
    role, no one in the role, an e-mail channel and no address) is written dead with the
    reason, so the API and the log show it; the other recipients are not held up."""
    name = route_for(routes, role, person.id if person else None)
    channel = channels.get(name) if name else None
    if problem is None:
        if name is None or channel is None:
            problem = f"no channel for role `{role}` (routes in channels.yaml)"
        elif channel.type == "email" and not channel.options["to"] and not person.email:
            problem = f"channel `{name}`: no e-mail address for `{person.id}` in the organisation chart"
    if problem:
        log.warning("outbox: %s: %s", rule, problem)
    recipient = person.id if person else None
    return OutboxMessage(message_id=uuid.uuid4().hex, fact_id=fact_id, rule=rule, role=role,
                         recipient=recipient, channel=name or "-",
                         payload={**payload, "recipient": recipient,
                                  "recipient_email": person.email if person else None},
                         status="dead" if problem else "pending", attempts=0, last_error=problem)


def dispatch_due(sessions, channels: dict, now=None, limit: int = 200, rng=random) -> dict:
    """Deliver due messages once; returns counts.  Safe to run in several processes: rows are
    claimed with SKIP LOCKED on PostgreSQL.  A channel's rate limit is kept by counting what
    it sent in its window; a burst beyond it goes out as one digest message."""
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "dead": 0, "digested": 0}
    with sessions() as session, session.begin():
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "pending",
                                        OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)).all()
        by_channel: dict[str, list] = {}
        for row in rows:
            by_channel.setdefault(row.channel, []).append(row)
        for name, batch in by_channel.items():
            channel = channels.get(name)
            if channel is not None and channel.rate is not None:
                batch = _within_rate(session, channel, batch, now, counts)
            for row in batch:
                _deliver(row, channel, name, now, counts, rng)
    return counts


def _within_rate(session, channel, batch, now, counts) -> list:
    """The rows to send one by one; the excess goes in a digest (sent here) or waits."""
    allowed, per_s = channel.rate
    window_start = now - timedelta(seconds=per_s)
    recent = (OutboxMessage.channel == channel.name, OutboxMessage.sent_at >= window_start)
    used = (session.scalar(select(func.count()).select_from(OutboxMessage)
                           .where(*recent, OutboxMessage.digest_id.is_(None))) or 0) + \
        (session.scalar(select(func.count(func.distinct(OutboxMessage.digest_id)))
                        .where(*recent, OutboxMessage.digest_id.is_not(None))) or 0)
    budget = allowed - used
    if budget >= len(batch):
        return batch
    if budget <= 0:
        for row in batch:                       # nothing left in this window: wait for the next
            row.next_attempt_at = window_start + timedelta(seconds=2 * per_s)
        return []
    single, rest = batch[: budget - 1], batch[budget - 1:]
    digest_id = uuid.uuid4().hex
    payload = {"title": f"{len(rest)} 条预警汇总 / {len(rest)} alerts",
               "text": "\n".join(f"- {r.payload.get('title')}: {r.payload.get('text')}" for r in rest)}
    try:
        channel.send(digest_id, payload)
    except ChannelError as err:
        for row in rest:
            row.last_error = f"digest: {err}"
            row.next_attempt_at = now + backoff(1)
        return single
    for row in rest:
        row.status, row.sent_at, row.digest_id = "sent", utcnow(), digest_id
        counts["digested"] += 1
    return single                       # the digest counts as one message in the window


def _deliver(row, channel, name, now, counts, rng) -> None:
    try:
        if channel is None:
            raise ChannelError(f"channel `{name}` is not configured")
        channel.send(row.message_id, row.payload)
    except ChannelError as err:
        row.attempts += 1
        row.last_error = str(err)
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "dead"
            counts["dead"] += 1
            log.error("outbox: message %s dead after %d attempts: %s", row.message_id,
                      row.attempts, err)
        else:
            row.next_attempt_at = now + backoff(row.attempts, rng)
            counts["retry"] += 1
    else:
        row.status, row.sent_at, row.attempts = "sent", utcnow(), row.attempts + 1
        counts["sent"] += 1


def start_dispatcher(app, interval_s: float = 2.0) -> threading.Event:
    """In-process delivery for `trimtab serve` without Redis: a daemon thread."""
    stop = threading.Event()

    def loop():
        from .schedules import run_due
        while not stop.wait(interval_s):
            try:
                run_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.rules"].current,
                        app.config["TZ"], app.extensions["trimtab.routes"], lang=app.config["LANG"],
                        channels=app.extensions["trimtab.channels"])
                dispatch_due(app.extensions["trimtab.sessions"], app.extensions["trimtab.channels"])
            except Exception:                       # keep delivering after a bad moment
                log.exception("outbox dispatcher")
    threading.Thread(target=loop, name="trimtab-outbox", daemon=True).start()
    return stop
