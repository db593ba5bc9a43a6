"""The audit log as a keyed hash chain: `trimtab audit verify` names the first entry that was
edited, deleted, inserted or reordered by someone with direct database access — triggers
disabled or dropped, the table truncated — on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select, text

from serverkit import make_app
from trimtab.server.domain import audit
from trimtab.server.domain.audit_verify import verify
from trimtab.server.storage.models import AuditEntry

KEY = "audit-key-for-tests"
ENTRIES = 8


@pytest.fixture
def app_config(request, tmp_path):
    """The audit key and an anchor file; anchors also posted to `anchor_sink` when the test
    has one."""
    config = {"AUDIT_KEY": KEY, "AUDIT_ANCHOR_PATH": str(tmp_path / "anchors.jsonl")}
    if "anchor_sink" in request.fixturenames:
        config["AUDIT_ANCHOR_URL"] = request.getfixturevalue("anchor_sink").url
    return config


@pytest.fixture
def anchor_sink(receivers):
    """A receiver of anchors on 127.0.0.1, as a deployment's log collector would be."""
    return receivers(scheme="anchor")


def write(app, n: int = ENTRIES, per_transaction: int = 1):
    """n entries, committed `per_transaction` at a time (an anchor after each commit)."""
    for start in range(0, n, per_transaction):
        with app.extensions["trimtab.sessions"]() as s, s.begin():
            for i in range(start, min(n, start + per_transaction)):
                audit.append(s, action="target_changed", subject=f"rep.{i}", actor="east.mgr",
                             details={"metric": "new_customers", "before": i, "after": i + 0.5,
                                      "reason": "季度调整", "evidence": []},
                             ruleset_version="v1")


def check(app, key=KEY):
    with app.extensions["trimtab.sessions"]() as s:
        return verify(s, key.encode(), audit.AuditSettings.from_config(app.config).anchor_path)


def tamper(app, *statements, triggers_off=True, **params):
    """Run SQL as the database's owner would, the append-only triggers out of the way."""
    engine = app.extensions["trimtab.engine"]
    with engine.begin() as conn:
        if triggers_off and engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER ALL"))
        elif triggers_off:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        for statement in statements:
            conn.execute(text(statement), params)


def failed(app, expected: str):
    report = check(app)
    assert not report.ok, report.message
    assert report.message == expected, report.message


# ---------------------------------------------------------------------- clean
def test_a_clean_log_verifies_and_every_commit_anchors(app):
    assert check(app).ok and check(app).count == 0
    write(app, 5)
    write(app, 6, per_transaction=3)               # two transactions: two anchors
    report = check(app)
    assert report.ok and report.count == 11 and report.anchors == 7, report.message
    lines = [json.loads(t) for t in open(app.config["AUDIT_ANCHOR_PATH"])]
    assert [(a["id"], a["count"]) for a in lines][-2:] == [(8, 8), (11, 11)]
    with app.extensions["trimtab.sessions"]() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    assert rows[3].details["after"] == 3.5 and rows[3].details["reason"] == "季度调整"


def test_a_rolled_back_append_leaves_no_entry_and_no_anchor(app):
    write(app, 2)
    with pytest.raises(RuntimeError):
        with app.extensions["trimtab.sessions"]() as s, s.begin():
            audit.append(s, action="x", subject="y", actor="z", details={}, ruleset_version="v")
            raise RuntimeError("the approval failed after the audit entry")
    write(app, 1)
    assert check(app).ok and check(app).count == 3
    assert [json.loads(t)["id"] for t in open(app.config["AUDIT_ANCHOR_PATH"])] == [1, 2, 3]


def test_another_key_does_not_verify(app):
    write(app, 2)
    report = check(app, key="not-the-key")
    assert not report.ok and "signature does not match" in report.message


# ---------------------------------------------------------------------- tampering
def test_an_update_with_triggers_out_of_the_way_is_named(app):
    write(app)
    tamper(app, "UPDATE audit_log SET actor = 'mallory' WHERE id = 4")
    failed(app, "audit entry 4: content does not match its hash (edited)")


