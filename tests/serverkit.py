"""Helpers for server tests: databases on SQLite and PostgreSQL, signed webhook calls."""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import queue
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

from trimtab.server.core.security import sign, signature_header

PG_ADMIN = os.environ.get("TRIMTAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CLIENT, SECRET, ADMIN = "platform", "s3cret-for-tests", "admin-token-for-tests"


def fresh_database(kind: str, tmp_path, template: str | None = None) -> tuple[str, callable]:
    """(SQLAlchemy URL, cleanup) of an empty database of `kind` (a copy of `template`, a
    PostgreSQL database or an SQLite file, when given)."""
    if kind == "sqlite":
        path = tmp_path / "trimtab.db"
        if template is not None:
            shutil.copyfile(template, path)
        return f"sqlite:///{path}", lambda: None
    name = f"trimtab_test_{uuid.uuid4().hex[:12]}"
    _create_pg(name, template)
    base = PG_ADMIN.rsplit("/", 1)[0]

    return f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}", lambda: _DROPPER.drop(name)


class _Dropper:
    """Drops the tests' PostgreSQL databases on a thread of its own (a drop took 0.1-0.3 s of
    each test's time); the process waits for the last ones when it exits."""

    def __init__(self):
        self.names: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None

    def drop(self, name: str) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="drop-test-databases", daemon=True)
            self.thread.start()
            atexit.register(self.finish)
        self.names.put(name)

    def _run(self) -> None:
        while (name := self.names.get()) is not None:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def finish(self) -> None:
        self.names.put(None)
        self.thread.join(timeout=120)


_DROPPER = _Dropper()


def migrated_database(kind: str, tmp_path) -> tuple[str, callable]:
    """(URL, cleanup) of a database of `kind` whose schema is at the newest migration, copied
    from a template migrated once (migrating cost each server test 0.2 s on SQLite and about
    1 s on PostgreSQL).  The app's own upgrade on start then finds nothing to do.  Tests of the
    migrations themselves take `fresh_database`: an empty one."""
    return fresh_database(kind, tmp_path, template=_template(kind))


def _create_pg(name: str, template: str | None) -> None:
    clause = f' TEMPLATE "{template}"' if template else ""
    for attempt in range(50):
        try:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:   # fails loudly if PG is down
                conn.execute(f'CREATE DATABASE "{name}"{clause}')
            return
        except psycopg.errors.ObjectInUse:
            # Another test process copies the same template this instant: PostgreSQL lets one
            # copy at a time.  Wait for it, a little longer each time.
            time.sleep(0.02 * (attempt + 1))
    raise RuntimeError(f"template {template} stayed busy")


_TEMPLATES: dict[str, str] = {}
MIGRATIONS = Path(__file__).resolve().parents[1] / "server" / "storage" / "migrations"


def _template(kind: str) -> str:
    """The template of `kind` for the migrations as they are now (named by their hash, so a
    changed migration gets a new one), built once per test process."""
    if kind not in _TEMPLATES:
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(MIGRATIONS.rglob("*.py"))))
        _TEMPLATES[kind] = (_pg_template if kind == "postgresql" else _sqlite_template)(
            digest.hexdigest()[:12])
    return _TEMPLATES[kind]


def _migrate(url: str) -> None:
    from trimtab.server.storage.db import make_engine, upgrade
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _sqlite_template(digest: str) -> str:
    path = Path(tempfile.mkdtemp(prefix="trimtab-template-")) / f"template-{digest}.db"
    _migrate(f"sqlite:///{path}")
    return str(path)


def _pg_template(digest: str) -> str:
    """Built under a name of its own, then renamed: of test processes racing to build it, one
    rename wins and the others drop theirs."""
    name = f"trimtab_tpl_{digest}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return name
    building = f"{name}_{uuid.uuid4().hex[:8]}"
    _create_pg(building, None)
    base = PG_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
    _migrate(f"postgresql+psycopg://{base}/{building}")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        try:
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        except psycopg.errors.DuplicateDatabase:
            conn.execute(f'DROP DATABASE "{building}" WITH (FORCE)')
    return name


