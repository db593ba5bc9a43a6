"""The per-worker history cache (server/domain/history.py): extended with new facts only, yet exact —
a fact committed late under a lower id, and a resubmission older than the cache keeps, are
seen; its memory is bounded."""
from __future__ import annotations

import json
import tracemalloc

import pytest
from sqlalchemy import text

from serverkit import week
from trimtab.server.domain import history, plan
from trimtab.server.domain.history import Cache


def watching(monkeypatch) -> list:
    """The (week, visits) of each history the rules are given, webhook by webhook."""
    seen = []
    real = plan.evaluate
    monkeypatch.setattr(plan, "evaluate", lambda ruleset, form, facts, earlier, day: (
        seen.append([(e["week_start"], e["effective_visits"]) for e in earlier]),
        real(ruleset, form, facts, earlier, day))[1])
    return seen


def post(hooks, n: int, visits: int):
    r = hooks.post("weekly_metrics", dict(week(n, 5, 0.9), effective_visits=visits))
    assert r.status_code == 200, r.json


def stored_elsewhere(app, n: int, period: str) -> None:
    """east.li's week `n` (`n` visits), stored by another writer under id 0: below any id a
    webhook has taken."""
    with app.extensions["trimtab.engine"].begin() as conn:
        conn.execute(text(
            "INSERT INTO facts (id, form, subject, period, occurred_on, payload, client, "
            "received_at) VALUES (0, 'weekly_metrics', 'east.li', :period, :day, :payload, "
            "'platform', CURRENT_TIMESTAMP)"),
            {"period": period, "day": week(n, 5, 0.9)["week_start"],
             "payload": json.dumps(dict(week(n, 5, 0.9), effective_visits=n))})


def test_a_fact_stored_late_under_a_lower_id_is_seen(app, hooks, monkeypatch):
    seen = watching(monkeypatch)
    for n in (1, 2, 3):
        post(hooks, n, n)
    # As a transaction that took its id before the others and committed after them: the
    # cache has seen ids above it already.
    stored_elsewhere(app, 4, "2026-W31")
    post(hooks, 5, 5)
    assert seen[-1] == [("2026-07-06", 1), ("2026-07-13", 2), ("2026-07-20", 3), ("2026-07-27", 4)]


def stored_above(app, n: int, visits: int) -> None:
    """east.li's week `n` again (`visits` visits), stored by another writer under an id above
    any a webhook has taken: another worker's correction of an old week."""
    day = week(n, 5, 0.9)["week_start"]
    with app.extensions["trimtab.engine"].begin() as conn:
        conn.execute(text(
            "INSERT INTO facts (id, form, subject, period, occurred_on, payload, client, "
            "received_at) VALUES (1000000 + :n, 'weekly_metrics', 'east.li', :period, :day, "
            ":payload, 'platform', CURRENT_TIMESTAMP)"),
            {"n": n, "period": f"2026-W{27 + n:02d}", "day": day,
             "payload": json.dumps(dict(week(n, 5, 0.9), effective_visits=visits))})


def test_a_correction_older_than_the_read_looks_at_is_seen(app, hooks, monkeypatch):
    """The read looks for new facts from the subject's LATE_WITHIN-th latest kept period on; a
    newer fact for an older period is not among its rows, and the counter row sends the
    subject back to a full read."""
    monkeypatch.setattr(history, "LATE_WITHIN", 2)
    seen = watching(monkeypatch)
    for n in range(1, 7):
        post(hooks, n, n)
    stored_above(app, 2, 20)
    post(hooks, 7, 7)
    assert seen[-1] == [("2026-07-06", 1), ("2026-07-13", 20), ("2026-07-20", 3), ("2026-07-27", 4),
                        ("2026-08-03", 5), ("2026-08-10", 6)]


def test_a_retraction_does_not_hide_a_correction_older_than_the_read_looks_at(app, hooks, monkeypatch):
    """A retraction lowers the live count by as much as such a correction raises it: the
    retractions' own count still sends the subject back to a full read, and both are seen."""
    from trimtab.server.domain import retraction
    monkeypatch.setattr(history, "LATE_WITHIN", 2)
    seen = watching(monkeypatch)
    for n in range(1, 7):
        post(hooks, n, n)
    with app.extensions["trimtab.engine"].begin() as conn:
        conn.execute(text("UPDATE facts SET source_record = 'feishu:t:w5' WHERE period = '2026-W32'"))
    with app.app_context():         # week 5's record deleted on its platform
        retraction.retract(app, app.extensions["trimtab.rules"].current, "platform", "gone-w5",
                           "feishu:t:w5", b"{}", "zh")
    stored_above(app, 2, 20)
    post(hooks, 7, 7)
    assert seen[-1] == [("2026-07-06", 1), ("2026-07-13", 20), ("2026-07-20", 3), ("2026-07-27", 4),
                        ("2026-08-10", 6)]


