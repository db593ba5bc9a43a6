"""What a draft would do: its decisions beside the served version's on given or recorded
facts, its changes in words (as `trimtab diff`), its rule tests with coverage, and the
recorded facts a replay runs over (the replay itself: server/jobs/replays.py)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from trimtab.dsl.diagnostics import RuleError
from trimtab.server.domain import history
from trimtab.server.messages import msg
from trimtab.server.storage.models import Fact
from trimtab.server.core.errors import DomainError, from_rule_error

# Keys of a decision's JSON that say where and how, not what: not compared.
NOT_COMPARED = ("explanation", "trace", "file", "line")
MAX_RECORDS = 100_000          # recorded facts one replay or export reads


# ---------------------------------------------------------------- both versions, side by side
def compare(published, draft_set, form: str, facts, history_=(), as_of=None, lang="en") -> dict:
    """Both versions' decisions on the same facts, rule by rule, with what differs marked."""
    sides = {}
    for name, rs in (("published", published), ("draft", draft_set)):
        try:
            given = rs.given_history(form, list(history_))
            sides[name] = {d.rule: d.to_json(lang) for d in
                           (rs.evaluate(form, facts, given, as_of=as_of) if form in rs.by_form else [])}
        except RuleError as err:
            raise from_rule_error(err, lang, "$.facts") from None
    rules = list(sides["published"]) + [r for r in sides["draft"] if r not in sides["published"]]
    rows = []
    for rule in rules:
        old, new = sides["published"].get(rule), sides["draft"].get(rule)
        differs = _differs(old, new)
        rows.append({"rule": rule, "published": old, "draft": new, "changed": bool(differs),
                     "differs": differs})
    return {"published_version": published.version, "form": form, "as_of": as_of,
            "changed": [r["rule"] for r in rows if r["changed"]], "rules": rows}


def _differs(old: dict | None, new: dict | None) -> list[str]:
    """The keys whose values differ ("rule" when one side has no such rule)."""
    if old is None or new is None:
        return ["rule"]
    keys = [k for k in dict.fromkeys([*old, *new]) if k not in NOT_COMPARED]
    return [k for k in keys if old.get(k) != new.get(k)]


def recorded_case(session, ruleset, seen, form: str, subject: str, period: str) -> dict:
    """The latest recorded facts of `subject` on `form` for `period`, with the history the
    server would read for them; 404 when there are none the caller may see."""
    q = (select(Fact).where(Fact.form == form, Fact.subject == subject, Fact.period == period)
         .order_by(Fact.id.desc()).limit(1))
    visible = seen.facts_clause()
    if visible is not None:
        q = q.where(visible)
    fact = session.scalars(q).first()
    if fact is None:
        raise DomainError("not_found", msg("no recorded `{form}` facts of `{subject}` for {period}",
                                           form=form, subject=subject, period=period), "$.subject")
    earlier = history.read(session, ruleset, form, subject, period) if form in ruleset.by_form else []
    return {"fact_id": fact.id, "facts": history.parse(fact.payload), "history": earlier,
            "as_of": fact.occurred_on.isoformat()}


# ---------------------------------------------------------------- diff and tests
def changes(published, draft_set, lang: str) -> dict:
    from trimtab.dsl.diff import diff
    found = diff(published, draft_set)
    return {"published_version": published.version,
            "changes": [c.to_json(lang) for c in found], "words": [c.words(lang) for c in found]}


def rule_tests(draft_set, rules_path: str, lang: str) -> dict:
    """The rule tests beside the served rules (and every inline example) run on the draft,
    with coverage — what `trimtab test --coverage --json` reports."""
    from trimtab.dsl.rule_tests import find_test_files, load_test_file
    from trimtab.dsl.testing import Coverage, example_cases, run_case
    cases, unusable = example_cases(draft_set), []
    for path in find_test_files(Path(rules_path)):
        try:
            cases += load_test_file(path, draft_set)
        except RuleError as err:         # e.g. a test naming a rule the draft removed
            unusable += [{**d.to_json(lang), "file": _short(f"{d.file}:{d.line}").rpartition(":")[0]}
                         for d in err.diagnostics]
    coverage = Coverage(draft_set)
    results = [run_case(draft_set, case, coverage, lang) for case in cases]
    failed = [r for r in results if not r.ok]
    return {"passed": len(results) - len(failed), "failed": len(failed) + len(unusable),
            "unusable_files": unusable,
            "failures": [{"name": r.case.name, "where": _short(r.case.where), "error": r.error,
                          "mismatches": [{"rule": m.rule, "expected": _plain(m.expected),
                                          "actual": _plain(m.actual), "explanation": m.explanation}
                                         for m in r.mismatches]} for r in failed],
            "coverage": coverage.report()}


def _plain(value):
    import json

    from trimtab.dsl.decision import plain
    return json.loads(json.dumps(plain(value), default=str))


def _short(where: str) -> str:
    """A test's place without the server's own directories."""
    path, _, line = where.rpartition(":")
    parts = Path(path).parts
    return "/".join(parts[-3:]) + ":" + line if len(parts) > 3 else where


# ---------------------------------------------------------------- recorded facts
def facts_query(seen, form=None, subject=None, since=None, until=None):
    """Recorded facts the caller sees, oldest first (by date, then arrival)."""
    q = select(Fact).order_by(Fact.occurred_on, Fact.id)
    visible = seen.facts_clause()
    if visible is not None:
        q = q.where(visible)
    if form:
        q = q.where(Fact.form == form)
    if subject:
        q = q.where(Fact.subject == subject)
    if since:
        q = q.where(Fact.occurred_on >= since)
    if until:
        q = q.where(Fact.occurred_on <= until)
    return q


def records(session, query, limit: int = MAX_RECORDS) -> list[dict]:
    """Facts as replay records: {"form", "facts", "as_of", "subject", "period", "id"}."""
    return [{"id": f.id, "form": f.form, "subject": f.subject, "period": f.period,
             "as_of": f.occurred_on.isoformat(), "facts": history.parse(f.payload)}
            for f in session.scalars(query.limit(limit))]


def day(value, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else \
            _bad_day(name)
    except ValueError:
        return _bad_day(name)


def _bad_day(name: str):
    raise DomainError("invalid_date", msg("`{name}` must be a date such as 2026-08-03", name=name), f"$.{name}")
