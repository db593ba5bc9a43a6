"""Who is calling: a person of the organisation chart, signed in by a token, a browser session
or a platform's signed callback — or the bootstrap admin token, which is nobody in the chart.

Domain functions take a Principal as an argument; none reads a person id from a request body.
"""
from __future__ import annotations

from dataclasses import dataclass, field

GRANTS = ("admin", "it")          # beyond the chart: admin (org, tokens), it (rule sets)


@dataclass(frozen=True)
class Principal:
    person_id: str | None          # None: the bootstrap admin token
    name: str
    role: str | None = None
    region: str | None = None
    grants: frozenset = field(default_factory=frozenset)
    covers: frozenset = field(default_factory=frozenset)   # regions an HRBP covers
    via: str = "token"             # token | session | admin_token | platform
    lang: str | None = None        # the person's own language (zh, en); none: the deployment's

    # Flask-Login's user protocol (sessions store the person id)
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str | None:
        return self.person_id

    @property
    def is_admin(self) -> bool:
        return "admin" in self.grants

    @property
    def is_it(self) -> bool:
        return "it" in self.grants or self.is_admin

    @property
    def is_hrbp(self) -> bool:
        return self.role == "hrbp"

    @property
    def label(self) -> str:
        """For logs and the audit: the person id, or what the credential was."""
        return self.person_id or "admin-token"


def parse_list(text: str | None) -> frozenset:
    return frozenset(p.strip() for p in (text or "").split(",") if p.strip())


def of_person(person, via: str) -> Principal:
    """A Principal for a row of the people table."""
    covers = parse_list(person.covers)
    if person.role == "hrbp" and person.region:
        covers |= {person.region}
    return Principal(person_id=person.id, name=person.name, role=person.role, region=person.region,
                     grants=parse_list(person.grants), covers=covers, via=via,
                     lang=getattr(person, "lang", None))


ADMIN_TOKEN = Principal(person_id=None, name="admin token", grants=frozenset({"admin"}),
                        via="admin_token")
