"""Jobs on RQ.  Jobs take plain values (a database URL, a channels file), never live objects,
and are safe to run twice: delivery claims outbox rows, and a sent row is never sent again."""
from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache

log = logging.getLogger("trimtab.jobs")
QUEUE = "trimtab"


@lru_cache(maxsize=8)
def _sessions(database_url: str):
    from .db import make_engine, session_factory
    return session_factory(make_engine(database_url))


@lru_cache(maxsize=8)
def _channels(channels_path: str):
    from .channels import load_channels
    return load_channels(channels_path)[0]


_RULESETS: dict = {}       # rules path -> (file signature, rule set)


def _ruleset(rules_path: str):
    """The rule set at `rules_path`, loaded again only when one of its files changed (the
    sweeper asks every few seconds; parsing and compiling each time would be waste)."""
    from pathlib import Path

    from dsl.ruleset import default_schemas_dir

    from .rulesets import load_for
    files = sorted(Path(rules_path).rglob("*.rules")) + \
        sorted(default_schemas_dir(rules_path).glob("*.json"))
    signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    cached = _RULESETS.get(rules_path)
    if cached is None or cached[0] != signature:
        cached = _RULESETS[rules_path] = (signature, load_for(
            {"RULES_PATH": rules_path, "SCHEMAS_PATH": None, "RULES_REV": None}))
    return cached[1]


def dispatch_job(database_url: str, channels_path: str) -> dict:
    """Deliver the notifications that are due (an RQ job)."""
    from .outbox import dispatch_due
    return dispatch_due(_sessions(database_url), _channels(channels_path))


@lru_cache(maxsize=4)
def _queue(redis_url: str):
    """One queue (and connection pool) per Redis URL and process, not one per webhook."""
    from redis import Redis
    from rq import Queue
    return Queue(QUEUE, connection=Redis.from_url(redis_url, socket_timeout=2,
                                                  socket_connect_timeout=2))


def enqueue_dispatch(redis_url: str, database_url: str, channels_path: str) -> bool:
    """Ask a worker to deliver now.  If Redis is down the webhook still answers: the messages
    wait in the outbox and the worker's sweeper sends them when it can."""
    try:
        _queue(redis_url).enqueue(dispatch_job, database_url, channels_path, job_timeout=120)
        return True
    except Exception as err:                  # redis.exceptions.* and socket errors alike
        log.warning("could not enqueue delivery (%s); the outbox keeps the messages",
                    err.__class__.__name__)
        return False


def schedules_job(database_url: str, rules_path: str, channels_path: str, timezone: str,
                  lang: str = "zh") -> list:
    """Run the rule set's schedules that are due (reports and reminders into the outbox)."""
    from zoneinfo import ZoneInfo

    from .channels import load_channels
    from .schedules import run_due
    channels, routes = load_channels(channels_path)
    return run_due(_sessions(database_url), _ruleset(rules_path), ZoneInfo(timezone), routes,
                   lang=lang, channels=channels)


def run_worker(redis_url: str, database_url: str, channels_path: str, sweep_s: float = 5.0,
               burst: bool = False, rules_path: str | None = None, timezone: str = "Asia/Shanghai",
               lang: str = "zh") -> None:
    """An RQ worker on the trimtab queue, plus a sweeper that delivers what was queued while
    Redis or every worker was down (runs once per interval, not once per missed tick)."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Worker
    stop = threading.Event()

    def sweep():
        while not stop.wait(sweep_s):
            try:
                if rules_path:
                    schedules_job(database_url, rules_path, channels_path, timezone, lang)
                dispatch_job(database_url, channels_path)
            except Exception:
                log.exception("outbox sweep")
    if not burst:
        threading.Thread(target=sweep, name="trimtab-sweeper", daemon=True).start()
    try:
        delay = 1.0
        while True:
            try:
                Worker([QUEUE], connection=Redis.from_url(redis_url)).work(burst=burst)
                return                      # a burst finished, or a warm shutdown
            except RedisConnectionError as err:
                if burst:
                    raise
                # Redis is down (RQ itself rides out an outage once it is listening, not one
                # at start or at teardown): the sweeper keeps delivering from the outbox
                # meanwhile; try again with a growing pause.
                log.warning("Redis at %s unreachable (%s); retrying in %.0f s", redis_url, err, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
    finally:
        stop.set()
