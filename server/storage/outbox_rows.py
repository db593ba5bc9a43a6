"""What is written to the outbox table, in the caller's transaction: the row for one recipient,
the channel that reaches them, and the names of the platforms' built-in channels.  The domain
(alert_notices.py, approval_effects.py) and the schedules queue through here; delivering is
jobs/outbox.py's, and the channels themselves are jobs/channels.py's and
jobs/platform_channels.py's."""
from __future__ import annotations

import logging
import uuid

from trimtab.server.storage.models import OutboxMessage

log = logging.getLogger("trimtab.outbox")
PERSON = "person:"          # routes key prefix of a person's own channel
# The platforms' approval instances and work notices (jobs/platform_channels.py builds them).
APPROVAL_CHANNELS = {"dingtalk": "dingtalk-approval", "feishu": "feishu-approval"}
NOTICE_CHANNELS = {"dingtalk": "dingtalk-notice", "feishu": "feishu-notice"}


def route_for(routes: dict, role: str, person_id: str | None) -> str | None:
    """The channel that reaches `person_id` in `role`: their own, the role's, or the default."""
    return (routes.get(PERSON + person_id) if person_id else None) or routes.get(role) \
        or routes.get("default")


def approval_platform(channels: dict) -> str | None:
    """The platform approvals open instances on (DingTalk first when both are configured)."""
    return next((p for p, name in APPROVAL_CHANNELS.items() if name in channels), None)


def message(rule: str, role: str, person, payload: dict, routes: dict, channels: dict,
            fact_id=None, problem: str | None = None, route: str | None = None,
            message_id: str | None = None) -> OutboxMessage:
    """An outbox row for one recipient.  A message that cannot go anywhere (no channel for the
    role, no one in the role, an e-mail channel and no address) is written dead with the
    reason, so the API and the log show it; the other recipients are not held up.  `route`:
    the channel when the caller chose it already; `message_id`: a stable one (alert_notices)."""
    name = route or route_for(routes, role, person.id if person else None)
    channel = channels.get(name) if name else None
    if problem is None:
        if name is None or channel is None:
            problem = f"no channel for role `{role}` (routes in channels.yaml)"
        elif channel.type == "email" and not channel.options["to"] and not person.email:
            problem = f"channel `{name}`: no e-mail address for `{person.id}` in the organisation chart"
    if problem:
        log.warning("outbox: %s: %s", rule, problem)
    recipient = person.id if person else None
    return OutboxMessage(message_id=message_id or uuid.uuid4().hex, fact_id=fact_id, rule=rule, role=role,
                         recipient=recipient, channel=name or "-",
                         payload={**payload, "recipient": recipient,
                                  "recipient_email": person.email if person else None,
                                  "recipient_lang": person.lang if person else None},
                         status="dead" if problem else "pending", attempts=0, last_error=problem)