def test_an_edit_of_the_last_entry_is_named(app):
    write(app)
    tamper(app, f"UPDATE audit_log SET subject = 'rep.x' WHERE id = {ENTRIES}")
    failed(app, f"audit entry {ENTRIES}: content does not match its hash (edited)")


def test_an_edit_with_the_chain_recomputed_without_the_key_is_named(app):
    """The owner rewrites entry 4 and every hash after it, and the head, with a key they guess."""
    write(app)
    tamper(app, "UPDATE audit_log SET actor = 'mallory' WHERE id = 4")
    with app.extensions["trimtab.sessions"]() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.id >= 4).order_by(AuditEntry.id)).all()
        prev = s.get(AuditEntry, 3).hash
        s.expunge_all()
    for row in rows:
        row.prev_hash = prev
        prev = audit.entry_hash(b"", row)
        tamper(app, "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id",
               p=row.prev_hash, h=prev, id=row.id)
    tamper(app, "UPDATE audit_head SET last_hash = :h", h=prev, triggers_off=False)
    failed(app, "audit entry 4: content does not match its hash (edited)")


def test_a_deleted_middle_entry_is_named(app):
    write(app)
    tamper(app, "DELETE FROM audit_log WHERE id = 5")
    failed(app, "entry after 4 is missing (deleted): entry 6 follows another entry")


def test_a_deleted_first_entry_is_named(app):
    write(app)
    tamper(app, "DELETE FROM audit_log WHERE id = 1")
    failed(app, "entries before 2 are missing (deleted): entry 2 is not the first of the chain")


def test_a_forged_insert_is_named(app):
    write(app)
    with app.extensions["trimtab.sessions"]() as s:
        last = s.get(AuditEntry, ENTRIES)
    tamper(app, "INSERT INTO audit_log (id, at, action, subject, actor, details, ruleset_version, "
                "prev_hash, hash) VALUES (:id, :at, 'target_changed', 'east.li', 'east.mgr', "
                "'{\"after\": 1}', 'v1', :prev, :hash)",
           triggers_off=False, id=ENTRIES + 1, at=last.at, prev=last.hash, hash="ab" * 32)
    failed(app, f"audit entry {ENTRIES + 1} is not part of the chain (inserted)")


def test_a_forged_insert_with_the_head_moved_is_still_named(app):
    write(app)
    tamper(app, "INSERT INTO audit_log (id, at, action, subject, actor, details, ruleset_version, "
                "prev_hash, hash) SELECT id + 1, at, action, 'east.li', actor, details, "
                f"ruleset_version, hash, :hash FROM audit_log WHERE id = {ENTRIES}",
           f"UPDATE audit_head SET last_id = {ENTRIES + 1}, last_hash = :hash, count = count + 1",
           triggers_off=False, hash="cd" * 32)
    failed(app, f"audit entry {ENTRIES + 1} is not part of the chain (inserted)")


@pytest.mark.parametrize("columns", ["with_hashes", "content_only"])
def test_two_swapped_entries_are_named(app, columns):
    write(app)
    names = ["at", "action", "subject", "actor", "details", "ruleset_version"]
    names += ["prev_hash", "hash"] if columns == "with_hashes" else []
    with app.extensions["trimtab.engine"].connect() as conn:
        rows = {r.id: r for r in conn.execute(text(f"SELECT id, {', '.join(names)} FROM audit_log "
                                                   f"WHERE id IN (3, 6)"))}
    sets = ", ".join(f"{n} = :{n}" for n in names)
    for here, there in ((3, 6), (6, 3)):
        values = {n: getattr(rows[there], n) for n in names}
        if isinstance(values["details"], dict):              # PostgreSQL hands back JSON parsed
            values["details"] = json.dumps(values["details"])
        tamper(app, f"UPDATE audit_log SET {sets} WHERE id = {here}", **values)
    failed(app, "audit entry 3 holds the content of entry 6 (reordered)")


