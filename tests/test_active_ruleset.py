"""One rule-set version for every process: the active one is recorded in the database, each
app (a gunicorn worker) and the RQ worker follow it."""
from __future__ import annotations

import threading
import time

import pytest

from gitrepo import RulesRepo
from serverkit import ADMIN_HEADERS, ORG, Hooks, as_admin, make_app
from trimtab.server.domain.rulesets import read


@pytest.fixture
def two_apps(database, tmp_path):
    """A rules repository with two commits (the second raises the yellow-alert threshold), the
    working tree edited on top, and a factory of apps on one database: processes of a server."""
    repo = RulesRepo(tmp_path / "repo")
    first = repo.git("rev-parse", "HEAD")
    repo.edit("rules/alerts.rules", "days_outstanding > 60 days", "days_outstanding > 45 days")
    second = repo.commit("45 days")
    repo.edit("rules/alerts.rules", "days_outstanding > 45 days", "days_outstanding > 30 days")
    apps = []

    def make(**config):
        app = make_app(database, **{"RULES_PATH": str(repo.rules), "LANG": "en", "RULES_CHECK_S": 0,
                                    **config})
        apps.append(app)
        return app
    yield make, repo, first, second
    for app in apps:
        app.extensions["trimtab.engine"].dispose()


def version_of(client) -> tuple[str, str]:
    r = client.get("/healthz")
    return r.json["ruleset_version"], r.headers["X-Trimtab-Ruleset-Version"]


def test_a_reload_in_one_process_is_served_by_the_others(two_apps):
    make, repo, first, second = two_apps
    a, b = make(RULES_REV=first), make(RULES_REV=first)
    ca, cb = as_admin(a.test_client()), as_admin(b.test_client())
    assert version_of(ca) == version_of(cb) == (first, first)
    r = ca.post("/v1/rulesets/reload", json={"rev": "main"}, headers=ADMIN_HEADERS)
    assert r.status_code == 200 and r.json["version"] == second
    assert r.headers["X-Trimtab-Ruleset-Version"] == second
    assert version_of(cb) == (second, second)           # the other process, at its next request
    assert cb.post("/v1/org/people", json=ORG).status_code == 200
    facts = {"account": "a", "rep": "east.li", "date": "2026-07-01",
             "amount": 1, "days_outstanding": 50}
    r = Hooks(cb).post("receivables", facts)
    assert r.json["ruleset_version"] == second
    assert {d["rule"]: d["value"] for d in r.json["decisions"]}["应收超期"] is True   # 50 > 45
    seen = read(a.extensions["trimtab.sessions"])
    assert (seen.rev, seen.version, seen.configured) == (second, second, first)
    assert seen.generation == 2                         # the first start, then the reload
    audit = ca.get("/v1/audit?action=ruleset.activate").json["items"]
    assert [(e["actor"], e["rev"]) for e in audit] == [("admin token", second)]


def test_a_restart_keeps_the_reloaded_version_unless_the_deployment_changed(two_apps):
    make, repo, first, second = two_apps
    a = make(RULES_REV=first)
    as_admin(a.test_client()).post("/v1/rulesets/reload", json={"rev": second})
    assert version_of(make(RULES_REV=first).test_client())[0] == second   # same deployment
    again = make(RULES_REV=second + "^")                                  # another setting
    assert version_of(again.test_client())[0] == first
    assert version_of(a.test_client())[0] == first      # and the running process follows it


def test_a_revision_that_does_not_load_here_keeps_the_current_one(two_apps):
    from trimtab.server.domain.rulesets import record
    make, repo, first, second = two_apps
    app = make(RULES_REV=first)
    rs = app.extensions["trimtab.rules"].current
    with app.app_context():
        record(app.extensions["trimtab.sessions"], rs, "0" * 40, first, "test")
    assert version_of(app.test_client())[0] == first
    assert app.extensions["trimtab.rules_follower"].failed is not None


