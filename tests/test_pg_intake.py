"""PostgreSQL's two-statement webhook path (server/domain/pg_intake.py) stores exactly what the
transactional path stores, and answers exactly the same."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from serverkit import week
from trimtab.server.domain import pg_intake
from trimtab.server.storage.pg_prepared import Statement
from trimtab.server.storage.models import Decision, Delivery, Fact

SUBMISSIONS = [
    ("weekly_metrics", dict(week(1, 5, 0.9), new_visit_records=0)),
    ("weekly_metrics", dict(week(2, 5, 0.9), new_visit_records=0)),        # a streak fires
    ("weekly_metrics", dict(week(2, 6, 0.8), new_visit_records=2)),        # a correction
    ("weekly_metrics", dict(week(3, 2, 0.5), contract_amount=100000, negative_feedback=4)),
    ("milestone_update", {"rep": "east.li", "project": "华东银行", "date": "2026-07-20",
                          "milestone": "POC", "days_late": 7}),
    ("receivables", {"account": "沪港证券", "rep": "east.li", "date": "2026-07-21",
                     "amount": 120000.5, "days_outstanding": 75}),
    ("kr_progress", {"rep": "east.li", "month": "2026-07", "kr": "新客 12 家", "progress": 0.4,
                     "expected": 0.6, "alignment": 0.5}),
    ("pipeline_snapshot", {"team": "east", "week_start": "2026-07-20", "leads": 40,
                           "quotes": 20, "contracts": 8, "payments": 5}),       # no rules
]


def run(fresh_app, kind: str, two_statements: bool, monkeypatch):
    """Every submission (then a retry of the first) → (answers, stored rows, how many
    webhooks the two-statement path stored)."""
    stored_here = []
    real = pg_intake.Direct.write

    def counting(*args, **kw):
        outcome = real(*args, **kw)         # raises when it declines or fails
        stored_here.append(True)
        return outcome
    monkeypatch.setattr(pg_intake.Direct, "write", counting)
    app, hooks = fresh_app(f"{kind}-{two_statements}", kind=kind, LANG="zh")
    if not two_statements:
        app.extensions["trimtab.pg_direct"] = None
    answers = []
    for i, (form, facts) in enumerate(SUBMISSIONS):
        r = hooks.post(form, facts, delivery=f"d-{i}", lang="zh")
        assert r.status_code == 200, r.json
        answers.append(r.get_data(as_text=True))
    retry = hooks.post(*SUBMISSIONS[0], delivery="d-0", lang="zh")
    answers.append((retry.get_data(as_text=True), retry.headers.get("X-Trimtab-Replayed")))
    with app.extensions["trimtab.sessions"]() as s:
        facts = s.execute(select(Fact.id, Fact.form, Fact.subject, Fact.period,
                                 Fact.occurred_on, Fact.payload, Fact.client)
                          .order_by(Fact.id)).all()
        decisions = s.execute(select(Decision.fact_id, Decision.form, Decision.subject,
                                     Decision.period, Decision.rule, Decision.kind,
                                     Decision.fired, Decision.result, Decision.error_code,
                                     Decision.ruleset_version,
                                     Decision.superseded_at.is_(None).label("current"))
                              .order_by(Decision.id)).all()
        deliveries = s.execute(select(Delivery.client, Delivery.delivery_id,
                                      Delivery.body_sha256, Delivery.status,
                                      Delivery.response).order_by(Delivery.id)).all()
    return answers, (facts, decisions, deliveries), sum(stored_here)


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["postgresql"])      # it makes its SQLite server itself
def test_both_paths_answer_and_store_the_same(fresh_app, monkeypatch):
    fast_answers, fast_rows, fast_count = run(fresh_app, "postgresql", True, monkeypatch)
    slow_answers, slow_rows, slow_count = run(fresh_app, "postgresql", False, monkeypatch)
    lite_answers, lite_rows, _ = run(fresh_app, "sqlite", False, monkeypatch)
    # Every submission took the two-statement path (no channels are configured, so no alert
    # queues a notification); the other run took none.
    assert (fast_count, slow_count) == (len(SUBMISSIONS), 0)
    assert fast_answers == slow_answers == lite_answers
    assert fast_answers[-1][1] == "true"
    assert fast_rows == slow_rows == lite_rows
    facts, decisions, deliveries = fast_rows
    assert len(facts) == len(deliveries) == len(SUBMISSIONS)
    assert any(d.kind == "alert" and d.fired for d in decisions)
    # The correction of week 2 took its period's place: one current decision per rule.
    week2 = [d for d in decisions if d.form == "weekly_metrics" and d.period == "2026-W29"]
    assert [d.current for d in week2] == [False] * (len(week2) // 2) + [True] * (len(week2) // 2)
    # each keeps its trace compact, no lines (tests/test_stored_traces.py renders them)
    assert all(d.result["compact"]["trace"] and "trace" not in d.result
               for d in decisions if d.error_code is None)


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.slow
def test_refused_submissions_store_nothing(app, hooks):
    r = hooks.post("weekly_metrics", dict(week(1, 5, 0.9), rep="nobody"), delivery="d-1")
    assert r.status_code == 422 and r.json["error"]["code"] == "unknown_subject"
    assert hooks.post("weekly_metrics", week(1, 5, 0.9), delivery="d-2").status_code == 200
    r = hooks.post("weekly_metrics", week(2, 5, 0.9), delivery="d-2")     # same id, new body
    assert r.status_code == 409 and r.json["error"]["code"] == "delivery_conflict"
    with app.extensions["trimtab.sessions"]() as s:
        assert [f.period for f in s.scalars(select(Fact))] == ["2026-W28"]
        assert [d.delivery_id for d in s.scalars(select(Delivery))] == ["d-2"]
        assert {d.fact_id for d in s.scalars(select(Decision))} == {
            s.scalars(select(Fact.id)).one()}


@pytest.mark.parametrize("db_kind,two_statements", [("sqlite", False), ("postgresql", True),
                                                    ("postgresql", False)])
@pytest.mark.slow
def test_history_pages_past_resubmissions(fresh_app, monkeypatch, two_statements):
    """With 3 periods of history kept and pages of 4 rows, resubmissions push the periods
    needed onto later pages; the rules still see the latest submission of each of the 3."""
    from trimtab.server.domain import history, plan
    monkeypatch.setattr(history, "HISTORY_PERIODS", 3)
    monkeypatch.setattr(history, "HISTORY_PAGE_ROWS", 4)
    seen = []
    real = plan.evaluate
    monkeypatch.setattr(plan, "evaluate", lambda ruleset, form, facts, earlier, day: (
        seen.append([(e["week_start"], e["effective_visits"]) for e in earlier]),
        real(ruleset, form, facts, earlier, day))[1])
    app, hooks = fresh_app("server")      # made after the page sizes are patched
    if not two_statements:
        app.extensions["trimtab.pg_direct"] = None
    # weeks 1–4; week 4 sent five times and week 3 three times (the last one counts)
    for n, visits in ((1, 1), (2, 2), (3, 30), (3, 31), (3, 3), (4, 40), (4, 41), (4, 42),
                      (4, 43), (4, 4)):
        assert hooks.post("weekly_metrics", dict(week(n, 5, 0.9), effective_visits=visits)
                          ).status_code == 200
    assert hooks.post("weekly_metrics", week(5, 5, 0.9)).status_code == 200
    assert seen[-1] == [("2026-07-13", 2), ("2026-07-20", 3), ("2026-07-27", 4)]


@pytest.mark.parametrize("db_kind", ["postgresql"])
@pytest.mark.app_config(RULES_CHECK_S=0)
@pytest.mark.slow
def test_the_two_statements_stay_prepared_across_rule_set_checks(app, hooks):
    """Each worker reads the active rule set every RULES_CHECK_S; that read must not roll back
    (psycopg would then deallocate the connection's prepared statements): READ and WRITE are
    prepared on their first run on a connection (server/storage/pg_prepared.py) and stay so,
    so PostgreSQL plans them once per connection, not ten times after every check."""
    for n in range(1, 13):
        assert hooks.post("weekly_metrics", dict(week(n, 5, 0.9), new_visit_records=2)
                          ).status_code == 200
    runs = {}
    for conn in app.extensions["trimtab.pg_direct"].connections():   # kept for the webhooks
        for statement, executed in conn.execute(
                "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"):
            for name, sql in (("READ", pg_intake.READ), ("WRITE", pg_intake.WRITE)):
                if statement == Statement(sql).sql.decode():     # as it was prepared
                    runs[name] = runs.get(name, 0) + executed
    # 12 webhooks, each statement prepared once and run 12 times
    assert runs == {"READ": 12, "WRITE": 12}



@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_the_read_takes_fact_ids_from_the_facts_own_sequence(app, hooks):
    """READ names the sequence (`facts_id_seq`) rather than looking it up on every webhook:
    it must be the one the facts' id column draws from, or the transactional path's facts
    (numbered by the column's default) would collide with the two-statement path's."""
    with app.extensions["trimtab.engine"].connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT pg_get_serial_sequence('facts', 'id')").scalar() == "public.facts_id_seq"
    assert "nextval('facts_id_seq'::regclass)" in pg_intake.READ


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_a_webhooks_decisions_are_stored_compressed_with_lz4(app, hooks):
    """Migration 0024: the decisions' JSON (about 3.7 KB for the shipped weekly rules, over
    PostgreSQL's 2 KB threshold) is compressed on every insert, with LZ4 rather than pglz, which
    cost the backend twice the CPU.  This machine's PostgreSQL offers LZ4; the test says so
    first, so that a server without it fails here rather than passing for the wrong reason."""
    with app.extensions["trimtab.engine"].connect() as conn:
        methods = conn.exec_driver_sql("SELECT enumvals FROM pg_settings "
                                       "WHERE name = 'default_toast_compression'").scalar()
        assert "lz4" in methods
    for n in range(1, 4):
        assert hooks.post("weekly_metrics", dict(week(n, 5, 0.9), new_visit_records=0)
                          ).status_code == 200
    with app.extensions["trimtab.engine"].connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT length(decisions::text), pg_column_compression(decisions) "
            "FROM decision_sets ORDER BY id").all()
    assert len(stored) == 3
    assert all(size > 2048 and method == "lz4" for size, method in stored), stored
