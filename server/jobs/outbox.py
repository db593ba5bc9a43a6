"""The transactional outbox: alerts become messages in the same transaction as the decision
(the rows: storage/outbox_rows.py); a dispatcher delivers them later, so a webhook never waits
on a notification and a message is never lost while a receiver is down (retried with backoff,
then dead-lettered, retryable).

Delivery claims each message before sending it and writes the result after, each in a short
transaction of its own (`claims.py`); channels are served side by side, each by at most its
`concurrency` senders, so a slow or hung receiver holds only its own messages."""
from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from trimtab.server.jobs import claims
from trimtab.server.jobs.channels import ChannelError
from trimtab.server.jobs.claims import MAX_ATTEMPTS, backoff  # noqa: F401  (the outbox's retry policy, re-exported)
from trimtab.server.storage.models import utcnow

log = logging.getLogger("trimtab.outbox")
BUDGET_S = 45.0         # a dispatch run claims nothing new after this (RQ's job timeout: 120 s)
MAX_SENDERS = 16        # threads per dispatch run, over all channels


def localized(payload: dict, lang: str) -> dict:
    """The payload as sent: title and texts in `lang` when the message has them (`texts`, by
    language, written when it was queued), and the language named."""
    texts = payload.get("texts") or {}
    chosen = texts.get(lang) or {}
    return {**{k: v for k, v in payload.items() if k != "texts"}, **chosen, "lang": lang}


def language_for(payload: dict, channel, default: str) -> str:
    """A person's channel speaks their language (the org chart's `lang`), a group's the
    deployment's (TRIMTAB_LANG)."""
    if channel is None or channel.group:
        return default
    return payload.get("recipient_lang") or default


def dispatch_due(sessions, channels: dict, now=None, limit: int = 200, rng=random,
                 budget_s: float = BUDGET_S, lang: str = "zh") -> dict:
    """Deliver due messages, each once; returns counts.  Safe to run in several threads and
    processes at once: every message is claimed before it is sent.  Each channel gets its own
    senders; while a slow one is still at work, channels with new messages get theirs.  Stops
    claiming after `limit` messages or `budget_s` seconds; the rest waits for the next run.
    `lang`: the deployment's language (group channels, and people the org chart gives none)."""
    run = _Run(sessions, channels, now or utcnow(), limit, rng, budget_s, lang)
    busy: dict[str, set] = {}
    handled: dict[str, int] = {}
    stuck = set()           # due, but nothing to send this run (a rate window spent, …)
    with ThreadPoolExecutor(MAX_SENDERS, thread_name_prefix="trimtab-send") as pool:
        while True:
            for name in run.due_channels():
                if name not in busy and name not in stuck:
                    busy[name] = {pool.submit(fn, name) for fn in run.senders(name)}
                    handled[name] = 0
            if not busy:
                return run.counts
            done, _ = wait([f for fs in busy.values() for f in fs], timeout=0.5,
                           return_when=FIRST_COMPLETED)
            for name in list(busy):
                for future in busy[name] & done:
                    handled[name] += future.result()    # a bug in a sender is loud
                busy[name] -= done
                if not busy[name]:
                    del busy[name]
                    if handled[name] == 0:
                        stuck.add(name)


