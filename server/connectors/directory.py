"""A platform's directory as the org sync reads it: departments (with their leaders) and
members, whatever the platform (dingtalk_org.py, feishu_org.py)."""
from __future__ import annotations

from typing import NamedTuple


class Department(NamedTuple):
    id: str
    name: str
    parent: str | None
    leaders: tuple[str, ...]        # platform ids of the department's leaders (主管)


class Member(NamedTuple):
    platform_id: str                # DingTalk userid / Feishu open_id
    union_id: str | None
    name: str
    email: str | None
    mobile: str | None
    title: str
    departments: tuple[str, ...]    # the first is the member's main department
    manager: str | None             # the platform's own manager field, where it has one


class Directory(NamedTuple):
    platform: str                   # dingtalk | feishu
    departments: dict[str, Department]
    members: dict[str, Member]

    def manager_of(self, member: Member) -> str | None:
        """The platform's manager field, else the leader of the member's department — or, for
        that leader, of the nearest department above with a leader other than them."""
        if member.manager:
            return member.manager
        dept = self.departments.get(member.departments[0]) if member.departments else None
        while dept is not None:
            others = [lid for lid in dept.leaders if lid != member.platform_id and lid in self.members]
            if others:
                return others[0]
            dept = self.departments.get(dept.parent) if dept.parent else None
        return None

    def path(self, member: Member) -> list[str]:
        """Department names from the member's main department up to the top."""
        names, dept = [], self.departments.get(member.departments[0]) if member.departments else None
        while dept is not None:
            names.append(dept.name)
            dept = self.departments.get(dept.parent) if dept.parent else None
        return names
