"""Why a stored decision came out as it did: its explanation and trace in the reader's
language, the rule's text as it was in the version that decided, and the facts it saw.

A decision row keeps its trace compact (plan.stored_doc): the records, no words.  The words are
rendered here, when someone reads it, with the rule of the version that decided; a version that
cannot be loaded any more leaves the trace unsaid, and the answer says so (`trace_unavailable`).
Rows stored before compact traces, and silences' (jobs/silences.py), keep their lines as
written then: they are read as stored."""
from __future__ import annotations

import logging

from sqlalchemy import select

from trimtab.dsl.decision import Decision as Decided
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.reuse import Kept
from trimtab.server.domain import history, period_decisions
from trimtab.server.domain.plan import COMPACT
from trimtab.server.messages import Msg, msg
from trimtab.server.storage.models import Fact
from trimtab.server.core.errors import DomainError

KEEP_VERSIONS = 4              # earlier versions kept loaded (a load costs tens of ms)
_LOADED = Kept(limit=KEEP_VERSIONS)
log = logging.getLogger("trimtab.why")


def version_set(active, config, version: str):
    """The rule set of `version`: the served one, or loaded from git (None when that cannot
    be: a version of files never committed, or a repository that lost the commit)."""
    if version == active.version:
        return active
    from trimtab.server.domain.review import COMMIT
    if not COMMIT.match(version):
        return None
    key = (config["RULES_PATH"], version)
    loaded = _LOADED.get(key)
    if loaded is not None:
        return loaded
    from trimtab.server.domain.rulesets import load_for
    try:
        loaded = load_for(config, version)
    except RuleError:
        return None
    _LOADED.put(key, loaded)
    return loaded


def rule_text(ruleset, name: str, as_of: str | None) -> dict | None:
    rule = ruleset.rule(name, as_of) if ruleset is not None else None
    if rule is None:
        return None
    loc = rule.rule.loc
    return {"file": loc.file, "line": loc.line,
            "text": "\n".join(rule.lines[loc.line - 1: loc.end_line]).rstrip() + "\n"}


class Reader:
    """Stored decisions as one reader reads them: each rendered in `lang` with the rule set of
    its own version (each version looked up once per reader)."""

    def __init__(self, active, config, lang: str):
        self.active, self.config, self.lang = active, config, lang
        self._sets: dict = {}

    def ruleset(self, version: str):
        if version not in self._sets:
            self._sets[version] = version_set(self.active, self.config, version)
        return self._sets[version]

    def read(self, rule: str, version: str, as_of: str, facts: dict | None,
             result: dict) -> tuple[dict, Msg | None]:
        """(the decision's document as POST /v1/evaluate gives it, trace lines included, and
        None — or, when they cannot be rendered, the document without them and why not)."""
        stored = result.get(COMPACT)
        if stored is None:                      # its lines stored with it
            return result, None
        kept = {k: v for k, v in result.items() if k != COMPACT}
        ruleset = self.ruleset(version)
        compiled = ruleset.rule(rule, as_of) if ruleset is not None else None
        if compiled is None:
            return kept, msg("rule set {version} cannot be loaded any more: the trace is not shown",
                             version=version)
        try:
            return Decided.revive(compiled, facts or {}, stored).to_json(self.lang), None
        except (ValueError, KeyError, IndexError, TypeError) as err:    # not this rule's records
            log.warning("why: the trace of %s (%s) does not fit its rule: %r", rule, version, err)
            return kept, msg("the stored trace does not fit rule {rule} of rule set {version}: "
                             "the trace is not shown", rule=rule, version=version)


def why(session, seen, decision_id: int, active, config, lang: str = "en") -> dict:
    decision = period_decisions.find(session, decision_id)
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
    reader = Reader(active, config, lang)
    facts = history.parse(fact.payload) if fact is not None else None
    result, unavailable = reader.read(decision.rule, decision.ruleset_version, as_of, facts,
                                      decision.result or {})
    return {"id": decision.id, "rule": decision.rule, "kind": decision.kind, "form": decision.form,
            "subject": decision.subject, "period": decision.period, "fired": decision.fired,
            "ruleset_version": decision.ruleset_version,
            "at": decision.created_at.isoformat() + "Z", "current": decision.superseded_at is None,
            "explanation": result.get("explanation"), "trace": result.get("trace", []),
            "trace_unavailable": unavailable.render(lang) if unavailable else None,
            "result": result,
            "rule_text": rule_text(reader.ruleset(decision.ruleset_version), decision.rule, as_of),
            "facts": facts,
            "fact_id": fact.id if fact is not None else None}


def listed(session, rows: list, reader: Reader) -> list[dict]:
    """The decisions list's items (GET /v1/decisions): each stored decision with its document
    as Reader.read gives it; the facts of those stored compact read in one query."""
    ids = {d.fact_id for d in rows if d.fact_id and COMPACT in (d.result or {})}
    seen = {f.id: f for f in session.execute(
        select(Fact.id, Fact.occurred_on, Fact.payload).where(Fact.id.in_(ids)))} if ids else {}
    items = []
    for d in rows:
        fact = seen.get(d.fact_id)
        as_of = (fact.occurred_on if fact is not None else d.created_at.date()).isoformat()
        result, unavailable = reader.read(d.rule, d.ruleset_version, as_of,
                                          history.parse(fact.payload) if fact is not None else None,
                                          d.result or {})
        items.append({"id": d.id, "fact_id": d.fact_id, "form": d.form, "subject": d.subject,
                      "period": d.period, "rule": d.rule, "kind": d.kind, "fired": d.fired,
                      "error": d.error_code, "ruleset_version": d.ruleset_version,
                      "at": d.created_at.isoformat() + "Z", "current": d.superseded_at is None,
                      "superseded_at": d.superseded_at.isoformat() + "Z" if d.superseded_at else None,
                      "result": result,
                      "trace_unavailable": unavailable.render(reader.lang) if unavailable else None})
    return items
