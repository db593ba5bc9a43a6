"""What the rules see of a subject's past: the history a submission is evaluated with.

Its kind follows from the rules listening to the form, not from the form's name:
- "periods": the latest submission of each of the HISTORY_PERIODS periods before the current
  one (weekly metrics, visits, KR progress …);
- "requests": on a form an approval rule listens to, every earlier request of the subject that
  was neither rejected by its approvers nor refused by its rule — they count toward the rule's
  `at most N … per cycle`.  Reading them reads approvals, so they are read in the writer's
  transaction (server/domain/tx_writer.py), never on the two-statement path.

"periods" history is kept per worker (Cache): a subject's latest submission per period,
parsed and checked once, extended on each webhook with only the facts stored since — so a
webhook reads a few rows however long the history grows.  Facts are never updated or deleted,
only retracted (server/domain/retraction.py), so whether the cache still holds the subject's
facts is told by the subject's counter row (fact_counts: its live facts, the highest id, and
how many were ever retracted) and the rows the read returns:
- the read looks for facts above the highest id M the cache has seen only from the subject's
  LATE_WITHIN-th latest kept period on, so it walks a few index entries however long the
  history (walking from the first period cost PostgreSQL a little more every week);
- then the live facts now less the rows returned is the number of facts up to M, or more than
  it: it is more when a fact was committed late under a lower id, or when a fact above M was
  stored for an older period than the read looked at (another worker's correction of an old
  week), and either sends the subject back to a full read;
- a retraction lowers the live count, which could hide such a fact: the retractions' count,
  which only grows, sends the subject back to a full read on its own.
"""
from __future__ import annotations

import bisect
import json
import logging
import sys
import threading
from collections import OrderedDict
from decimal import Decimal

from sqlalchemy import bindparam, select

from trimtab.dsl.periods import Dated, number_of
from trimtab.dsl.running_sums import RunningSums
from trimtab.server.domain.history_check import valid, valid_history
from trimtab.server.domain.request_history import requests
from trimtab.server.domain.validation import decode
from trimtab.server.storage.models import Fact, FactCount

log = logging.getLogger("trimtab.history")

HISTORY_PERIODS = 60
HISTORY_PAGE_ROWS = HISTORY_PERIODS + 10    # room for a few resubmissions; then another page
KEEP_PERIODS = HISTORY_PERIODS + 30         # periods a subject's cached history keeps at most
CUT_BY = 10                 # past KEEP_PERIODS, the oldest this many go at once (Subject.trim)
LATE_WITHIN = 13            # new facts are looked for from a subject's 13th latest kept period on
CACHE_ENTRIES = 12_000                      # parsed entries a worker keeps (≈ 1.2 KiB each)
ADMIT_UP_TO = 0.9                           # of them, what a subject not held may come into
PERIODS, REQUESTS = "periods", "requests"

_F = Fact.__table__.c
# Statements built once: building and cache-keying a statement per request cost as much as
# running it.
_LIVE = _F.retracted_at.is_(None)       # a deleted record's facts are history no more
HISTORY_PAGE = (select(_F.id, _F.period, _F.payload)
                .where(_F.form == bindparam("form"), _F.subject == bindparam("subject"),
                       _F.period < bindparam("period"), _LIVE)
                .order_by(_F.period.desc(), _F.id.desc()).limit(bindparam("page")))
HISTORY_NEXT_PAGE = HISTORY_PAGE.where(
    (_F.period < bindparam("last_period"))
    | ((_F.period == bindparam("last_period")) & (_F.id < bindparam("last_id"))))
_SUBJECT = (_F.form == bindparam("form")) & (_F.subject == bindparam("subject")) & _LIVE
# What the cache needs, as pg_intake.READ reads it in its one statement.
_K = FactCount.__table__.c
COUNTER = select(_K.n, _K.top, _K.retracted).where(_K.form == bindparam("form"),
                                                  _K.subject == bindparam("subject"))
NEWER = (select(_F.id, _F.period, _F.payload)
         .where(_SUBJECT, _F.id > bindparam("seen_max"), _F.period >= bindparam("since"))
         .order_by(_F.period.desc(), _F.id.desc()).limit(bindparam("page")))


def counts(seen_max: int, counter, newer: int) -> tuple:
    """What Cache.history checks the cache with: (facts up to seen_max, live facts, the highest
    id, retractions), from the subject's counter row (n, top, retracted; None if it has none)
    and how many `newer` rows a read above seen_max returned.  The first is None after a full
    page of a subject the cache holds (more may be newer); 0 after one of a subject it does
    not hold (seen_max 0: fact ids start at 1)."""
    n, top, retracted = counter if counter is not None else (None, None, None)
    n, retracted = n or 0, retracted or 0
    if newer < HISTORY_PAGE_ROWS:
        seen = n - newer
    else:
        seen = None if seen_max else 0
    return seen, n, top, retracted


