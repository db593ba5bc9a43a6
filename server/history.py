"""What the rules see of a subject's past: the history a submission is evaluated with.

Its kind follows from the rules listening to the form, not from the form's name:
- "periods": the latest submission of each of the HISTORY_PERIODS periods before the current
  one (weekly metrics, visits, KR progress …), read newest first along the (form, subject,
  period) index a page at a time;
- "requests": on a form an approval rule listens to, every earlier request of the subject that
  was neither rejected by its approvers nor refused by its rule — they count toward the rule's
  `at most N … per cycle`.  Reading them reads approvals, so they are read in the writer's
  transaction (server/tx_writer.py), never on the two-statement path.
"""
from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import bindparam, select

from .models import Approval, Decision, Fact

HISTORY_PERIODS = 60
HISTORY_PAGE_ROWS = HISTORY_PERIODS + 10    # room for a few resubmissions; then another page
PERIODS, REQUESTS = "periods", "requests"

_F = Fact.__table__.c
# Statements built once: building and cache-keying a statement per request cost as much as
# running it.
HISTORY_PAGE = (select(_F.id, _F.period, _F.payload)
                .where(_F.form == bindparam("form"), _F.subject == bindparam("subject"),
                       _F.period < bindparam("period"))
                .order_by(_F.period.desc(), _F.id.desc()).limit(bindparam("page")))
HISTORY_NEXT_PAGE = HISTORY_PAGE.where(
    (_F.period < bindparam("last_period"))
    | ((_F.period == bindparam("last_period")) & (_F.id < bindparam("last_id"))))


def kind(ruleset, form: str) -> str | None:
    """REQUESTS when an approval rule listens to `form`, PERIODS when other rules do, None
    when no rule does (nothing to read)."""
    rules = ruleset.by_form.get(form)
    if not rules:
        return None
    return REQUESTS if any(r.kind == "approval" for r in rules) else PERIODS


class Parsed:
    """Stored facts as exact decimals, parsed once per process (history re-reads them often);
    one per app, so fact ids name one database.  Callers must not modify an entry: rules only
    read facts."""

    def __init__(self, limit: int = 50_000):
        self.limit, self._found = limit, {}

    def __call__(self, fact_id: int, payload: str) -> dict:
        found = self._found.get(fact_id)
        if found is None:
            if len(self._found) >= self.limit:
                self._found.clear()             # simple and bounded; refills from the database
            found = self._found[fact_id] = json.loads(payload, parse_float=Decimal)
        return found


def read(session, ruleset, form: str, subject: str, period: str, parsed=None) -> list[dict]:
    """The history of `subject` on `form` before `period`, oldest first, in the session's
    transaction.  `parsed`: a Parsed cache (None: parse each payload)."""
    which = kind(ruleset, form)
    if which is None:
        return []
    if which == REQUESTS:
        return requests(session, form, subject)
    conn = session.connection()

    def read_page(params):
        return conn.execute(HISTORY_NEXT_PAGE if "last_id" in params else HISTORY_PAGE,
                            params).all()
    return latest_periods(form, subject, period, read_page, parsed or _parse)


def latest_periods(form: str, subject: str, period: str, read_page, parsed) -> list[dict]:
    """The latest submission of each of the HISTORY_PERIODS periods before `period`, oldest
    first: newest first along the (form, subject, period) index, a page at a time, until
    enough periods are found or the facts run out.  `read_page(params)` → rows (id, period,
    payload) of HISTORY_PAGE, or of HISTORY_NEXT_PAGE once params hold `last_id`;
    `parsed(fact id, payload)` → the payload as facts."""
    found: dict[str, tuple] = {}
    params = {"form": form, "subject": subject, "period": period, "page": HISTORY_PAGE_ROWS}
    rows = read_page(params)
    while True:
        for fid, per, payload in rows:
            if per not in found and len(found) < HISTORY_PERIODS:
                found[per] = (fid, payload)
        if len(found) >= HISTORY_PERIODS or len(rows) < HISTORY_PAGE_ROWS:
            break
        params.update(last_period=rows[-1][1], last_id=rows[-1][0])
        rows = read_page(params)
    return [parsed(fid, payload) for per, (fid, payload) in sorted(found.items())]


def _parse(_fact_id: int, payload: str) -> dict:
    return json.loads(payload, parse_float=Decimal)


def requests(session, form: str, subject: str) -> list[dict]:
    """Every earlier request of `subject` on `form`, oldest first, that was neither rejected by
    its approvers nor refused by its approval rule."""
    rejected = set(session.scalars(select(Approval.fact_id).where(
        Approval.subject == subject, Approval.status == "rejected")))
    rows = session.execute(
        select(Fact.id, Fact.payload).where(Fact.form == form, Fact.subject == subject)
        .order_by(Fact.id)).all()
    refused = _refused_fact_ids(session, [r.id for r in rows])
    return [json.loads(p, parse_float=Decimal) for i, p in rows
            if i not in rejected and i not in refused]


def _refused_fact_ids(session, fact_ids) -> set:
    """Requests whose approval rule refused them: they are not changes."""
    if not fact_ids:
        return set()
    found = session.execute(select(Decision.fact_id).where(
        Decision.fact_id.in_(fact_ids), Decision.kind == "approval", Decision.fired.is_(False)))
    return {r.fact_id for r in found}
