"""What a reload would take away, and the confirmation it needs (issue 13).

A reload that drops rules, schedules or whole rule files is refused unless the caller says
`allow_removals`: deleting `alerts.rules` by mistake must not silently stop seven alerts.
The comparison is by name (a rule with a new effective version is still there) and by file.
"""
from __future__ import annotations

from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError


class RemovalsNeedConfirmation(Exception):
    """The new rule set lacks rules, schedules or files the current one has."""

    def __init__(self, removed: dict):
        self.removed = removed
        counts = {"rules": msg("{count} rules", count=len(removed.get("rules", []))),
                  "schedules": msg("{count} schedules", count=len(removed.get("schedules", []))),
                  "files": msg("{count} files", count=len(removed.get("files", [])))}
        parts = [counts[kind] for kind, names in removed.items() if names]
        # What a route answers (409, in the request's language); str(err) is its English.
        self.refusal = DomainError("removals_need_confirmation",
                                   msg("the new rule set removes {parts}; send allow_removals: true to confirm",
                                       parts=parts), "$.allow_removals", removed=removed)
        super().__init__(self.refusal.message)


def _names(ruleset) -> dict:
    return {"rules": {r.name for r in ruleset.rules},
            "schedules": {s.name for s in ruleset.schedules},
            "files": {f.path for f in ruleset.checked.files}}     # as the same loader names them


def removals(old, new) -> dict:
    """{"rules": [...], "schedules": [...], "files": [...]}: what `old` has and `new` lacks."""
    if old is None:
        return {"rules": [], "schedules": [], "files": []}
    before, after = _names(old), _names(new)
    return {kind: sorted(before[kind] - after[kind]) for kind in ("rules", "schedules", "files")}


def refuse_removals(old, new) -> None:
    """A reload guard: raise RemovalsNeedConfirmation when `new` drops anything of `old`."""
    removed = removals(old, new)
    if any(removed.values()):
        raise RemovalsNeedConfirmation(removed)