def test_a_resubmission_older_than_the_cache_keeps_reads_its_history(app, hooks, monkeypatch):
    monkeypatch.setattr(history, "HISTORY_PERIODS", 2)
    monkeypatch.setattr(history, "KEEP_PERIODS", 3)
    monkeypatch.setattr(history, "CUT_BY", 1)          # one at a time: the cache holds 3
    seen = watching(monkeypatch)
    for n in range(1, 8):
        post(hooks, n, n)
    assert seen[-1] == [("2026-08-03", 5), ("2026-08-10", 6)]
    post(hooks, 3, 30)              # week 3 again: the cache keeps weeks 4–7 only
    assert seen[-1] == [("2026-07-06", 1), ("2026-07-13", 2)]
    post(hooks, 8, 8)               # the correction of week 3 is the latest of its period
    assert seen[-1] == [("2026-08-10", 6), ("2026-08-17", 7)]
    post(hooks, 4, 40)
    assert seen[-1] == [("2026-07-13", 2), ("2026-07-20", 30)]


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_cache_is_bounded_and_forgets_the_least_recently_used(app, hooks):
    """Full, it lets a subject in when it was asked for more often than the least recently
    used ones it pushes out; asked for no more often, it is answered and not kept."""
    schema = app.extensions["trimtab.rules"].current.schemas["weekly_metrics"]
    cache = Cache(limit=100)                # newcomers come in up to 90 entries

    def ask(s: int) -> None:
        subject = f"rep{s}"
        rows = [(s * 100 + n, f"2026-W{10 + n:02d}",
                 json.dumps(dict(week(n + 1, 5, 0.9), rep=subject))) for n in range(10)][::-1]
        held = cache.seen("weekly_metrics", subject, schema)
        found = cache.history("weekly_metrics", subject, "2026-W30", schema,
                              (10, 10, rows[0][0], 0) if held else (0, 10, rows[0][0], 0),
                              [] if held else rows)
        assert [e["rep"] for e in found] == [subject] * 10

    def held() -> list[int]:
        return [s for s in range(12) if cache.seen("weekly_metrics", f"rep{s}", schema)]
    for s in range(9):                      # 9 subjects of 10 weeks: 90 entries
        ask(s)
    ask(0)                                  # rep1 is now the least recently used
    ask(9)
    ask(9)
    assert held() == list(range(9))         # asked for as often as rep1 (once before): not kept
    ask(9)
    assert held() == list(range(10))        # more often: kept, within the limit
    for _ in range(3):
        ask(10)
    assert held() == [0] + list(range(2, 11)) and cache.size == 100     # past it: rep1 went