def kind(ruleset, form: str) -> str | None:
    """REQUESTS when an approval rule listens to `form`, PERIODS when other rules do, None
    when no rule does (nothing to read)."""
    rules = ruleset.by_form.get(form)
    if not rules:
        return None
    return REQUESTS if any(r.kind == "approval" for r in rules) else PERIODS


def parse(payload: str) -> dict:
    """A stored payload as facts, with exact decimals; its keys interned (many entries share
    them: half an entry's memory otherwise)."""
    return {sys.intern(k): v for k, v in json.loads(payload, parse_float=Decimal).items()}


def checked_entry(schema, payload: str) -> dict | None:
    """A stored payload as facts if it fits the form (in one pass when the form's decoder
    takes it), else None (parse and the history check word why, in the log)."""
    entry = decode(schema, payload)
    if entry is not None:
        return entry
    entry = parse(payload)
    return entry if valid(schema, entry) else None


class Subject:
    """One subject's cached history on one form: the latest submission of each period from
    `floor` on (None: from the first).  `periods` (sorted) with, at the same places, each
    one's entry (None when it does not fit the form) and the entry's period number as the
    rules date it — once, not on every webhook; `fids` by period: the fact each one holds.
    Parallel lists, so a webhook's history is two slices: reading sixty periods' tuples
    through a dict cost 40 µs a webhook in a busy worker (cache misses), a slice about 5.
    `sums`: the running sums of the fields baselines read over `entries`, so a baseline
    does not walk sixty periods on every webhook (dsl/running_sums.py) — two numbers an entry
    and a field, cut with the entries."""
    __slots__ = ("schema", "count", "top", "retracted", "floor", "periods", "entries", "numbers",
                 "fids", "unfit", "sums")

    def __init__(self, schema):
        self.schema, self.count, self.top, self.retracted, self.floor = schema, 0, 0, 0, None
        self.periods: list[str] = []            # sorted
        self.entries: list[dict | None] = []
        self.numbers: list[int | None] = []
        self.fids: dict[str, int] = {}
        self.unfit = 0                          # entries None or without a number
        self.sums = RunningSums()               # the baselines' sums over `entries`

    def add(self, rows, full_page: bool) -> int:
        """Rows (id, period, payload) newest period first; `full_page`: more may be missing
        below the last row's period.  → entries added."""
        latest: list = []               # each period's latest fact: put() would drop the rest
        for row in rows:
            if not latest or row[1] != latest[-1][1]:
                latest.append(row)
            elif row[0] > latest[-1][0]:
                latest[-1] = row
        added = 0
        for fid, per, payload in reversed(latest):  # oldest first: new periods go on the end
            added += self.put(fid, per, payload, None)
        if full_page and rows:
            added -= self.cut(max(self.floor or "", rows[-1][1]))
        return added - self.trim()

    def put(self, fid: int, per: str, payload: str | None, entry: dict | None) -> int:
        """Fact `fid` of period `per`, from its payload (checked here) or as an `entry` checked
        already, if it is the period's latest → periods added (0 or 1)."""
        if self.floor is not None and per < self.floor:
            return 0
        held = self.fids.get(per)
        if held is not None and held >= fid:
            return 0
        if payload is not None:
            entry = checked_entry(self.schema, payload)
        number = None if entry is None else number_of(self.schema, entry)
        self.fids[per] = fid
        at = bisect.bisect_left(self.periods, per)
        if held is not None or at < len(self.periods):
            self.sums.changed(at)               # not the next period: the sums from `at` go
        if held is not None:
            self.unfit -= self.numbers[at] is None
            self.entries[at], self.numbers[at] = entry, number
            self.unfit += number is None
            return 0
        self.periods.insert(at, per)
        self.entries.insert(at, entry)
        self.numbers.insert(at, number)
        self.unfit += number is None
        return 1

    def trim(self) -> int:
        """Past KEEP_PERIODS periods, forget the oldest CUT_BY at once → how many.  One at
        every webhook cost about 3 µs a webhook, paid only by long histories: small, but a cost
        that grew with the history (docs/performance.md, 2026-12-03 19:50)."""
        if len(self.periods) <= KEEP_PERIODS:
            return 0
        return self.cut(self.periods[-max(1, KEEP_PERIODS - CUT_BY + 1)])

    def cut(self, floor: str) -> int:
        """Forget the periods before `floor` → how many."""
        n = bisect.bisect_left(self.periods, floor)
        for per in self.periods[:n]:
            del self.fids[per]
        self.unfit -= self.numbers[:n].count(None)
        del self.periods[:n], self.entries[:n], self.numbers[:n]
        if n:
            self.sums.cut(n)
        self.floor = floor
        return n

    def before(self, period: str) -> list[dict] | None:
        """The valid entries of the HISTORY_PERIODS latest periods before `period`, oldest
        first, Dated when each has its period number; None when the periods kept do not reach
        back far enough."""
        end = bisect.bisect_left(self.periods, period)
        if end < HISTORY_PERIODS and self.floor is not None:
            return None
        start = max(0, end - HISTORY_PERIODS)
        if start == end:
            return Dated(self.schema, [], [])
        numbers = self.numbers[start:end]
        if not self.unfit or None not in numbers:
            laid = range(numbers[0], numbers[-1] + 1)
            if len(laid) == len(numbers) and numbers == list(laid):
                numbers = laid      # one a period, none missing: periods.timeline trusts a range
            return Dated(self.schema, self.entries[start:end], numbers, self.sums.window(start))
        out = [e for e, n in zip(self.entries[start:end], numbers) if e is not None]
        numbers = [n for e, n in zip(self.entries[start:end], numbers) if e is not None]
        if None in numbers:         # one the rules cannot date: they say so, undated
            return out
        return Dated(self.schema, out, numbers)


