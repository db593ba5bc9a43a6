"""What a principal may see, from the organisation chart:

| who | sees |
|---|---|
| everyone | themselves |
| a manager | their reports, transitively, and their own region's team-level facts |
| an HRBP | the people they are HRBP of and everyone in the regions they cover |
| an approver | the approvals that name them (approvals.py) |
| admin | everything |

List routes filter by it (never 403 for a list); a single object out of scope is 403.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trimtab.server.storage.models import Decision, Fact, Person
from trimtab.server.auth.principal import Principal


@dataclass(frozen=True)
class Scope:
    everything: bool
    people: frozenset            # person ids
    regions: frozenset           # region (team) names whose team-level facts are visible

    def sees_person(self, person_id) -> bool:
        return self.everything or person_id in self.people

    def sees_subject(self, subject) -> bool:
        """A decision's or fact's subject: a person, or a region/team."""
        return self.everything or subject in self.people or subject in self.regions

    def facts_clause(self, fact=Fact):
        """SQL: facts this scope sees — the rep's, or, for facts without a rep, the region's."""
        if self.everything:
            return None
        return or_(fact.rep.in_(self.people),
                   and_(fact.rep.is_(None),
                        or_(fact.subject.in_(self.people | self.regions),
                            fact.region.in_(self.regions))))


    def decisions_clause(self):
        """SQL over decisions outer-joined to their facts: a decision about a fact this scope
        sees, or one without a fact (a silence alert) about a person or region it sees."""
        if self.everything:
            return None
        return or_(self.facts_clause(),
                   and_(Decision.fact_id.is_(None), Decision.subject.in_(self.people | self.regions)))


EVERYTHING = Scope(True, frozenset(), frozenset())


def scope_of(session: Session, principal: Principal) -> Scope:
    if principal.is_admin:
        return EVERYTHING
    me = principal.person_id
    rows = session.execute(select(Person.id, Person.manager_id, Person.hrbp_id, Person.region)).all()
    reports: dict[str, list[str]] = {}
    for pid, manager, _hrbp, _region in rows:
        if manager and manager != pid:
            reports.setdefault(manager, []).append(pid)
    people, todo = {me}, [me]
    while todo:                                  # transitively; a loop in the chart ends here
        for child in reports.get(todo.pop(), ()):
            if child not in people:
                people.add(child)
                todo.append(child)
    regions = set(principal.covers)
    if principal.is_hrbp or principal.covers:
        people |= {pid for pid, _m, hrbp, region in rows
                   if hrbp == me or (region is not None and region in regions)}
    if reports.get(me) and principal.region:
        regions.add(principal.region)
    return Scope(False, frozenset(people), frozenset(regions))