def ask_as_a_webhook(cache, schema, stored: dict, subject: str, n: int) -> bool:
    """One webhook of `subject`'s week `n` as a worker makes it: its history read from what
    the cache has seen on (`stored`: each subject's facts, oldest first), then its own fact
    stored → whether the subject's history had to be read whole (the cache did not hold it)."""
    mine = stored.setdefault(subject, [])
    seen = cache.seen("weekly_metrics", subject, schema)
    newer = [row for row in mine if row[0] > seen][::-1]
    counts = (sum(1 for row in mine if row[0] <= seen), len(mine), mine[-1][0] if mine else None, 0)
    found = cache.history("weekly_metrics", subject, f"2026-W{n:02d}", schema, counts, newer)
    assert [e["week_start"] for e in found] == [json.loads(row[2])["week_start"] for row in mine]
    fid = 1 + max((row[0] for rows in stored.values() for row in rows), default=0)
    mine.append((fid, f"2026-W{n:02d}", json.dumps(dict(week(n, 5, 0.9), rep=subject))))
    return bool(mine[:-1]) and not seen


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_cache_too_small_for_every_rep_keeps_the_same_reps_week_after_week(app, hooks):
    """30 reps sending their weeks in turn, room for about a third of their histories: each
    week the same reps are found, not none (letting the least recently used go would push
    out each rep just before its next week)."""
    schema = app.extensions["trimtab.rules"].current.schemas["weekly_metrics"]
    cache, stored = Cache(limit=120), {}
    whole_reads = [sum(ask_as_a_webhook(cache, schema, stored, f"rep{s}", n) for s in range(30))
                   for n in range(1, 13)]
    held = {s for s in range(30) if cache.seen("weekly_metrics", f"rep{s}", schema)}
    print(f"FIGURES history cache, 30 reps, room for 120 weeks: whole reads by week {whole_reads}")
    assert cache.size <= 120 + 30                 # a subject's own write may overshoot till its next read
    assert 8 <= len(held) <= 12
    assert all(reads <= 22 for reads in whole_reads[2:]), whole_reads   # LRU: 30 every week


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_full_cache_says_so_once_in_the_log(app, hooks, caplog):
    schema = app.extensions["trimtab.rules"].current.schemas["weekly_metrics"]
    cache, stored = Cache(limit=20), {}
    with caplog.at_level("WARNING", logger="trimtab.history"):
        for n in range(1, 4):                     # 5 reps, 3 weeks: 10 periods held, room for 20
            for s in range(5):
                ask_as_a_webhook(cache, schema, stored, f"rep{s}", n)
        assert [r.getMessage() for r in caplog.records if r.name == "trimtab.history"] == []
        whole = [sum(ask_as_a_webhook(cache, schema, stored, f"rep{s}", n) for s in range(5))
                 for n in range(4, 12)]       # to 10 weeks each: 50 periods
    assert sum(whole[-3:]) > 0                    # some reps not kept now
    said = [r.getMessage() for r in caplog.records if r.name == "trimtab.history"]
    assert len(said) == 1 and "TRIMTAB_HISTORY_CACHE_ENTRIES" in said[0] and "20 periods" in said[0]


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_reps_nobody_asks_for_any_more_make_room_for_new_ones(app, hooks):
    schema = app.extensions["trimtab.rules"].current.schemas["weekly_metrics"]
    cache, stored = Cache(limit=100), {}
    for n in range(1, 8):                         # 10 reps, 7 weeks: all held (60 entries)
        for s in range(10):
            ask_as_a_webhook(cache, schema, stored, f"old{s}", n)
    assert all(cache.seen("weekly_metrics", f"old{s}", schema) for s in range(10))
    for n in range(8, 17):                        # they leave; 10 others come for 9 weeks
        for s in range(10):
            ask_as_a_webhook(cache, schema, stored, f"new{s}", n)
    assert all(cache.seen("weekly_metrics", f"new{s}", schema) for s in range(10))    # 80 entries
    assert sum(bool(cache.seen("weekly_metrics", f"old{s}", schema)) for s in range(10)) <= 3
    assert cache.size <= 100


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_cache_is_sized_from_the_environment(fresh_app, tmp_path):
    """TRIMTAB_HISTORY_CACHE_ENTRIES: an organisation whose subjects' histories do not fit the
    default gives each worker room for them (docs/server.md); nonsense stops the start."""
    from trimtab.server.config import from_env
    config = from_env({"TRIMTAB_HISTORY_CACHE_ENTRIES": "250"}, var_dir=str(tmp_path), migrate=False)
    assert config["HISTORY_CACHE_ENTRIES"] == 250
    assert from_env({}, var_dir=str(tmp_path), migrate=False)["HISTORY_CACHE_ENTRIES"] is None
    for wrong in ("0", "-5", "12k", "10000001"):
        with pytest.raises(ValueError, match="TRIMTAB_HISTORY_CACHE_ENTRIES"):
            from_env({"TRIMTAB_HISTORY_CACHE_ENTRIES": wrong}, var_dir=str(tmp_path), migrate=False)
    sized, _hooks = fresh_app("sized", HISTORY_CACHE_ENTRIES=250)
    default, _hooks = fresh_app("default", HISTORY_CACHE_ENTRIES=None)
    assert sized.extensions["trimtab.history"].limit == 250
    assert default.extensions["trimtab.history"].limit == history.CACHE_ENTRIES


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_cached_entry_costs_about_a_kibibyte(app, hooks):
    """Keys are interned: an entry of weekly_metrics costs about half what json.loads makes."""
    schema = app.extensions["trimtab.rules"].current.schemas["weekly_metrics"]
    cache = Cache(limit=10_000)
    payloads = [json.dumps(dict(week(n % 50 + 1, 5 + n % 7, 0.9), rep=f"rep{n // 50}",
                                weighted_pipeline=1200000.5 + n)) for n in range(5000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for s in range(100):
            rows = [(s * 50 + n, f"2026-W{n + 1:02d}", payloads[s * 50 + n]) for n in range(50)][::-1]
            cache.history("weekly_metrics", f"rep{s}", "2027-W01", schema, (0, 50, rows[0][0], 0), rows)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / cache.size
    finally:
        tracemalloc.stop()
    assert cache.size == 5000
    print(f"FIGURES history cache: {per_entry:.0f} bytes per entry")
    assert per_entry < 1600


def test_the_database_counts_each_subjects_facts(app, hooks):
    """fact_counts (a trigger's, migration 0015) is what the history read checks the cache
    with: it must follow every insert, the webhook's and any other."""
    for n in (1, 2, 3, 2):
        post(hooks, n, n)
    with app.extensions["trimtab.engine"].begin() as conn:
        conn.execute(text(
            "INSERT INTO facts (id, form, subject, period, occurred_on, payload, client, "
            "received_at) VALUES (1000, 'visits', 'east.li', '2026-07-08', :day, '{}', "
            "'platform', CURRENT_TIMESTAMP)"), {"day": "2026-07-08"})
        counted = conn.execute(text(
            "SELECT form, subject, n, top FROM fact_counts ORDER BY form")).all()
        actual = conn.execute(text(
            "SELECT form, subject, count(*), max(id) FROM facts GROUP BY form, subject "
            "ORDER BY form")).all()
    assert [tuple(r) for r in counted] == [tuple(r) for r in actual]
    assert [r[2] for r in counted] == [1, 4]


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_fact_this_worker_stored_is_kept_not_decoded_again(app, hooks, monkeypatch):
    """On the two-statement path the cache keeps the facts the webhook itself decoded
    (Cache.wrote): the next webhook's read brings nothing new to decode, and the history the
    rules get is the one a fresh read would give."""
    seen = watching(monkeypatch)
    decoded = []
    real = history.checked_entry
    monkeypatch.setattr(history, "checked_entry", lambda schema, payload: (
        decoded.append(payload), real(schema, payload))[1])
    for n in range(1, 6):
        post(hooks, n, n)
    assert decoded == []                        # each week was kept as it was written
    app.extensions["trimtab.history"]._subjects.clear()     # a worker that saw none of it
    post(hooks, 6, 6)
    assert len(decoded) == 5
    fresh = [("2026-07-06", 1), ("2026-07-13", 2), ("2026-07-20", 3), ("2026-07-27", 4),
             ("2026-08-03", 5)]
    assert seen[4] == fresh[:4] and seen[5] == fresh


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_fact_stored_elsewhere_between_a_webhooks_read_and_write_is_seen(app, hooks, monkeypatch):
    """Another worker stores the subject's fact under a lower id after this webhook's read:
    the cache keeps this webhook's own fact, and the next read's count sends it back for the
    other one."""
    from trimtab.server.domain import pg_intake
    seen = watching(monkeypatch)
    real = pg_intake.Direct.write
    post(hooks, 1, 1)

    def meanwhile(self, plan_, read):
        stored_elsewhere(app, 2, "2026-W29")
        return real(self, plan_, read)
    monkeypatch.setattr(pg_intake.Direct, "write", meanwhile)
    post(hooks, 3, 3)
    monkeypatch.setattr(pg_intake.Direct, "write", real)
    post(hooks, 4, 4)
    assert seen[-1] == [("2026-07-06", 1), ("2026-07-13", 2), ("2026-07-20", 3)]


def test_the_migration_counts_the_facts_retracted_before_it(empty_database):
    """Migration 0023: a subject's retractions so far are counted when the column comes, so a
    worker's first read after it holds what the database holds."""
    from alembic import command
    from trimtab.server.storage.db import alembic_config, make_engine, upgrade
    engine = make_engine(empty_database)
    try:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0022")
            for fid, subject, gone in ((1, "east.li", True), (2, "east.li", False),
                                       (3, "east.li", True), (4, "west.wu", False)):
                conn.execute(text(
                    "INSERT INTO facts (id, form, subject, period, occurred_on, payload, client, "
                    "received_at, retracted_at) VALUES (:id, 'weekly_metrics', :subject, :period, "
                    "'2026-07-06', '{}', 'p', CURRENT_TIMESTAMP, :gone)"),
                    {"id": fid, "subject": subject, "period": f"2026-W{27 + fid}",
                     "gone": "2026-07-07 09:00:00" if gone else None})
        upgrade(engine)
        with engine.connect() as conn:
            counted = conn.execute(text("SELECT subject, retracted FROM fact_counts ORDER BY subject")).all()
        assert [tuple(r) for r in counted] == [("east.li", 2), ("west.wu", 0)]
    finally:
        engine.dispose()