def test_a_truncated_log_is_named_from_the_anchors(app):
    write(app)
    if app.extensions["trimtab.engine"].dialect.name == "postgresql":
        tamper(app, "TRUNCATE audit_log", triggers_off=False)     # no row trigger fires
    else:
        tamper(app, "DELETE FROM audit_log")
    tamper(app, f"UPDATE audit_head SET last_id = 0, last_hash = '{audit.GENESIS}', count = 0",
           triggers_off=False)                                   # the head tidied too
    failed(app, f"anchor at entry 1 not found: the log was truncated (the log is empty, its "
                f"anchors record {ENTRIES} entries)")


def test_entries_cut_from_the_end_are_named_from_the_anchors(app):
    write(app)
    with app.extensions["trimtab.sessions"]() as s:
        keep = s.get(AuditEntry, ENTRIES - 2)
    tamper(app, f"DELETE FROM audit_log WHERE id > {ENTRIES - 2}",
           "UPDATE audit_head SET last_id = :id, last_hash = :hash, count = :id", id=keep.id,
           hash=keep.hash)
    failed(app, f"anchor at entry {ENTRIES - 1} not found: the log was truncated "
                f"(entries after {ENTRIES - 2} are missing)")


def test_entries_cut_from_the_end_are_named_from_the_head_without_anchors(app, tmp_path):
    write(app)
    (tmp_path / "anchors.jsonl").unlink()
    tamper(app, f"DELETE FROM audit_log WHERE id = {ENTRIES}")
    failed(app, f"entry after {ENTRIES - 1} is missing (deleted): the audit head records "
                f"{ENTRIES} entries up to entry {ENTRIES}")


def test_an_edited_anchor_file_is_named(app, tmp_path):
    write(app, 3)
    path = tmp_path / "anchors.jsonl"
    lines = path.read_text().splitlines()
    doc = json.loads(lines[1])
    doc["count"] = 1
    path.write_text("\n".join([lines[0], json.dumps(doc), lines[2]]) + "\n")
    report = check(app)
    assert not report.ok and report.message.startswith(f"{path}:2: the anchor's signature")


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_sqlite_drop_trigger_then_update_and_delete(app):
    """The reproduction of issue 11 on SQLite, step by step."""
    write(app)
    engine = app.extensions["trimtab.engine"]
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET details = '{\"after\": 999}' WHERE id = 2"))
    failed(app, "audit entry 2: content does not match its hash (edited)")
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    failed(app, "entry after 1 is missing (deleted): entry 3 follows another entry")


def test_an_approval_writes_a_verified_entry(app, org):
    """The approvals' writer (service._audit) goes through the chain."""
    from serverkit import Hooks, as_admin, bearer, set_target
    client = as_admin(app.test_client())
    write(app, 1)
    set_target(app, "east.li", "new_customers", 80)
    r = Hooks(client).post("target_change", {
        "rep": "east.li", "date": "2026-08-12", "metric": "new_customers", "current_target": 80,
        "proposed_target": 70, "reason": "竞品低价套餐冲击", "evidence": ["校准会纪要"],
        "meeting": "calibration", "requested_by": "east.li"})
    assert r.status_code == 200, r.json
    for actor in ("east.mgr", "hr.east"):
        assert client.post(f"/v1/approvals/{r.json['approval']['id']}/decision",
                           json={"decision": "approve"}, headers=bearer(app, actor)).status_code == 200
    report = check(app)
    assert report.ok and report.count == 2, report.message
    [entry] = client.get("/v1/audit?subject=east.li").json["items"]
    assert entry["id"] == 2 and entry["action"] == "target_changed" and entry["after"] == 70


# ---------------------------------------------------------------------- concurrency
def test_concurrent_writers_form_one_line(app):
    threads, each, errors = 8, 6, []

    def writer():
        try:
            write(app, each)
        except Exception as err:                  # pragma: no cover - reported below
            errors.append(err)
    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    report = check(app)
    assert report.ok and report.count == threads * each, report.message
    with app.extensions["trimtab.sessions"]() as s:
        assert s.scalar(select(func.count(func.distinct(AuditEntry.prev_hash)))) == threads * each
    anchors = [json.loads(t) for t in open(app.config["AUDIT_ANCHOR_PATH"])]
    assert sorted(a["count"] for a in anchors) == list(range(1, threads * each + 1))


