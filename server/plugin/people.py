"""A platform's member fields name its users by the platform's own ids (a 飞书 open_id
`ou_…`, a 简道云 username, a 钉钉 userid); the rules speak of people of the organisation
chart.  Each member field of a push is mapped through the chart's platform-id columns
(`PersonIdentity`) before the facts are validated and stored."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import msg
from trimtab.server.storage.models import Person, PersonIdentity
from trimtab.server.plugin.fields import MEMBER_FIELDS

# The ids each platform's member fields carry, in the order they are tried.
KINDS = {"feishu": ("feishu_open_id", "feishu_union_id", "email", "mobile"),
         "jiandaoyun": ("jiandaoyun_username", "email", "mobile"),
         "yida": ("dingtalk_userid", "mobile", "email"),
         "mingdao": ("email", "mobile")}
# Ids that can only be a platform's: refused by name rather than as an unknown person.
PLATFORM_SHAPES = {"feishu": ("ou_", "on_")}


def resolve_members(platform: str, facts: dict, path: str) -> dict:
    """`facts` with each member field holding a person id of the chart."""
    kinds = KINDS.get(platform)
    names = [n for n in MEMBER_FIELDS if isinstance(facts.get(n), str) and facts[n]]
    if not kinds or not names:
        return facts
    with current_app.extensions["trimtab.sessions"]() as session:
        for name in names:
            value = facts[name]
            if session.get(Person, value) is not None:
                continue
            facts[name] = _person_for(session, platform, kinds, value, f"{path}.{name}")
    return facts


def _person_for(session, platform: str, kinds: tuple, value: str, where: str) -> str:
    rows = session.execute(select(PersonIdentity.kind, PersonIdentity.person_id).where(
        PersonIdentity.kind.in_(kinds),
        PersonIdentity.value.in_({value, value.lower()}))).all()
    found = {kind: person for kind, person in rows}
    for kind in kinds:
        if kind in found:
            return found[kind]
    if value.startswith(PLATFORM_SHAPES.get(platform, ())):
        raise DomainError("unknown_platform_user",
                          msg("`{value}` is no one in the organisation chart: fill the {arg} column of that "
                              "person's row", value=value, arg=' or '.join(kinds[:2])), where)
    return value                # not a platform id: the chart check names it as unknown