def test_the_worker_serves_the_active_revision_not_the_working_tree(two_apps):
    """`trimtab worker` (its schedules, rendered reports) uses the revision the web servers
    serve — not the files on disk, which here hold an uncommitted edit."""
    from trimtab.server.jobs.worker import _ruleset
    make, repo, first, second = two_apps
    app = make(RULES_REV=first)
    sessions = app.extensions["trimtab.sessions"]
    assert "+dirty." in _ruleset(str(repo.rules)).version            # the files on disk
    assert _ruleset(str(repo.rules), None, sessions).version == first
    as_admin(app.test_client()).post("/v1/rulesets/reload", json={"rev": "main"})
    assert _ruleset(str(repo.rules), None, sessions).version == second


def test_processes_starting_together_write_the_first_row_once_and_no_insert_fails(app):
    """Workers start at once and each records the version it serves.  One writes the row; the
    others wait for it and find it — no duplicate-key failure (which PostgreSQL logs as an
    ERROR) and no retry.  Every database error the engine meets is counted, also those the code
    catches; the start is raced five times (one race may happen not to overlap)."""
    import threading

    from sqlalchemy import delete, event, select
    from trimtab.server.domain.rulesets import record
    from trimtab.server.storage.models import ActiveRuleset
    engine, sessions = app.extensions["trimtab.engine"], app.extensions["trimtab.sessions"]
    rs = app.extensions["trimtab.rules"].current
    errors: list = []
    event.listen(engine, "handle_error", lambda context: errors.append(context.original_exception))
    for _race in range(5):
        with engine.begin() as connection:
            connection.execute(delete(ActiveRuleset))
        starting, generations = threading.Barrier(6), []

        def start(starting, generations):
            starting.wait()
            generations.append(record(sessions, rs, "WORKTREE", "WORKTREE", "start"))
        threads = [threading.Thread(target=start, args=(starting, generations)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == [] and generations == [1] * 6
        with engine.connect() as connection:
            rows = connection.execute(select(ActiveRuleset.generation, ActiveRuleset.rev)).all()
        assert rows == [(1, "WORKTREE")]


def test_a_request_arriving_while_its_process_loads_the_new_version_waits_for_it(two_apps, monkeypatch):
    """One thread of a process found the reload and is loading it; a request on another thread,
    before the process's time to look again, is answered with the new set, not the old one."""
    from trimtab.server.domain import rulesets
    make, repo, first, second = two_apps
    a, b = make(RULES_REV=first), make(RULES_REV=first, RULES_CHECK_S=60)
    assert as_admin(a.test_client()).post("/v1/rulesets/reload", json={"rev": second}).status_code == 200
    follower, real_load = b.extensions["trimtab.rules_follower"], rulesets.load_for
    loading, go_on, checks = threading.Event(), threading.Event(), threading.Semaphore(0)

    def slow_load(config, rev=None):
        loading.set()
        assert go_on.wait(30)
        return real_load(config, rev)

    def counted_check(check=follower.check):
        checks.release()
        check()
    monkeypatch.setattr(rulesets, "load_for", slow_load)
    monkeypatch.setattr(follower, "check", counted_check)
    answers = {}

    def ask(name):
        answers[name] = version_of(b.test_client())[0]
    follower.next_at = 0.0                          # b looks at its next request
    looking = threading.Thread(target=ask, args=("looking",))
    looking.start()
    assert loading.wait(30) and checks.acquire(timeout=5)
    meanwhile = threading.Thread(target=ask, args=("meanwhile",))
    try:
        meanwhile.start()
        assert checks.acquire(timeout=30)           # the second request is in its check
        time.sleep(0.3)
        assert "meanwhile" not in answers, answers  # it waits for the load ...
    finally:
        go_on.set()
        looking.join(30)
        meanwhile.join(30)
    assert answers == {"looking": second, "meanwhile": second}     # ... and answers with it