# ---------------------------------------------------------------------- anchors elsewhere
@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_anchors_go_to_the_log_and_the_configured_url(app, anchor_sink, caplog):
    with caplog.at_level("INFO", logger="trimtab.audit"):
        write(app, 2)
    posted = [m["body"] for m in anchor_sink.received]
    assert [(a["id"], a["count"]) for a in posted] == [(1, 1), (2, 2)]
    body = {k: posted[1][k] for k in ("at", "id", "hash", "count")}
    assert posted[1]["sig"] == audit.sign(KEY.encode(), body)
    assert sum("audit anchor" in r.getMessage() for r in caplog.records) == 2
    anchor_sink.close()
    with caplog.at_level("ERROR", logger="trimtab.audit"):
        write(app, 1)                            # the receiver is gone: logged, not raised
    assert any("POST failed" in r.getMessage() for r in caplog.records)
    assert check(app).ok and check(app).count == 3


# ---------------------------------------------------------------------- the commands
def test_the_commands_say_ok_or_name_the_entry(app, monkeypatch, capsys, tmp_path):
    from trimtab.server.cli.main import main
    write(app)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("TRIMTAB_AUDIT_KEY", KEY)
    monkeypatch.setenv("TRIMTAB_AUDIT_ANCHORS", app.config["AUDIT_ANCHOR_PATH"])
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == (f"OK: {ENTRIES} audit entries, chain intact up to entry "
                                       f"{ENTRIES}; {ENTRIES} anchors match\n")
    assert main(["audit", "anchor"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == ENTRIES
    tamper(app, "UPDATE audit_log SET actor = 'mallory' WHERE id = 4")
    assert main(["audit", "verify"]) == 1
    assert capsys.readouterr().out == "FAILED: audit entry 4: content does not match its hash (edited)\n"


def test_the_commands_refuse_without_a_key_or_a_chain(monkeypatch, capsys, tmp_path):
    from trimtab.server.cli.main import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIMTAB_AUDIT_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["audit", "verify"]) == 1
    assert "no audit key" in capsys.readouterr().err
    monkeypatch.setenv("TRIMTAB_AUDIT_KEY", KEY)
    assert main(["audit", "verify"]) == 1
    assert "has no audit chain yet (run `trimtab migrate`)" in capsys.readouterr().err
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["audit", "anchor"]) == 1
    err = capsys.readouterr().err
    assert "cannot read 127.0.0.1:1/none: OperationalError" in err and "Traceback" not in err


def test_the_migration_chains_the_entries_already_there(empty_database):
    import datetime as dt

    import sqlalchemy as sa
    from alembic import command
    from trimtab.server.storage.db import alembic_config, make_engine, upgrade
    engine = make_engine(empty_database)
    legacy = sa.table("audit_log", sa.column("at", sa.DateTime), sa.column("action", sa.String),
                      sa.column("subject", sa.String), sa.column("actor", sa.String),
                      sa.column("details", sa.JSON), sa.column("ruleset_version", sa.String))
    try:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
            conn.execute(legacy.insert(), [
                {"at": dt.datetime(2026, 7, 1, 9, i, 0, 1234 * i), "action": "target_changed",
                 "subject": "east.li", "actor": "east.mgr", "details": {"after": 70 + i},
                 "ruleset_version": "v0"} for i in range(3)])
        with pytest.raises(RuntimeError, match="3 entries to chain: migrating needs the audit key"):
            upgrade(engine)
        upgrade(engine, audit_key=KEY)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):   # the triggers are back
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory'"))
        app = make_app(empty_database, AUDIT_KEY=KEY, MIGRATE=False)
        write(app, 2)
        assert check(app).ok and check(app).count == 5
        tamper(app, "UPDATE audit_log SET actor = 'mallory' WHERE id = 2")
        assert check(app).message == "audit entry 2: content does not match its hash (edited)"
        app.extensions["trimtab.engine"].dispose()
    finally:
        engine.dispose()
