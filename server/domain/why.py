"""Why a stored decision came out as it did: its explanation and trace as stored, the rule's
text as it was in the version that decided, and the facts it saw."""
from __future__ import annotations

import threading
from collections import OrderedDict

from trimtab.dsl.diagnostics import RuleError
from trimtab.server.domain import history
from trimtab.server.messages import msg
from trimtab.server.storage.models import Decision, Fact
from trimtab.server.core.errors import DomainError

KEEP_VERSIONS = 4              # earlier versions kept loaded (a load costs tens of ms)
_LOADED: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


def version_set(active, config, version: str):
    """The rule set of `version`: the served one, or loaded from git (None when that cannot
    be: a version of files never committed, or a repository that lost the commit)."""
    if version == active.version:
        return active
    from trimtab.server.domain.review import COMMIT
    if not COMMIT.match(version):
        return None
    key = (config["RULES_PATH"], version)
    with _LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key]
    from trimtab.server.domain.rulesets import load_for
    try:
        loaded = load_for(config, version)
    except RuleError:
        return None
    with _LOCK:
        _LOADED[key] = loaded
        while len(_LOADED) > KEEP_VERSIONS:
            _LOADED.popitem(last=False)
    return loaded


def rule_text(ruleset, name: str, as_of: str | None) -> dict | None:
    rule = ruleset.rule(name, as_of) if ruleset is not None else None
    if rule is None:
        return None
    loc = rule.rule.loc
    return {"file": loc.file, "line": loc.line,
            "text": "\n".join(rule.lines[loc.line - 1: loc.end_line]).rstrip() + "\n"}


def why(session, seen, decision_id: int, active, config) -> dict:
    decision = session.get(Decision, decision_id)
    fact = session.get(Fact, decision.fact_id) if decision is not None and decision.fact_id else None
    if decision is None:
        raise DomainError("not_found", msg("no decision {decision_id}", decision_id=decision_id), "$.id")
    visible = seen.sees_subject(decision.subject) if fact is None else (
        seen.everything or (fact.rep in seen.people if fact.rep else
                            seen.sees_subject(fact.subject) or fact.region in seen.regions))
    if not visible:
        raise DomainError("out_of_scope", msg("decision {decision_id} is not yours to see",
                                               decision_id=decision_id))
    as_of = fact.occurred_on.isoformat() if fact is not None else decision.created_at.date().isoformat()
    ruleset = version_set(active, config, decision.ruleset_version)
    result = decision.result or {}
    return {"id": decision.id, "rule": decision.rule, "kind": decision.kind, "form": decision.form,
            "subject": decision.subject, "period": decision.period, "fired": decision.fired,
            "ruleset_version": decision.ruleset_version,
            "at": decision.created_at.isoformat() + "Z", "current": decision.superseded_at is None,
            "explanation": result.get("explanation"), "trace": result.get("trace", []),
            "result": result,
            "rule_text": rule_text(ruleset, decision.rule, as_of),
            "facts": history.parse(fact.payload) if fact is not None else None,
            "fact_id": fact.id if fact is not None else None}
