"""An alert's messages, composed when the decision is stored: who receives them, what they say.

Receivers are resolved before anything is queued: the people behind the rule's roles (the
organisation chart), then each one's channel (their own, their role's, the default).  A
group's channel — a DingTalk or Feishu robot in a chat — is one receiver however many of the
people concerned read it: it gets ONE message that @mentions each of them; a person's channel
is one receiver per person.  Each receiver's message id is derived from the decision, the
change (raised, escalated, cleared) and the receiver, so queuing the same decision again
writes nothing new and a retried delivery goes out under the same id.

The text: the rule's headline (its `say` text in Chinese), the subject, the values that made
the alert fire with their thresholds — the decision's own explanation lines, in the rule's
units and the receiver's language — and a link to the decision's "why"."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from trimtab.server.messages import msg
from trimtab.server.storage.models import OutboxMessage, Person, PersonIdentity
from trimtab.server.storage.outbox_rows import message, route_for

LANGS = ("zh", "en")            # a message is written in each; sent in its receiver's
WHY_PATH = "/v1/decisions/{id}/why"     # the workbench's page (/workbench/why/<id>) is not served yet
MENTION_KINDS = ("dingtalk_userid", "feishu_open_id")
SUBJECT = msg("Subject")
FIRED_BY = msg("What made it fire")
FOUND = msg("What it found")
WHY = msg("Why")


@dataclass
class Receiver:
    """One destination of an alert: a channel, and for a person's channel the person."""
    channel: str
    key: str                                        # part of the message id
    roles: list = field(default_factory=list)
    people: list = field(default_factory=list)      # the people concerned who read it


def why_link(base_url: str, decision_id: int | None) -> str | None:
    """The decision's "why", as people reach the server (TRIMTAB_PUBLIC_URL)."""
    if decision_id is None:
        return None
    return f"{(base_url or '').rstrip('/')}{WHY_PATH.format(id=decision_id)}"


def enqueue_alert(session: Session, decision, fact_id: int | None, facts: dict, routes: dict,
                  channels: dict, resolve, change: str = "raised", decision_id: int | None = None,
                  base_url: str = "") -> int:
    """One outbox row per receiver of an alert whose period's outcome changed — "raised",
    "escalated" (to `notify`) or "cleared" (to `notify … when cleared`,
    server/domain/period_decisions.py); returns how many were written."""
    if not routes:
        return 0                                    # no channels configured: nothing to send
    details = decision.details
    subject = session.get(Person, str(facts.get("rep"))) if facts.get("rep") else None
    roles = details.get("notify_cleared", []) if change == "cleared" else details["notify"]
    link = why_link(base_url, decision_id)
    payload = _payload(decision, change, subject, link, decision_id)
    rows = []
    found, dead = resolve_receivers(session, roles, subject, resolve, routes, channels)
    for role, person, problem in dead:              # written dead, with the reason
        rows.append(message(decision.rule, role, person, payload, routes, channels, fact_id, problem,
                            message_id=_message_id(decision_id, change, f"role:{role}")))
    ids = _identities(session, [p.id for r in found for p in r.people])
    for receiver in found:
        first = receiver.people[0]
        rows.append(message(decision.rule, ",".join(receiver.roles)[:64], first,
                            {**payload, "mentions": [_mention(p, ids) for p in receiver.people]},
                            routes, channels, fact_id, route=receiver.channel,
                            message_id=_message_id(decision_id, change, receiver.key)))
    known = set(session.scalars(select(OutboxMessage.message_id).where(
        OutboxMessage.message_id.in_([r.message_id for r in rows])))) if decision_id else set()
    fresh = [r for r in rows if r.message_id not in known]
    session.add_all(fresh)
    return len(fresh)


def resolve_receivers(session, roles, subject, resolve, routes: dict, channels: dict):
    """(receivers, dead): the receivers in the order their first role comes, and (role,
    person, problem) for a role no one holds or no channel serves."""
    found: dict[str, Receiver] = {}
    dead = []
    for role in roles:
        person = resolve(session, role, subject) if subject is not None else None
        if person is None:
            who = subject.id if subject is not None else None
            dead.append((role, None, f"no one holds role `{role}` for `{who}` in the organisation chart"))
            continue
        name = route_for(routes, role, person.id)
        channel = channels.get(name) if name else None
        if channel is None:
            dead.append((role, person, None))       # outbox.message words the reason
            continue
        key = f"group:{name}" if channel.group else f"person:{name}:{person.id}"
        receiver = found.setdefault(key, Receiver(name, key))
        if role not in receiver.roles:
            receiver.roles.append(role)
        if all(p.id != person.id for p in receiver.people):
            receiver.people.append(person)
    return list(found.values()), dead


def _message_id(decision_id: int | None, change: str, receiver: str) -> str:
    """Stable per decision, change and receiver: queued twice, written once."""
    if decision_id is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"alert:{decision_id}:{change}:{receiver}".encode()).hexdigest()[:32]


def _identities(session, person_ids: list) -> dict:
    """{(person id, kind): the person's id on a platform} for the mention kinds."""
    if not person_ids:
        return {}
    rows = session.execute(select(PersonIdentity.person_id, PersonIdentity.kind, PersonIdentity.value)
                           .where(PersonIdentity.person_id.in_(person_ids),
                                  PersonIdentity.kind.in_(MENTION_KINDS))
                           .order_by(PersonIdentity.id.desc()))
    return {(pid, kind): value for pid, kind, value in rows}      # the first one wins


def _mention(person: Person, ids: dict) -> dict:
    return {"person": person.id, "name": person.name, "mobile": person.mobile,
            **{kind: ids.get((person.id, kind)) for kind in MENTION_KINDS}}


def _payload(decision, change: str, subject, link: str | None, decision_id) -> dict:
    details = decision.details
    tag = "cleared" if change == "cleared" else details["level"]
    texts = {lang: {"text": alert_body(decision, lang, change, subject, link),
                    "explanation": decision.explain(lang)} for lang in LANGS}
    return {"title": f"[{tag}] {decision.rule}", "rule": decision.rule, "change": change,
            "level": details["level"], **texts["zh"], "texts": texts,
            "subject": subject.id if subject is not None else None,
            "decision_id": decision_id, "link": link}


def alert_text(decision, lang: str) -> str:
    """A rule's `say` text as written; in English after an English summary of what fired."""
    message = decision.details.get("message")
    return message if message and lang == "zh" else decision.headline(lang)


def alert_body(decision, lang: str, change: str, subject, link: str | None) -> str:
    """The message in markdown: headline, subject, the values that fired and their thresholds
    (the explanation's own lines), the link to the why."""
    parts = [f"**{alert_text(decision, lang)}**"]
    if subject is not None:
        who = f"{subject.name}（{subject.id}）" if lang == "zh" else f"{subject.name} ({subject.id})"
        parts.append(f"{SUBJECT.render(lang)}{'：' if lang == 'zh' else ': '}{who}")
    lines = decision.explain_lines(lang, held_only=change != "cleared")
    if lines:
        label = (FOUND if change == "cleared" else FIRED_BY).render(lang)
        parts.append(f"{label}{'：' if lang == 'zh' else ':'}\n" + "\n".join(f"- {line}" for line in lines))
    if link:
        parts.append(f"[{WHY.render(lang)}]({link})")
    return "\n\n".join(parts)
