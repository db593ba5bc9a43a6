"""Shared fixtures: the repository's paths, its form schemas, the shipped rule set; the server
(`app`, `client`, `hooks`, `org`) on each database."""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Every answer of every app the tests create is checked against its route's contract
# (server/web/response_check.py): the whole suite is also a check of the OpenAPI document.
os.environ.setdefault("TRIMTAB_CHECK_RESPONSES", "1")
RULES = ROOT / "rules"
SCHEMAS = ROOT / "form_schemas"


class DecimalLoader(yaml.SafeLoader):
    """YAML with exact decimals: 0.372 in a case file is Decimal('0.372'), as in a webhook."""


DecimalLoader.add_constructor(
    "tag:yaml.org,2002:float",
    lambda loader, node: Decimal(loader.construct_scalar(node).replace("_", "")))


def load_yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=DecimalLoader)


@pytest.fixture(scope="session")
def schemas():
    from trimtab.dsl.schemas import load_schemas
    return load_schemas(SCHEMAS)


@pytest.fixture(scope="session")
def shipped(schemas):
    from trimtab.dsl.ruleset import load
    return load(RULES, SCHEMAS)


# The language suite: modules that test dsl/ in process (no server, database or subprocess).
# `pytest -m "language and not slow"` runs them alone, in seconds.
LANGUAGE_MODULES = {"test_allocation_property", "test_cases", "test_editor", "test_effective_dates", "test_formatter",
                    "test_labels", "test_parameters",
                    "test_fuzz", "test_golden", "test_parse_errors", "test_periods", "test_robustness",
                    "test_scenarios", "test_schedule", "test_textmate", "test_trace_folding", "test_valid_facts"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module is not None and item.module.__name__ in LANGUAGE_MODULES:
            item.add_marker(pytest.mark.language)


def evaluating_cases():
    """(id, case) of every case under tests/cases that evaluates facts (no expect_error)."""
    from trimtab.dsl.rule_tests import read_test_file
    return [(f"{path.parent.name}/{path.stem}#{i}", case)
            for path in sorted((ROOT / "tests" / "cases").glob("*/*.yaml"))
            for i, (_where, case) in enumerate(read_test_file(path)) if "expect_error" not in case]


def shared_sources():
    """Roles and reference values every case may name, as shipped."""
    return [(str(RULES / n), (RULES / n).read_text(encoding="utf-8"))
            for n in ("roles.rules", "references.rules")]


# ------------------------------------------------------------------ server fixtures (flaskr-style)
# A test that asks for `app`, `client` or `hooks` runs once on SQLite and once on PostgreSQL.
# A module narrows that with its own `db_kind` fixture, a test with
# `@pytest.mark.parametrize("db_kind", ["sqlite"])`; a module sets the app's configuration by
# overriding `app_config`, and a test adds to it with `@pytest.mark.app_config(KEY=value, …)`.

DB_KINDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module", params=DB_KINDS)
def db_kind(request) -> str:
    return request.param


@pytest.fixture
def database(db_kind, tmp_path) -> str:
    """The URL of a fresh database of `db_kind` with the newest schema, dropped after the test."""
    from serverkit import migrated_database
    url, cleanup = migrated_database(db_kind, tmp_path)
    yield url
    cleanup()


@pytest.fixture
def app_config() -> dict:
    """Configuration the `app` fixture adds to serverkit.make_app's: what a module's own
    `app_config` returns (none here); a test's `@pytest.mark.app_config(LANG="en", …)` goes on
    top (`server_config`)."""
    return {}


@pytest.fixture
def server_config(request, app_config) -> dict:
    """The module's `app_config`, then the test's `app_config` marker over it."""
    marker = request.node.get_closest_marker("app_config")
    return {**app_config, **(marker.kwargs if marker is not None else {})}


@pytest.fixture
def app(database, server_config):
    """The server on a fresh database with the shipped rules; no org chart yet (see `org`)."""
    from serverkit import make_app
    app = make_app(database, **server_config)
    yield app
    app.extensions["trimtab.engine"].dispose()


@pytest.fixture
def fresh_app(db_kind, tmp_path, server_config):
    """Servers a test makes itself: `fresh_app(name, **config)` → (app, signed hooks whose
    `.client` is an admin's) on a fresh database of `db_kind` (or of `kind=`) with the org
    chart loaded and `config` over `server_config` — for a test that compares two servers, or
    whose server's configuration comes from what the test brings (a rules folder, a channels
    file, a platform's stand-in); each disposed and dropped after the test."""
    from contextlib import ExitStack

    from serverkit import running_app

    with ExitStack() as made:           # each server closed, the last made first
        def make(name: str, *, kind: str | None = None, **config):
            (tmp_path / name).mkdir()
            return made.enter_context(running_app(kind or db_kind, tmp_path / name,
                                                  **{**server_config, **config}))
        yield make


@pytest.fixture(scope="module")
def module_config() -> dict:
    """Configuration of the module's shared server (`shared_server`): a module overrides it."""
    return {}


@pytest.fixture(scope="module")
def shared_server(db_kind, tmp_path_factory, module_config):
    """One server for a module's tests, which keeps what each of them stored: (app, signed
    hooks whose `.client` is an admin's) on a fresh database of `db_kind` with the org chart
    loaded and the module's `module_config`; dropped after the module.  For modules whose tests
    each send a few requests that a fresh database per test would cost more than (the limits'
    refusals, the platforms' callbacks, the fuzz campaign).  A test there counts what it
    changed, not what the database holds; the callbacks' tests make a rep of their own each,
    the limits' use east.li (one target change: its approval rule allows one a cycle)."""
    from serverkit import running_app
    with running_app(db_kind, tmp_path_factory.mktemp(f"shared-{db_kind}"), **module_config) as server:
        yield server


@pytest.fixture
def org(app) -> dict:
    """The org chart (serverkit.ORG), loaded into `app` through the API."""
    from serverkit import ORG, load_org
    load_org(app, ORG)
    return ORG


@pytest.fixture
def client(app, org):
    """A test client of `app` whose requests carry the admin token; the org chart is loaded."""
    from serverkit import as_admin
    return as_admin(app.test_client())


@pytest.fixture
def hooks(client):
    """Signed webhooks to `app`, as the platform client sends them."""
    from serverkit import Hooks
    return Hooks(client)


@pytest.fixture
def empty_database(db_kind, tmp_path) -> str:
    """The URL of an empty database of `db_kind` (no schema: for the migrations' own tests),
    dropped after the test."""
    from serverkit import fresh_database
    (tmp_path / "empty").mkdir()            # beside, never in place of, `database`'s file
    url, cleanup = fresh_database(db_kind, tmp_path / "empty")
    yield url
    cleanup()


@pytest.fixture
def receivers():
    """`receivers(**settings)` → a receivers.Receiver on 127.0.0.1 (a DingTalk-style robot by
    default; `scheme="webhook"`, `secret=…`, faults); every one is closed after the test."""
    from receivers import Receiver
    made = []

    def make(**settings):
        made.append(Receiver(**settings))
        return made[-1]
    yield make
    for receiver in made:
        receiver.close()


# ------------------------------------------------------------------ Redis and workers
@pytest.fixture
def shared_redis() -> str:
    """This test process's database on the machine's Redis (pytest-xdist's gw0 → 1, gw1 → 2, …:
    two processes' workers never take each other's jobs), emptied after the test.  A Redis
    that is down fails the test, never skips it."""
    import redis
    from workerkit import clear_queue
    process = int(os.environ.get("PYTEST_XDIST_WORKER", "gw-1")[2:]) + 1
    url = os.environ.get("TRIMTAB_TEST_REDIS", f"redis://127.0.0.1:6379/{process}")
    redis.Redis.from_url(url).ping()
    yield url
    clear_queue(url)


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of the machine's own on a port of its own, which the test may stop and
    start again; stopped after the test."""
    from workerkit import PrivateRedis
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(app, database, tmp_path):
    """`workers(*args, log=None, **env)` starts a `trimtab worker` on `app`'s database, Redis,
    channels and rules (workerkit.start_worker); every one is stopped after the test, before
    the app's engine is disposed and its database dropped."""
    from workerkit import start_worker, stop
    started = []

    def start(*args, log=None, **env):
        started.append(start_worker(app.config, database, tmp_path, args, log, **env))
        return started[-1]
    yield start
    for worker in started:
        stop(worker)
