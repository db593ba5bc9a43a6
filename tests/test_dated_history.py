"""History dated once (periods.Dated): the server's history cache keeps each entry's period
number, so a webhook's rules lay the history out without dating every entry again — and decide
exactly as they do given the plain history."""
from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest

from serverkit import week
from trimtab.dsl import periods
from trimtab.dsl.ruleset import load
from trimtab.dsl.schemas import parse_schema
from trimtab.server.domain import history

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2026, 1, 5)


@pytest.fixture(scope="module")
def ruleset():
    return load(ROOT / "rules", ROOT / "form_schemas")


def submission(rng: random.Random, day: dt.date) -> dict:
    """weekly_metrics of the week of `day`, with values that make the rules go either way."""
    return dict(week(1, rng.randrange(0, 8), rng.choice([0.5, 0.7, 0.9, 1.2])),
                week_start=day.isoformat(), effective_visits=rng.randrange(0, 15),
                stage_advances=rng.randrange(0, 2), new_visit_records=rng.randrange(0, 3),
                conversion_rate=rng.choice([0.1, 0.2, 0.25, 0.3]), new_customers=rng.randrange(0, 5))


def stored_rows(rng: random.Random, weeks: int, gaps: float) -> list[tuple]:
    """(fact id, period, payload) of a rep's history: weeks missing, weeks submitted again, a
    resubmission sometimes stored under a lower id than the one it follows (committed late)."""
    rows, ids = [], rng.sample(range(1, 10 * weeks + 2), 3 * weeks)
    for n in range(weeks):
        if rng.random() < gaps:
            continue                                    # a gap
        day = START + dt.timedelta(weeks=n, days=rng.randrange(0, 7))
        for _ in range(rng.choice([1, 1, 1, 2, 3])):   # resubmissions
            rows.append((ids.pop(), periods.period_key("week", day), json.dumps(submission(rng, day))))
    return rows


def decisions(ruleset, facts: dict, earlier) -> list:
    return [d.to_json("zh") for d in ruleset.evaluate("weekly_metrics", facts, earlier, as_of="2027-12-31")]


