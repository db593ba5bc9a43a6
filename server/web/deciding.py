"""What deciding an approval takes within a request, shared by the approval routes
(web/approvals.py) and the platforms' approval callbacks (plugin/approval_events.py): a write
transaction that two decisions on one step cannot interleave, today in the deployment's time
zone, the messages a decision causes and their dispatch."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from flask import current_app

from trimtab.server.domain import approval_effects
from trimtab.server.storage.models import Approval
from trimtab.server.web.http import sessions


@contextmanager
def serialised():
    """A write transaction that holds the database's write lock from its start on SQLite, so
    two decisions on one step run one after the other (PostgreSQL: the row lock
    domain/approval_flow.py `lock` takes)."""
    with sessions() as session, session.begin():
        if session.bind.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def today() -> dt.date:
    return dt.datetime.now(current_app.config["TZ"]).date()


def announce(session, approval: Approval, position_before: int) -> int:
    """The messages a decision causes (the next approvers', the requester's), in its
    transaction → how many."""
    return approval_effects.decided(session, approval, position_before,
                                    approval_effects.for_app(current_app.extensions, current_app.config))


def deliver_soon(queued: int) -> None:
    """With Redis, a dispatch job for what a decision queued (else the in-process dispatcher
    or the worker's sweep finds it)."""
    if queued and current_app.config.get("REDIS_URL"):
        # the app's, as the submission service asks for it (create_app sets it from jobs/)
        current_app.extensions["trimtab.enqueue_dispatch"](current_app.config["REDIS_URL"])
