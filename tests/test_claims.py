"""Delivery claims, in process on SQLite and PostgreSQL: a message is claimed before it is
sent and its result written on its own, so a slow receiver, a run that stops half-way, two
dispatchers at once or a claim whose worker died never send a message twice."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select

from trimtab.server.jobs.channels import load_channels
from trimtab.server.storage.models import OutboxMessage, utcnow
from trimtab.server.jobs.outbox import dispatch_due


@pytest.fixture
def outbox(app, receivers, tmp_path):
    """`app`'s outbox, its one channel to a receiver that takes 0.3 s a message, and `add(n)`
    to queue n messages."""
    receiver = receivers(scheme="webhook", delay_s=0.3)
    config = tmp_path / "channels.yaml"
    config.write_text("channels:\n  hook: {type: webhook, url_env: T_URL, concurrency: 1}\n"
                      "routes:\n  default: hook\n", encoding="utf-8")
    channels, _ = load_channels(config, {"T_URL": receiver.url})
    sessions = app.extensions["trimtab.sessions"]

    def add(n, **fields):
        with sessions() as s, s.begin():
            for i in range(n):
                s.add(OutboxMessage(**{"message_id": f"m{i:02d}", "rule": "r", "role": "hrbp",
                                       "channel": "hook", "payload": {"title": "t", "text": "x"},
                                       "status": "pending", "attempts": 0, **fields}))
    return sessions, channels, receiver, add


def rows(sessions):
    with sessions() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_run_out_of_time_keeps_what_it_sent(outbox):
    """0.3 s a message, one at a time, 1 s for the run: what went out is marked sent on its
    own; the rest stays pending for the next run, and nothing is sent again."""
    sessions, channels, receiver, add = outbox
    add(8)
    started = time.monotonic()
    first = dispatch_due(sessions, channels, budget_s=1.0)
    assert time.monotonic() - started < 2.5
    assert 2 <= first["sent"] <= 5
    assert sum(r.status == "sent" for r in rows(sessions)) == first["sent"]
    while dispatch_due(sessions, channels)["sent"]:
        pass
    assert {r.status for r in rows(sessions)} == {"sent"}
    assert set(receiver.counts().values()) == {1} and len(receiver.counts()) == 8


def test_two_dispatchers_at_once_send_each_message_once(outbox):
    sessions, channels, receiver, add = outbox
    add(10)
    runs = [threading.Thread(target=dispatch_due, args=(sessions, channels)) for _ in range(3)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert len(receiver.counts()) == 10 and set(receiver.counts().values()) == {1}


def test_a_claim_that_ran_out_is_sent_under_the_same_id(outbox):
    """A worker died holding a claim: once it runs out, the message goes out with its id."""
    sessions, channels, receiver, add = outbox
    add(1, status="sending", claimed_by="dead-host:1/x", claim_expires_at=utcnow() + dt.timedelta(seconds=30))
    assert dispatch_due(sessions, channels)["sent"] == 0             # still held
    later = utcnow() + dt.timedelta(minutes=1)
    assert dispatch_due(sessions, channels, now=later)["sent"] == 1
    [row] = rows(sessions)
    assert row.status == "sent" and row.claimed_by is None and row.attempts == 2
    assert "claim by dead-host:1/x ran out" in row.last_error
    assert list(receiver.counts().items()) == [("m00", 1)]