def test_the_rules_decide_on_the_caches_dated_history_as_on_the_plain_one(ruleset):
    schema = ruleset.schemas["weekly_metrics"]
    rng = random.Random(14)
    dated_ones = 0
    for _case in range(150):
        rows = stored_rows(rng, rng.randrange(0, 80), rng.choice([0, 0, 0.05, 0.25]))
        rng.shuffle(rows)
        subject = history.Subject(schema)
        for batch in (rows[: len(rows) // 2], rows[len(rows) // 2:]):     # two webhooks' reads
            subject.add(sorted(batch, key=lambda r: (r[1], r[0]), reverse=True), full_page=False)
        # The current week: after the history, or a late resubmission of a week inside it.
        day = START + dt.timedelta(weeks=rng.randrange(0, 90), days=rng.randrange(0, 7))
        facts = submission(rng, day)
        current = periods.period_key("week", day)
        earlier = subject.before(current)
        dated_ones += earlier.__class__ is periods.Dated
        assert list(earlier) == kept_before(schema, rows, current)
        assert decisions(ruleset, facts, earlier) == decisions(ruleset, facts, list(earlier))
    assert dated_ones == 150


def kept_before(schema, rows, current: str) -> list:
    """What Subject.before should give, worked out from the rows alone: the latest fact of each
    of the HISTORY_PERIODS periods before `current`, oldest first, those that fit the form."""
    latest = {}
    for fid, per, payload in rows:
        if per < current and (per not in latest or latest[per][0] < fid):
            latest[per] = (fid, payload)
    kept = [history.checked_entry(schema, latest[per][1]) for per in sorted(latest)[-history.HISTORY_PERIODS:]]
    return [e for e in kept if e is not None]


KINDS = {"day": 1, "week": 7, "biweek": 14, "month": 31, "quarter": 92}


def shown(laid) -> list:
    return [(e.__class__, repr(e) if e.__class__ is periods.Gap else e) for e in laid]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_dated_history_lays_out_as_the_plain_one_in_any_order(kind):
    """Out of order, several in a period, entries of the current period or later, entries
    older than MAX_SPAN periods: the same Timeline, the same Gaps."""
    form = parse_schema("f", '{"x-period": "%s", "x-date-field": "at", '
                             '"properties": {"at": {"type": "string"}, "v": {"type": "number"}}}' % kind)
    rng = random.Random(kind)
    span, length = periods.MAX_SPAN * KINDS[kind], KINDS[kind]
    runs = 0
    for case in range(300):
        current = dt.date(2040, 1, 1) + dt.timedelta(days=rng.randrange(0, 400))
        n = periods.ordinal(kind, current)
        if case % 2:        # anywhere, in any order
            days = [current - dt.timedelta(days=rng.randrange(-30, span + 200))
                    for _ in range(rng.randrange(0, 30))]
        else:               # one a period, in order: up to, into or beyond the current period
            last = n - rng.choice([-1, 0, 1, 5, periods.MAX_SPAN - 40, periods.MAX_SPAN])
            days = [periods.start_of(kind, last - k) + dt.timedelta(days=rng.randrange(0, length) % 28)
                    for k in range(rng.randrange(0, 40), -1, -1)]
        entries = [{"at": d.isoformat(), "v": v} for v, d in enumerate(days)]
        facts = {"at": current.isoformat(), "v": -1}
        numbers = [periods.number_of(form, e) for e in entries]
        runs += bool(numbers) and numbers == list(range(numbers[0], numbers[-1] + 1)) and \
            n - periods.MAX_SPAN <= numbers[0] and numbers[-1] < n
        plain = shown(periods.timeline(form, facts, list(entries)))
        given = periods.Dated(form, entries, numbers)
        laid = periods.timeline(form, facts, given)
        assert laid.__class__ is periods.Timeline
        assert shown(laid) == plain
        assert periods.timeline(form, facts, given) is laid     # the next rule's: laid out once
        if numbers and numbers == list(range(numbers[0], numbers[-1] + 1)):
            as_range = periods.Dated(form, entries, range(numbers[0], numbers[-1] + 1))
            assert shown(periods.timeline(form, facts, as_range)) == plain
    assert runs > 50        # unbroken runs inside the window, laid out without a walk


def test_a_history_the_rules_cannot_date_is_handed_over_undated(ruleset):
    """An entry without its date field: timeline() words that error, so the cache does not date."""
    schema = ruleset.schemas["weekly_metrics"]
    assert periods.number_of(schema, {"rep": "east.li"}) is None
    assert periods.number_of(schema, week(1, 5, 0.9)) == periods.ordinal("week", dt.date(2026, 7, 6))
    other = parse_schema("other", '{"x-period": "week", "x-date-field": "week_start"}')
    given = periods.Dated(other, [week(1, 5, 0.9)], [0])          # dated for another form
    assert len(periods.timeline(schema, week(3, 5, 0.9), given)) == 2


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_webhooks_rules_date_no_more_entries_however_long_the_history(app, hooks, monkeypatch):
    calls = []
    real = periods.day_of
    monkeypatch.setattr(periods, "day_of", lambda *a, **kw: (calls.append(1), real(*a, **kw))[1])
    per_webhook = {}
    for n in range(1, 41):
        calls.clear()
        r = hooks.post("weekly_metrics", week(n, 5, 0.9))
        assert r.status_code == 200, r.json
        per_webhook[n] = len(calls)
    # Week 40 reads 39 earlier weeks, week 5 four: each of the rules dates the facts, the cache
    # the newest earlier entry, and nothing dates the rest again.
    assert per_webhook[40] == per_webhook[5], per_webhook


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_webhooks_baselines_read_no_more_entries_however_long_the_history(app, hooks, monkeypatch):
    """The cache keeps each baseline's running sums (dsl/running_sums.py): a webhook reads its
    own facts and the newest earlier entry, not the whole history again."""
    from trimtab.dsl import runtime
    calls = []
    real = runtime.read
    monkeypatch.setattr(runtime, "read", lambda *a: (calls.append(1), real(*a))[1])
    per_webhook = {}
    for n in range(1, 41):
        calls.clear()
        r = hooks.post("weekly_metrics", dict(week(n, 5, 0.9), conversion_rate=round(0.2 + n % 7 / 100, 2)))
        assert r.status_code == 200, r.json
        per_webhook[n] = len(calls)
    # A week's own count depends on what its rules find (a streak asks for last week's
    # baseline too); a week of the seven's cycle reads as many at week 40 as at week 5.
    early, late = [per_webhook[n] for n in range(5, 12)], [per_webhook[n] for n in range(33, 40)]
    assert min(early) > 0
    assert max(late) == max(early), per_webhook


def test_the_caches_running_sums_decide_as_the_plain_history_as_it_changes(ruleset, monkeypatch):
    """One subject's cache fed as webhooks feed it — the next week, the latest week again, a
    late week inside the history, the oldest cut three at once when more than KEEP_PERIODS are held — with
    conversion rates of one, two and three decimals: after each change, the rules decide on the
    cache's history (its baselines from the running sums) as on the same entries as a plain
    list, and so they do on a history taken before the change."""
    monkeypatch.setattr(history, "HISTORY_PERIODS", 12)
    monkeypatch.setattr(history, "KEEP_PERIODS", 16)
    monkeypatch.setattr(history, "CUT_BY", 3)
    schema = ruleset.schemas["weekly_metrics"]
    rng = random.Random(1401)
    subject, fid, weeks, stale = history.Subject(schema), 0, 0, None
    kept_ones = 0

    def row(n: int) -> tuple:
        nonlocal fid
        fid += 1
        day = START + dt.timedelta(weeks=n)
        facts = dict(submission(rng, day), conversion_rate=rng.choice([0.2, 0.25, 0.125, 0.3]))
        return (fid, periods.period_key("week", day), json.dumps(facts))

    for _step in range(160):
        move = rng.random()
        if move < 0.7 or weeks < 3:
            rows, weeks = [row(weeks)], weeks + 1
        elif move < 0.85:
            rows = [row(weeks - 1)]                                  # the latest week again
        else:
            rows = [row(rng.randrange(max(0, weeks - 20), weeks))]   # a late week inside
        subject.add(rows, full_page=False)
        day = START + dt.timedelta(weeks=weeks, days=rng.randrange(0, 7))
        facts = submission(rng, day)
        earlier = subject.before(periods.period_key("week", day))
        if earlier is None:
            continue
        kept_ones += earlier.__class__ is periods.Dated and earlier.kept is not None
        for given in (earlier, stale):
            if given is not None:
                assert decisions(ruleset, facts, given) == decisions(ruleset, facts, list(given))
        stale = earlier
    assert kept_ones > 100


def test_a_long_history_is_cut_ten_periods_at_a_time_and_its_rules_see_the_same(ruleset, monkeypatch):
    """A subject's cached history, fed a week a webhook for 200 weeks, is cut only when it
    passes KEEP_PERIODS, and then by CUT_BY periods at once — not at every webhook once it is
    long (each cut cost a webhook about 3 µs); it never holds more than
    KEEP_PERIODS, nor fewer than the HISTORY_PERIODS the rules read plus the LATE_WITHIN the
    reads look back over, and the rules decide on it as on the latest weeks as a plain list."""
    schema = ruleset.schemas["weekly_metrics"]
    rng = random.Random(1919)
    subject, stored, cuts = history.Subject(schema), [], []
    cut = history.Subject.cut
    monkeypatch.setattr(history.Subject, "cut", lambda self, floor: cuts.append(floor) or cut(self, floor))
    for n in range(200):
        day = START + dt.timedelta(weeks=n)
        stored.append(submission(rng, day))
        subject.add([(n + 1, periods.period_key("week", day), json.dumps(stored[-1]))], full_page=False)
        assert len(subject.periods) <= history.KEEP_PERIODS
        assert len(subject.periods) >= min(n + 1, history.HISTORY_PERIODS + history.LATE_WITHIN)
        if n % 7 == 0:
            facts = submission(rng, day + dt.timedelta(weeks=1))
            earlier = subject.before(periods.period_key("week", day + dt.timedelta(weeks=1)))
            plain = [history.parse(json.dumps(f)) for f in stored[-history.HISTORY_PERIODS:]]
            assert decisions(ruleset, facts, earlier) == decisions(ruleset, facts, plain)
    past = 200 - history.KEEP_PERIODS               # webhooks that found the history full
    assert len(cuts) == (past - 1) // history.CUT_BY + 1 and len(cuts) * 5 <= past   # 11, not 110
