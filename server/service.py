"""What happens to a submission: store it, evaluate it with its history, remember the
decisions, open an approval — all in the caller's transaction."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.orm import Session

from dsl import periods
from dsl.ruleset import MAX_HISTORY


from . import period_decisions
from .errors import DomainError
from .outbox import enqueue_alert
from .approval_flow import approval_json, check_current_target, open_approval, resolve_role
from .history_check import valid_history
from .models import Approval, Decision, Fact, Person, utcnow

HISTORY_PERIODS = 60
HISTORY_PAGE_ROWS = HISTORY_PERIODS + 10    # room for a few resubmissions; then another page
# Core tables for the webhook's hot path: the ORM's unit of work and entity loading cost more
# than the rules there.
FACTS, DECISIONS, PEOPLE = Fact.__table__, Decision.__table__, Person.__table__
_F = FACTS.c
# Statements built once: building and cache-keying a statement per request cost as much as
# running it.
HISTORY_PAGE = (select(_F.id, _F.period, _F.payload)
                .where(_F.form == bindparam("form"), _F.subject == bindparam("subject"),
                       _F.period < bindparam("period"))
                .order_by(_F.period.desc(), _F.id.desc()).limit(bindparam("page")))
HISTORY_NEXT_PAGE = HISTORY_PAGE.where(
    (_F.period < bindparam("last_period"))
    | ((_F.period == bindparam("last_period")) & (_F.id < bindparam("last_id"))))
FACT_COLUMNS = ("form", "subject", "period", "occurred_on", "payload", "client", "received_at",
                "rep", "region")
INSERT_FACT = insert(FACTS).returning(_F.id)
INSERT_DECISIONS = insert(DECISIONS)
# The fact goes in only if its rep is in the organisation chart: one statement where a lookup
# first would be a second round trip.
INSERT_FACT_OF_KNOWN_REP = insert(FACTS).from_select(
    FACT_COLUMNS,
    select(*[bindparam(k, type_=_F[k].type).label(k) for k in FACT_COLUMNS])
    .where(exists().where(PEOPLE.c.id == bindparam("rep"),
                          bindparam("region", type_=_F.region.type).is_(None)
                          | PEOPLE.c.region.is_(None)
                          | (PEOPLE.c.region == bindparam("region", type_=_F.region.type)))
           )).returning(_F.id)


# ---------------------------------------------------------------------- periods
def occurred_on(schema, facts: dict, tz: ZoneInfo) -> dt.date:
    """The local date a submission is about: its date field, else its month or quarter."""
    field = schema.date_field
    if field and isinstance(facts.get(field), str):
        text = facts[field]
        try:
            if len(text) > 10:            # a timestamp: bucket it in the configured timezone
                stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
                if stamp.tzinfo is not None:
                    stamp = stamp.astimezone(tz)
                return stamp.date()
            return dt.date.fromisoformat(text)
        except ValueError:
            raise DomainError("invalid_date", f"`{text}` is not a date", f"$.{field}") from None
    for field, sep, first_month in (("month", "-", lambda m: m), ("quarter", "-Q", lambda q: 3 * q - 2)):
        text = facts.get(field)
        if isinstance(text, str):
            # The form schema's pattern should have refused a month 13 or a year 0 already; a
            # deployment's own schema may be laxer.
            try:
                y, n = text.split(sep)
                if not (len(y) == 4 and y.isdigit() and n.isdigit() and len(n) <= 2):
                    raise ValueError(text)
                return dt.date(int(y), first_month(int(n)), 1)
            except ValueError:
                raise DomainError("invalid_period", f"`{text}` is not a {field}",
                                  f"$.{field}") from None
    return dt.datetime.now(tz).date()


def period_key(schema, day: dt.date) -> str:
    """ISO week, two-week block, month or quarter of `day`; the date itself without a period
    (the language's calendar, dsl/periods.py, so stored periods and rules agree)."""
    return periods.period_key(schema.period, day)


def owner_of(facts: dict) -> dict:
    """The fact's `rep` and `region` as stored beside it: who may see it (server/auth/scope.py)."""
    rep, region = facts.get("rep"), facts.get("region")
    return {"rep": str(rep)[:128] if rep not in (None, "") else None,
            "region": str(region)[:64] if region not in (None, "") else None}


def subject_of(schema, facts: dict) -> str:
    for name in schema.subjects:
        if facts.get(name) not in (None, ""):
            return str(facts[name])
    return ""


# ---------------------------------------------------------------------- history
def history(session: Session, form: str, subject: str, period: str) -> list[dict]:
    """Earlier periods' facts of this form and subject, oldest first, the latest submission of
    each period; for target changes, every earlier change not rejected (they count per cycle)."""
    if form != "target_change":
        conn = session.connection()

        def read_page(params):
            return conn.execute(HISTORY_NEXT_PAGE if "last_id" in params else HISTORY_PAGE,
                                params).all()
        return earlier_periods(str(conn.engine.url), form, subject, period, read_page)
    rejected = set(session.scalars(select(Approval.fact_id).where(
        Approval.subject == subject, Approval.status == "rejected")))
    changes = session.execute(
        select(Fact.id, Fact.payload).where(Fact.form == form, Fact.subject == subject)
        .order_by(Fact.id)).all()
    refused = _refused_fact_ids(session, [r.id for r in changes])
    return [json.loads(p, parse_float=Decimal) for i, p in changes
            if i not in rejected and i not in refused]


def earlier_periods(db: str, form: str, subject: str, period: str, read_page) -> list[dict]:
    """The latest submission of each of the HISTORY_PERIODS periods before `period`, oldest
    first: newest first along the (form, subject, period) index, a page at a time, until
    enough periods are found or the facts run out.  `read_page(params)` → rows (id, period,
    payload) of HISTORY_PAGE, or of HISTORY_NEXT_PAGE once params hold `last_id`; `db` names
    the database for the cache of parsed payloads."""
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
    return [_parsed(db, fid, payload) for per, (fid, payload) in sorted(found.items())]


_PARSED: dict = {}          # (database, fact id) -> parsed payload; stored facts never change
_PARSED_MAX = 50_000


def _parsed(db: str, fact_id: int, payload: str) -> dict:
    """A stored fact as exact decimals, parsed once per process (history re-reads them often).
    Callers must not modify it: rules only read facts."""
    found = _PARSED.get((db, fact_id))
    if found is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()                 # simple and bounded; refills from the database
        found = _PARSED[(db, fact_id)] = json.loads(payload, parse_float=Decimal)
    return found


def _refused_fact_ids(session, fact_ids) -> set:
    """Target-change facts whose approval rule refused them: they are not changes."""
    if not fact_ids:
        return set()
    rows = session.execute(select(Decision.fact_id).where(
        Decision.fact_id.in_(fact_ids), Decision.kind == "approval", Decision.fired.is_(False)))
    return {r.fact_id for r in rows}


# ---------------------------------------------------------------------- a submission
def submit(session: Session, ruleset, form: str, facts: dict, payload: str, client: str,
           tz: ZoneInfo, lang: str, channels: dict | None = None, routes: dict | None = None,
           earlier: list | None = None) -> dict:
    """Store a submission and its decisions in the session's transaction → the response body.
    `earlier`: the subject's history, when the caller has read it already."""
    schema = ruleset.schemas[form]
    day = occurred_on(schema, facts, tz)
    subject = subject_of(schema, facts)
    period = period_key(schema, day)
    check_current_target(session, facts)
    if earlier is None:
        earlier = history(session, form, subject, period) if form in ruleset.by_form else []
    fact_id = store_fact(session, {
        "form": form, "subject": subject, "period": period, "occurred_on": day,
        "payload": payload, "client": client, "received_at": utcnow(), **owner_of(facts)},
        facts.get("rep"))
    decisions = evaluate(ruleset, form, facts, earlier, day)
    now = utcnow()
    rows, out = decision_rows(ruleset, form, subject, period, fact_id, decisions, lang, now)
    current = {}
    if rows:
        # The period's earlier decisions step aside first: one is current per rule (an index).
        current = period_decisions.take(session, form, subject, period,
                                        [r["rule"] for r in rows], now)
        session.connection().execute(INSERT_DECISIONS, rows)
    queued = 0
    for d, change in period_decisions.changes(decisions, current):
        queued += enqueue_alert(session, d, fact_id, facts, routes or {}, channels or {},
                                resolve_role, change)
    approval = None
    for d in decisions:
        if _acts(d, "approval") and approval is None:
            approval = open_approval(session, d, fact_id, facts, ruleset.version)
    return response_body(fact_id, period, ruleset.version, out,
                         approval_json(approval) if approval else None, queued)


def evaluate(ruleset, form: str, facts: dict, earlier: list, day: dt.date) -> list:
    """Every rule on `form` in force on `day`, traced."""
    if form not in ruleset.by_form:
        return []
    earlier = valid_history(ruleset.schemas[form], earlier)     # stored payloads, as facts are
    # The latest periods only: one webhook's work is bounded however long the history grows.
    return ruleset.evaluate(form, facts, earlier[-MAX_HISTORY:], trace=True, as_of=day.isoformat())


def _acts(d, kind: str) -> bool:
    """A fired alert (notifications to queue) or an allowed change (an approval to open)."""
    return d.kind == kind and d.error is None and bool(d.value)


def needs_more_than_decisions(decisions, routes: dict | None, current: dict) -> bool:
    """Would `submit` also queue notifications (an alert's outcome for its period changes, as
    against the `current` decisions, and channels are configured) or open an approval?"""
    return any(_acts(d, "approval") for d in decisions) or \
        bool(routes) and bool(period_decisions.changes(decisions, current))


def decision_rows(ruleset, form: str, subject: str, period: str, fact_id: int, decisions,
                  lang: str, now: dt.datetime) -> tuple[list[dict], list[dict]]:
    """(rows for the decisions table, the decisions as the response lists them)."""
    rows, out = [], []
    for d in decisions:
        doc = d.to_json(lang)
        rows.append({"fact_id": fact_id, "form": form, "subject": subject, "period": period,
                     "rule": d.rule, "kind": d.kind, "fired": _fired(d), "result": doc,
                     "error_code": d.error.code if d.error else None,
                     "ruleset_version": ruleset.version, "created_at": now})
        out.append({k: doc.get(k) for k in RESPONSE_KEYS if k in doc})
    return rows, out


RESPONSE_KEYS = ("rule", "kind", "value", "explanation", "error", "notify", "message", "level",
                 "violations", "steps")


def response_body(fact_id: int, period: str, version: str, decisions: list[dict],
                  approval: dict | None = None, queued: int = 0) -> dict:
    return {"fact_id": fact_id, "period": period, "ruleset_version": version,
            "decisions": decisions, "approval": approval, "notifications_queued": queued}


def store_fact(session: Session, row: dict, rep) -> int:
    """Insert a fact and return its id; a fact naming a rep only if the rep is known."""
    if rep is None:
        return session.connection().execute(INSERT_FACT, row).scalar_one()
    fact_id = session.connection().execute(INSERT_FACT_OF_KNOWN_REP, {**row, "rep": str(rep)}).scalar()
    if fact_id is None:
        known = session.get(Person, str(rep))
        check_org_relation(None if known is None else (known.region,), rep, row.get("region"))
    return fact_id


def check_org_relation(held: tuple | None, rep, region) -> None:
    """The organisation chart owns who a rep is and where they work: an unknown rep is a 422,
    a region that is not theirs a 409 naming the one held.  `held`: (the rep's region,) or None."""
    if held is None:
        raise DomainError("unknown_subject", f"`{rep}` is not in the organisation chart", "$.rep")
    if region is not None and held[0] is not None and held[0] != region:
        raise DomainError("stale_org_relation", f"`{rep}` works in region `{held[0]}` by the "
                          f"organisation chart, not `{region}`", "$.region", stored=held[0])


def _fired(d) -> bool:
    if d.error is not None:
        return False
    if d.kind == "alert":
        return bool(d.value)
    if d.kind == "approval":
        return bool(d.value)          # allowed
    return True