class Asked:
    """How often each subject's history was asked for lately: every count halves once there
    have been four asks for each subject counted (a hundred at least), so a subject nobody asks for any more fades
    out (the admission of W-TinyLFU, with a dict for its sketch: small beside the histories)."""
    __slots__ = ("counts", "asks")

    def __init__(self):
        self.counts: dict = {}
        self.asks = 0

    def ask(self, key) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        self.asks += 1
        if self.asks >= 4 * max(len(self.counts), 100):
            self.asks = 0
            self.counts = {k: n >> 1 for k, n in self.counts.items() if n > 1}

    def __getitem__(self, key) -> int:
        return self.counts.get(key, 0)


class Cache:
    """Subjects' histories, least recently used out first once more than `limit` entries are
    held.  A subject not held comes in only if there is room or it is asked for more often than
    the subjects it would push out: when an organisation's histories do not fit, the cache
    keeps the same subjects from week to week (webhooks come round rep by rep, so letting the
    least recently used go would push out each rep just before its next week and keep none).
    One per app: fact ids name one database."""

    def __init__(self, limit: int = CACHE_ENTRIES):
        self.limit, self.size, self._subjects = limit, 0, OrderedDict()
        self._asked = Asked()
        self._said_full = False                 # the warning that it is full, once a process
        self._lock = threading.Lock()           # a threaded server's requests share it
        # Told how many subjects went each time some go to keep within `limit`, and of each
        # history read whole because it was not held (/metrics: whole reads at about the
        # webhooks' rate say the subjects' histories do not fit).
        self.on_evict = self.on_whole_read = None

    def seen(self, form: str, subject: str, schema) -> int:
        """The highest fact id the cache has seen of (form, subject): read newer rows only."""
        return self.looking(form, subject, schema)[0]

    def looking(self, form: str, subject: str, schema) -> tuple[int, str]:
        """(seen(), the period from which to look for newer facts): the subject's LATE_WITHIN-th
        latest kept period, or "" (all) for a subject held with fewer or not held."""
        held = self._subjects.get((form, subject))
        if held is None or held.schema is not schema:
            return 0, ""
        periods = held.periods
        return held.top, periods[-LATE_WITHIN] if len(periods) > LATE_WITHIN else ""

    def history(self, form: str, subject: str, period: str, schema, counts, rows) -> list | None:
        """Extend the subject's history with what a read returned for looking(): `counts`
        (counts(): its facts with an id up to seen() or None, its live facts, the highest id,
        its retractions) and `rows` (id, period, payload) above seen() from looking()'s period
        on, newest period first, at most HISTORY_PAGE_ROWS → the history before `period`, or
        None: read it afresh (seen() is 0 then) or page by page."""
        with self._lock:
            return self._extend(form, subject, period, schema, counts, rows)

    def wrote(self, form: str, subject: str, schema, counts, fact_id: int, period: str,
              entry: dict) -> None:
        """The fact this process just stored, its `entry` the facts as the form's decoder read
        them from the stored payload's very bytes: kept as the next read would find it, so that
        read brings nothing new to decode.  Only when the subject's history is as the write's
        read left it (`counts`: its facts then, the highest id); the next read's count then
        says whether anyone else stored a fact below this one meanwhile (a re-read)."""
        with self._lock:
            held = self._subjects.get((form, subject))
            if held is None or held.schema is not schema or fact_id <= held.top or \
                    (held.count, held.top, held.retracted) != (counts[1], counts[2] or 0, counts[3]):
                return
            added = held.put(fact_id, period, None, entry) - held.trim()
            held.count, held.top = held.count + 1, fact_id
            self.size += added

    def _extend(self, form, subject, period, schema, counts, rows) -> list | None:
        key = (form, subject)
        self._asked.ask(key)
        held = self._subjects.pop(key, None)
        newcomer = held is None
        if held is not None:
            self.size -= len(held.periods)
            if held.schema is not schema or counts[0] != held.count or counts[3] != held.retracted:
                held = None                     # a reload, a fact committed late, or one it did
                                                # not look for, or a retraction: re-read
        if held is None and counts[0] != 0:
            return None
        held = held or Subject(schema)
        held.add(rows, len(rows) >= HISTORY_PAGE_ROWS)
        held.count, held.top, held.retracted = counts[1], counts[2] or 0, counts[3]
        if newcomer and counts[1] and self.on_whole_read is not None:
            self.on_whole_read()
        if newcomer and not self._admits(key, len(held.periods)):
            if not self._said_full:
                self._said_full = True
                log.warning("the history cache is full (%d periods): histories it does not keep are "
                            "read whole at every webhook; TRIMTAB_HISTORY_CACHE_ENTRIES sets its room "
                            "(docs/server.md, Sizing the history cache)", self.limit)
            return held.before(period)          # not kept: read whole again next time
        self._subjects[key] = held
        self.size += len(held.periods)
        evicted = 0
        while self.size > self.limit and len(self._subjects) > 1:
            _key, old = self._subjects.popitem(last=False)
            self.size -= len(old.periods)
            evicted += 1
        if evicted and self.on_evict is not None:
            self.on_evict(evicted)
        return held.before(period)

    def _admits(self, key, entries: int) -> bool:
        """Room for a subject not held: there is some below ADMIT_UP_TO of the limit (the rest
        is for the held subjects' new weeks), or the least recently used subjects it would push
        out were each asked for less often than it."""
        needed = self.size + entries - int(self.limit * ADMIT_UP_TO)
        # its asks before this one: those it would push out have not been asked this time
        # round yet (webhooks come round rep by rep), so counting this one would let every
        # newcomer in and keep none, as letting the least recently used go does
        asked = self._asked[key] - 1
        for other, held in self._subjects.items():      # least recently used first
            if needed <= 0:
                break
            if self._asked[other] >= asked:
                return False
            needed -= len(held.periods)
        return True