class _Run:
    """One dispatch run: who claims (`holder`), its clock, the messages it may still take."""

    def __init__(self, sessions, channels, now, limit, rng, budget_s, lang="zh"):
        self.sessions, self.channels, self.now, self.rng = sessions, channels, now, rng
        self.lang = lang
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.counts = {"sent": 0, "retry": 0, "dead": 0, "digested": 0}
        self.left, self.budget_s, self.started = limit, budget_s, time.monotonic()
        self.lock = threading.Lock()

    def due_channels(self) -> list[str]:
        if time.monotonic() - self.started > self.budget_s or self.left <= 0:
            return []
        try:
            return claims.due_channels(self.sessions, self.clock())
        except SQLAlchemyError as err:
            log.warning("outbox: database unavailable (%s); delivery waits", err.__class__.__name__)
            return []

    def senders(self, name: str) -> list:
        """A rate-limited channel gets one sender (it counts its window); others `concurrency`."""
        channel = self.channels.get(name)
        if channel is not None and channel.rate is not None:
            return [self.rate_limited]
        return [self.lane] * (channel.concurrency if channel is not None else 1)

    def clock(self):
        """`now` moved on by the time the run has taken (tests pass a `now` of their own)."""
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    def take(self, n: int = 1) -> int:
        with self.lock:
            if time.monotonic() - self.started > self.budget_s:
                return 0
            n = min(n, self.left)
            self.left -= n
            return n

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n

    def claim(self, name: str, n: int = 1) -> list:
        channel = self.channels.get(name)
        timeout = channel.timeout_s if channel is not None else 0
        try:
            return claims.claim(self.sessions, name, self.holder, self.clock(),
                                timedelta(seconds=lease_s(timeout)), n)
        except SQLAlchemyError as err:
            log.warning("outbox: claiming on `%s` failed (%s); the next run tries again",
                        name, err.__class__.__name__)
            return []

    def lane(self, name: str, most: int | None = None) -> int:
        """One sender for channel `name`: claim a message, send it, write the result; again.
        Returns how many it handled."""
        channel, handled = self.channels.get(name), 0
        while (most is None or handled < most) and self.take():
            claimed = self.claim(name)
            if not claimed:
                with self.lock:
                    self.left += 1
                break
            self.deliver(claimed[0], channel, name)
            handled += 1
        return handled

    def deliver(self, claimed, channel, name) -> None:
        timeout = channel.timeout_s if channel is not None else 0
        try:
            if channel is None:
                raise ChannelError(f"channel `{name}` is not configured")
            channel.send(claimed.message_id, localized(
                claimed.payload, language_for(claimed.payload, channel, self.lang)))
        except ChannelError as err:
            reason = str(err)           # bound here: the lambda may run after `err` is gone
            outcome = self.write(lambda: claims.record_failed(
                self.sessions, claimed, reason, self.clock(), self.rng), timeout, claimed)
            if outcome:
                self.count(outcome)
        else:
            self.write(lambda: claims.record_sent(self.sessions, [claimed.id], utcnow()),
                       timeout, claimed)
            self.count("sent")

    def write(self, fn, timeout: float, claimed):
        try:
            return claims.persist(fn, timeout + 5, f"message {claimed.message_id}")
        except SQLAlchemyError as err:
            log.error("outbox: the result of message %s was not written (%s); it will be sent "
                      "again when its claim runs out", claimed.message_id, err.__class__.__name__)
            return None

    def rate_limited(self, name: str) -> int:
        """A channel with a rate limit: what fits its window goes out one by one, a burst
        beyond it as one digest, and what still does not fit waits for the next window."""
        channel = self.channels[name]
        allowed, per_s = channel.rate
        try:
            budget = allowed - claims.used_in_window(self.sessions, name,
                                                     self.clock() - timedelta(seconds=per_s))
            due = claims.count_due(self.sessions, name, self.clock())
        except SQLAlchemyError as err:
            log.warning("outbox: database unavailable (%s)", err.__class__.__name__)
            return 0
        if budget <= 0 or due == 0:
            return 0
        if due <= budget:
            return self.lane(name, most=due)
        return self.lane(name, most=budget - 1) + self.digest(channel, name)

    def digest(self, channel, name: str) -> int:
        n = self.take(self.left)
        rest = self.claim(name, n) if n else []
        if not rest:
            return 0
        digest_id = uuid.uuid4().hex
        lines = [localized(c.payload, self.lang) for c in rest]     # a group: the default
        payload = {"title": f"{len(rest)} 条预警汇总" if self.lang == "zh" else f"{len(rest)} alerts",
                   "text": "\n".join(f"- {p.get('title')}: {p.get('text')}" for p in lines),
                   "lang": self.lang}
        ids = [c.id for c in rest]
        try:
            channel.send(digest_id, payload)
        except ChannelError as err:
            reason = f"digest: {err}"
            self.write(lambda: claims.release(self.sessions, rest, reason,
                                              self.clock() + backoff(1, self.rng)),
                       channel.timeout_s, rest[0])
            return len(rest)
        self.write(lambda: claims.record_sent(self.sessions, ids, utcnow(), digest_id),
                   channel.timeout_s, rest[0])
        self.count("digested", len(rest))
        return len(rest)


def lease_s(timeout_s: float) -> float:
    """How long a claim lasts: the send's timeout, time to write the result after it (with
    retries on a lost connection), and a margin — then another dispatcher may send it."""
    return 2 * timeout_s + 10