class Hooks:
    """Signed POSTs to /hooks/<form>, the way a platform sends them."""

    def __init__(self, client):
        self.client = client

    def headers(self, body: bytes, delivery=None, secret=SECRET, stamp=None, client=CLIENT,
                scheme="v2"):
        """Signed as a client signs: scheme v2 covers the delivery id; v1 is the legacy one."""
        stamp = str(int(time.time()) if stamp is None else stamp)
        delivery = delivery or uuid.uuid4().hex
        signature = signature_header(secret, stamp, delivery, body) if scheme == "v2" else \
            "sha256=" + sign(secret, stamp, body)
        return {"X-Trimtab-Client": client, "X-Trimtab-Timestamp": stamp,
                "X-Trimtab-Signature": signature,
                "X-Trimtab-Delivery": delivery, "Content-Type": "application/json"}

    def post(self, form, facts, delivery=None, lang="en", **kw):
        body = facts if isinstance(facts, bytes) else json.dumps(facts, ensure_ascii=False).encode()
        headers = self.headers(body, delivery, **kw)
        headers["Accept-Language"] = lang
        return self.client.post(f"/hooks/{form}", data=body, headers=headers)


ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def samples(text: str) -> dict:
    """{(sample name, sorted labels): value} of a /metrics scrape, read by prometheus_client's
    parser."""
    from prometheus_client.parser import text_string_to_metric_families
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def as_admin(client):
    """A test client whose requests carry the admin token unless a test gives other headers."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {ADMIN}"
    return client


def bearer(app, person: str) -> dict:
    """Headers with a personal token of `person` (issued once per app, as `trimtab people
    token` would)."""
    from trimtab.server.auth import tokens
    issued = app.extensions.setdefault("tests.tokens", {})
    if person not in issued:
        with app.extensions["trimtab.sessions"]() as session, session.begin():
            issued[person] = tokens.issue(session, person)[0]
    return {"Authorization": f"Bearer {issued[person]}"}


def set_target(app, subject: str, metric: str, value) -> None:
    """A stored target, as an import would leave it (a change is judged against it)."""
    from decimal import Decimal

    from trimtab.server.storage.models import Target
    with app.extensions["trimtab.sessions"]() as session, session.begin():
        session.add(Target(subject=subject, metric=metric, value=Decimal(str(value)),
                           source="import", set_by="tests", ruleset_version="-"))

ORG = {"people": [
    {"id": "east.li", "name": "李东", "role": "rep", "region": "east", "manager": "east.mgr",
     "hrbp": "hr.east"},
    {"id": "east.mgr", "name": "王经理", "role": "regional_manager", "region": "east",
     "manager": "sales.dir"},
    {"id": "hr.east", "name": "陈HRBP", "role": "hrbp", "region": "east"},
    {"id": "sales.dir", "name": "销售总监", "role": "sales_director"},
    {"id": "lead.1", "name": "销售负责人", "role": "sales_lead"},
    {"id": "prod.1", "name": "产品代表", "role": "product_rep"},
    {"id": "fin.1", "name": "财务分析师", "role": "finance_analyst"},
    {"id": "hq.1", "name": "总部", "role": "headquarters"},
]}


def week(n: int, opportunities: int, coverage: float) -> dict:
    import datetime as dt
    start = dt.date(2026, 7, 6) + dt.timedelta(weeks=n - 1)
    return {"rep": "east.li", "region": "east", "week_start": start.isoformat(),
            "effective_visits": 11, "meeting_conversion": 0.27, "new_opportunity_amount": 900000,
            "new_opportunities": opportunities, "stage_advances": 1, "pipeline_coverage": coverage,
            "weighted_pipeline": 1200000, "conversion_rate": 0.25, "new_customers": 3 + n % 2,
            "new_visit_records": 6, "contract_amount": 540000, "negative_feedback": 0}


def make_app(url: str, **config):
    """The app the server tests build: database `url`, the test client's secret, the admin
    token and the shipped rules, then `config` on top (e.g. LANG="en")."""
    from trimtab.server.app import create_app
    return create_app({"DATABASE_URL": url, "CLIENTS": {CLIENT: SECRET}, "ADMIN_TOKEN": ADMIN,
                       "RULES_PATH": str(Path(__file__).resolve().parents[1] / "rules"), **config})


def load_org(app, org: dict = ORG):
    """Load the org chart through the API, as an admin does; returns the admin client used."""
    client = as_admin(app.test_client())
    r = client.post("/v1/org/people", json=org, headers=ADMIN_HEADERS)
    assert r.status_code == 200, r.get_json()
    return client


@contextmanager
def running_app(kind: str, tmp_path, org: dict = ORG, **config):
    """(app, signed hooks whose `.client` is an admin's) on a fresh database of `kind` with the
    shipped rules, `config` and `org` loaded; the engine disposed and the database dropped on
    leaving.  The fixtures `fresh_app` and `shared_server` make their servers with it."""
    url, cleanup = migrated_database(kind, tmp_path)
    app = make_app(url, **config)
    try:
        yield app, Hooks(load_org(app, org))
    finally:
        app.extensions["trimtab.engine"].dispose()
        cleanup()