def read(session, ruleset, form: str, subject: str, period: str, cache: Cache | None = None
         ) -> list[dict]:
    """The history of `subject` on `form` before `period`, oldest first, checked against the
    form, in the session's transaction."""
    which = kind(ruleset, form)
    if which is None:
        return []
    schema = ruleset.schemas[form]
    if which == REQUESTS:
        return valid_history(schema, requests(session, form, subject))
    conn = session.connection()
    params = {"form": form, "subject": subject}
    if cache is not None:
        for _attempt in (1, 2):
            seen, since = cache.looking(form, subject, schema)
            counter = conn.execute(COUNTER, params).one_or_none()
            rows = conn.execute(NEWER, {**params, "seen_max": seen, "since": since,
                                        "page": HISTORY_PAGE_ROWS}).all()
            found = cache.history(form, subject, period, schema, counts(seen, counter, len(rows)), rows)
            if found is not None:
                return found
            if cache.seen(form, subject, schema):
                break                           # kept, but not far enough back: page

    def read_page(page):
        return conn.execute(HISTORY_NEXT_PAGE if "last_id" in page else HISTORY_PAGE, page).all()
    return valid_history(schema, latest_periods(form, subject, period, read_page))


def latest_periods(form: str, subject: str, period: str, read_page) -> list[dict]:
    """The latest submission of each of the HISTORY_PERIODS periods before `period`, oldest
    first: newest first along the (form, subject, period) index, a page at a time, until
    enough periods are found or the facts run out.  `read_page(params)` → rows (id, period,
    payload) of HISTORY_PAGE, or of HISTORY_NEXT_PAGE once params hold `last_id`."""
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
    return [parse(payload) for per, (fid, payload) in sorted(found.items())]
