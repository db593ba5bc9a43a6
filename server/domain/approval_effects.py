"""What an approval's opening and its decisions cause outside trimtab, written to the outbox
in the transaction that opens or decides it (delivered later, each once):

- where a platform opens approvals (钉钉 OA, 飞书 approval: server/jobs/platform_channels.py),
  one row that opens the platform's instance with the change, its reason and evidence, and
  the approvers of every step — the platform then tells each approver in turn, and its
  callbacks decide the steps (plugin/approval_events.py);
- elsewhere, one message to each approver of the step that now waits (a 钉钉 work notice or
  飞书 bot message where configured and the person has an id there, else the deployment's
  channels by role), and one to the requester when the approval closes.

Nothing here sends anything; nothing is written when no channel is configured at all."""
from __future__ import annotations

import calendar
import uuid
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from trimtab.dsl.decision import plain

from trimtab.server.domain.platform_approvals import COLUMN_HEADERS
from trimtab.server.storage.models import Approval, OutboxMessage, Person, PersonIdentity
from trimtab.server.storage.outbox_rows import APPROVAL_CHANNELS, NOTICE_CHANNELS, approval_platform, message

ID_KINDS = {"dingtalk": "dingtalk_userid", "feishu": "feishu_open_id"}
# The instance's form: (the 钉钉 form field's label, the 飞书 widget's custom id, its type).
FORM = (("调整对象", "trimtab_subject", "input"), ("指标", "trimtab_metric", "input"),
        ("当前目标", "trimtab_before", "input"), ("调整后目标", "trimtab_after", "input"),
        ("变动幅度", "trimtab_change", "input"), ("调整原因", "trimtab_reason", "textarea"),
        ("依据", "trimtab_evidence", "textarea"), ("规则说明", "trimtab_rule", "textarea"),
        ("trimtab链接", "trimtab_link", "input"))


class Effects(NamedTuple):
    channels: dict          # by name: the deployment's and the platforms' built-in ones
    routes: dict            # role → channel (channels.yaml)
    base_url: str           # the server as people reach it: links
    lang: str               # the deployment's language: the platform form's explanation


def for_app(extensions: dict, config) -> Effects:
    """The app's effects as they are now (its channels and routes, read at each use)."""
    from trimtab.server.config import public_url
    return Effects(extensions["trimtab.channels"], extensions["trimtab.routes"], public_url(config),
                   config.get("LANG") or "zh")


def link(effects: Effects, approval: Approval) -> str:
    return f"{effects.base_url.rstrip('/')}/v1/approvals/{approval.id}"


def opened(session: Session, approval: Approval, effects: Effects | None, explanation: str) -> int:
    """Rows for an approval just opened → how many."""
    if effects is None:
        return 0
    platform = approval_platform(effects.channels)
    if platform is not None:
        session.add(_instance_row(session, approval, platform, effects, explanation))
        return 1
    return _notify_waiting(session, approval, effects)


def decided(session: Session, approval: Approval, position_before: int, effects: Effects | None) -> int:
    """Rows for a decision just taken → how many: the next step's approvers when the chain
    moved on, the requester when it closed.  None where a platform runs the approval: it
    tells its approvers and the originator itself."""
    if effects is None or approval_platform(effects.channels) is not None:
        return 0
    if approval.status in ("approved", "rejected"):
        requester = session.get(Person, approval.requested_by) if approval.requested_by else None
        if requester is None:
            return 0
        return _notify(session, approval, requester, "requester", effects, approval.status)
    if approval.position != position_before:
        return _notify_waiting(session, approval, effects)
    return 0


# ---------------------------------------------------------------------- texts
def _change(a: Approval) -> str:
    if not a.before:
        return "-"
    return f"{(Decimal(a.after) - Decimal(a.before)) / Decimal(a.before) * 100:+.1f}%"


def _texts(session: Session, a: Approval, event: str, url: str) -> dict:
    subject = session.get(Person, a.subject)
    who = f"{subject.name}（{a.subject}）" if subject is not None else a.subject
    figures = f"{a.metric} {plain(a.before)} → {plain(a.after)}（{_change(a)}）"
    evidence = "；".join(str(e) for e in a.evidence) or "-"
    heads = {"waiting": ("待你审批", "Waiting for your approval"),
             "approved": ("目标调整已通过", "Target change approved"),
             "rejected": ("目标调整被驳回", "Target change rejected")}[event]
    zh = (f"**{a.rule}**：{who} {figures}\n\n原因：{a.reason or '-'}\n\n依据：{evidence}\n\n"
          f"[查看审批 {a.id}]({url})")
    en = (f"**{a.rule}**: {a.subject} {figures.replace('（', ' (').replace('）', ')')}\n\n"
          f"Reason: {a.reason or '-'}\n\nEvidence: {evidence}\n\n[Approval {a.id}]({url})")
    return {"zh": {"title": f"{heads[0]}：{who} {a.metric}", "text": zh},
            "en": {"title": f"{heads[1]}: {a.subject} {a.metric}", "text": en}}


