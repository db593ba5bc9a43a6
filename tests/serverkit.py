"""Helpers for server tests: databases on SQLite and PostgreSQL, signed webhook calls."""
from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

from trimtab.server.core.security import sign, signature_header

PG_ADMIN = os.environ.get("TRIMTAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CLIENT, SECRET, ADMIN = "platform", "s3cret-for-tests", "admin-token-for-tests"


def fresh_database(kind: str, tmp_path) -> tuple[str, callable]:
    """(SQLAlchemy URL, cleanup) of an empty database of `kind`."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'trimtab.db'}", lambda: None
    name = f"trimtab_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:      # fails loudly if PG is down
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]

    def drop():
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}", drop


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
def running_app(kind: str, tmp_path, **config):
    """(app, Hooks) on a fresh database of `kind` with the shipped rules and ORG loaded;
    the database is dropped afterwards."""
    url, cleanup = fresh_database(kind, tmp_path)
    app = make_app(url, **config)
    try:
        yield app, Hooks(load_org(app))
    finally:
        app.extensions["trimtab.engine"].dispose()
        cleanup()
