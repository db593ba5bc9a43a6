"""Approvals decided on a platform (钉钉, 飞书, 简道云): the platform's approval instance is
linked to a trimtab approval (`ApprovalLink`), the platform's user is mapped to a person of
the organisation chart (`PersonIdentity`), and the decision is taken as that person through
`approval_flow.decide` — the same separation of duties, delegation and serialisation as a
decision made by someone signed in.

Nothing here reads a request: the routes (plugin/approval_events.py) verify the platform's
signature and hand over a `PlatformDecision`."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from trimtab.server.domain import approval_flow
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError
from trimtab.server.storage.models import Approval, ApprovalLink, Person, PersonIdentity

PLATFORMS = ("dingtalk", "feishu", "jiandaoyun")
# The org chart's column (orgchart.COLUMNS, with its Chinese header) for each platform id.
COLUMN_HEADERS = {"dingtalk_userid": "钉钉userid", "feishu_open_id": "飞书open_id",
                  "feishu_union_id": "飞书union_id", "jiandaoyun_username": "简道云账号"}
PLATFORM_NAMES = {"dingtalk": "钉钉", "feishu": "飞书", "jiandaoyun": "简道云"}


class PlatformDecision(NamedTuple):
    platform: str           # dingtalk | feishu | jiandaoyun
    instance: str           # the platform's approval instance (or record) id
    id_kind: str            # the PersonIdentity kind the user id is: dingtalk_userid, …
    user: str               # the operator's id on the platform
    verdict: str            # approve | reject
    comment: str | None


def linked_approval(session: Session, platform: str, instance: str) -> int:
    link = session.scalars(select(ApprovalLink.approval_id).where(
        ApprovalLink.platform == platform, ApprovalLink.external_id == instance)).first()
    if link is None:
        raise DomainError("unknown_approval_instance",
                          msg("no approval is linked to {platform_names} instance `{instance}` (POST "
                              "/v1/approvals/<id>/links records which one it is)",
                              platform_names=PLATFORM_NAMES[platform], instance=instance), "$.instance",
                          platform=platform, external_id=instance)
    return link


def mapped_person(session: Session, platform: str, kind: str, value: str) -> str:
    """The person whose `kind` id is `value`, or 422 naming the column to fill."""
    key = value.lower() if kind == "email" else value
    found = session.scalars(select(PersonIdentity.person_id).where(
        PersonIdentity.kind == kind, PersonIdentity.value == key)).first()
    if found is None or session.get(Person, found) is None:
        raise DomainError("unknown_platform_user",
                          msg("{platform_names} user `{value}` is no one in the organisation chart: fill the "
                              "`{kind}` ({header}) column of that person's row and import the chart again",
                              platform_names=PLATFORM_NAMES[platform], value=value, kind=kind,
                              header=COLUMN_HEADERS.get(kind, kind)), "$.user",
                          platform=platform, platform_user=value, column=kind)
    return found


def already_recorded(approval: Approval, person_id: str, verdict: str) -> bool:
    """Has this person already taken a step of this approval with this verdict (a platform's
    redelivery of the same event)?"""
    status = "approved" if verdict == "approve" else "rejected"
    return any(s.status == status and (s.acted_by or s.approver_id) == person_id
               for s in approval.steps)


def decide(session: Session, d: PlatformDecision, today: dt.date) -> tuple[Approval, bool, int]:
    """(the approval, whether this was a redelivery that changed nothing, the step that
    waited before).  404 unknown instance, 422 unmapped user, then decide's own 403/409."""
    approval_id = linked_approval(session, d.platform, d.instance)
    person_id = mapped_person(session, d.platform, d.id_kind, d.user)
    approval = approval_flow.lock(session, approval_id)
    before = approval.position
    if already_recorded(approval, person_id, d.verdict):
        return approval, True, before
    return (approval_flow.decide(session, approval_id, d.verdict, person_id, d.comment, [], today),
            False, before)


def add_link(session: Session, approval_id: int, platform: str, external_id: str) -> tuple[dict, bool]:
    """(the link, whether it is new).  The same link again is no change; an instance linked to
    another approval is 409."""
    if session.get(Approval, approval_id) is None:
        raise DomainError("not_found", msg("no approval {approval_id}", approval_id=approval_id), "$.id")
    held = session.scalars(select(ApprovalLink).where(
        ApprovalLink.platform == platform, ApprovalLink.external_id == external_id)).first()
    if held is not None and held.approval_id != approval_id:
        raise DomainError("link_taken", msg("{platform_names} instance `{external_id}` is linked to approval "
                                            "{approval_id}",
                                            platform_names=PLATFORM_NAMES[platform], external_id=external_id,
                                            approval_id=held.approval_id), "$.external_id")
    if held is None:
        session.add(ApprovalLink(approval_id=approval_id, platform=platform, external_id=external_id))
    return {"approval_id": approval_id, "platform": platform, "external_id": external_id}, held is None