# ---------------------------------------------------------------------- notices
def _platform_id(session: Session, person_id: str, platform: str) -> str | None:
    return session.scalars(select(PersonIdentity.value).where(
        PersonIdentity.person_id == person_id, PersonIdentity.kind == ID_KINDS[platform])
        .order_by(PersonIdentity.id)).first()


def _notify_waiting(session: Session, approval: Approval, effects: Effects) -> int:
    waiting = [s for s in approval.steps if s.position == approval.position and s.status == "waiting"]
    sent = 0
    for step in waiting:
        person = session.get(Person, step.approver_id)
        if person is not None:
            sent += _notify(session, approval, person, step.role, effects, "waiting")
    return sent


def _notify(session: Session, approval: Approval, person: Person, role: str, effects: Effects,
            event: str) -> int:
    """One message to `person`: their platform's work notice where there is one, else the
    deployment's channel for `role` (none configured: nothing)."""
    url = link(effects, approval)
    texts = _texts(session, approval, event, url)
    payload = {**texts["zh"], "texts": texts, "rule": approval.rule, "subject": approval.subject,
               "level": "approval", "change": f"approval_{event}", "approval_id": approval.id,
               "link": url}
    for platform, name in NOTICE_CHANNELS.items():
        to = _platform_id(session, person.id, platform) if name in effects.channels else None
        if to is not None:
            session.add(OutboxMessage(
                message_id=uuid.uuid4().hex, fact_id=approval.fact_id, rule=approval.rule, role=role,
                recipient=person.id, channel=name, status="pending", attempts=0,
                payload={**payload, "to": to, "recipient": person.id, "recipient_lang": person.lang}))
            return 1
    if not effects.routes:
        return 0
    session.add(message(approval.rule, role, person, payload, effects.routes, effects.channels,
                        approval.fact_id))
    return 1


# ---------------------------------------------------------------------- a platform's instance
def _instance_row(session: Session, approval: Approval, platform: str, effects: Effects,
                  explanation: str) -> OutboxMessage:
    """The row that opens `approval` on `platform`; written dead, with the reason, when
    someone it needs has no id there (the approval itself stays open in trimtab)."""
    column = ID_KINDS[platform]
    problems, positions = [], {}
    for step in approval.steps:
        found = _platform_id(session, step.approver_id, platform)
        if found is None:
            problems.append(f"approver `{step.approver_id}` has no id there")
        positions.setdefault(step.position, []).append(found)
    starter = approval.requested_by if approval.requested_by and \
        _platform_id(session, approval.requested_by, platform) else approval.subject
    originator = _platform_id(session, starter, platform)
    if originator is None:
        problems.append(f"originator `{starter}` has no id there")
    most = getattr(effects.channels[APPROVAL_CHANNELS[platform]], "steps_max", None)
    if most is not None and len(positions) > most:
        problems.append(f"the chain's {len(positions)} steps (the {platform} approval has {most} "
                        f"initiator-chosen nodes: TRIMTAB_FEISHU_APPROVAL_NODES)")
    url = link(effects, approval)
    values = (f"{approval.subject}", approval.metric, str(plain(approval.before)),
              str(plain(approval.after)), _change(approval), approval.reason or "-",
              "\n".join(str(e) for e in approval.evidence) or "-", explanation, url)
    fields = [{"label": label, "id": wid, "type": kind, "value": value}
              for (label, wid, kind), value in zip(FORM, values)]
    problem = None
    if problems:
        problem = (f"the {platform} instance of approval {approval.id} cannot be opened: "
                   f"{'; '.join(problems)} (ids come from the organisation chart's {column} "
                   f"column, {COLUMN_HEADERS[column]})")
    created = approval.created_at
    since_ms = calendar.timegm(created.utctimetuple()) * 1000 - 60_000 if created else 0
    return OutboxMessage(
        message_id=uuid.uuid4().hex, fact_id=approval.fact_id, rule=approval.rule, role="approval",
        recipient=None, channel=APPROVAL_CHANNELS[platform], attempts=0,
        status="dead" if problem else "pending", last_error=problem,
        payload={"title": f"{approval.rule} #{approval.id}", "text": url, "approval_id": approval.id,
                 "platform": platform, "originator": originator, "since_ms": since_ms,
                 "approvers": [positions[p] for p in sorted(positions)], "fields": fields})
