"""Counters for `/metrics`, kept by prometheus_client.

One process (`trimtab serve`, a test's app) counts in memory.  Under gunicorn every worker is a
process of its own: with PROMETHEUS_MULTIPROC_DIR set, prometheus_client writes each process's
counts to files in that directory and `/metrics` sums them at every scrape, so whichever worker
answers shows the deployment's totals (its multiprocess mode).  prometheus_client reads the
variable when it is imported: it must be in the environment before the server starts —
`server/gunicorn_conf.py` sets it for gunicorn (`var/metrics` by default) and empties the
directory when the master starts; `trimtab serve` empties it too.

What is counted: every answer by route, method and status (2xx, 4xx, 5xx alike); form
submissions by form and status; alerts fired by rule; histories the workers read whole, not
holding them, and let go (server/domain/history.py).  Read at each scrape: the rule set this
process serves, and the outbox's messages by status (sent, pending, dead… — the deliveries of
every process, from the database that records them).
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app, request

UNMATCHED = "-"             # a path no route matched: one label, not one per path tried


class Metrics:
    def __init__(self, multiproc_dir: str | None = None):
        from prometheus_client import CollectorRegistry, Counter
        if multiproc_dir is not None:
            _check_multiprocess(multiproc_dir)
        self.dir = multiproc_dir
        self.registry = CollectorRegistry()         # this app's own: tests make many apps
        self.requests = Counter("trimtab_http_requests", "HTTP answers by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.webhooks = Counter("trimtab_webhooks", "Form submissions by form and status",
                                ["form", "status"], registry=self.registry)
        self.alerts = Counter("trimtab_alerts_fired", "Alerts fired, by rule", ["rule"],
                              registry=self.registry)
        self.history_whole_reads = Counter(
            "trimtab_history_whole_reads", "Webhooks whose subject's history a worker read whole "
            "from the database, not holding it: its first of the subject, or a history that does "
            "not fit TRIMTAB_HISTORY_CACHE_ENTRIES", registry=self.registry)
        self.history_evictions = Counter(
            "trimtab_history_evictions", "Subjects' histories a worker's cache let go to stay within "
            "TRIMTAB_HISTORY_CACHE_ENTRIES", registry=self.registry)
        # Each label combination's counters, found once: `labels()` takes a lock and checks
        # its arguments on every call (about 15,000 instructions per answer).  Never cleared:
        # prometheus_client keeps a child per combination for good anyway.
        self._answered: dict[tuple, tuple] = {}
        self._fired: dict[str, object] = {}

    def answered(self, route: str, method: str, status: int, form: str | None = None) -> None:
        key = (route, method, status, form)
        counters = self._answered.get(key)
        if counters is None:
            counters = self._answered[key] = (
                self.requests.labels(route, method, str(status)),
                None if form is None else self.webhooks.labels(form, str(status)))
        counters[0].inc()
        if counters[1] is not None:
            counters[1].inc()

    def fired(self, rule: str) -> None:
        counter = self._fired.get(rule)
        if counter is None:
            counter = self._fired[rule] = self.alerts.labels(rule)
        counter.inc()

    def exposition(self, *collectors) -> bytes:
        """The text format: the counters (this process's, or all processes' in the directory),
        then what `collectors` read now."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        if self.dir is None:
            counted = self.registry
        else:
            counted = CollectorRegistry()
            multiprocess.MultiProcessCollector(counted, path=self.dir)
        now = CollectorRegistry()
        for collector in collectors:
            now.register(collector)
        return generate_latest(counted) + generate_latest(now)


def _check_multiprocess(directory: str) -> None:
    from prometheus_client import values
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") != directory or \
            values.ValueClass is values.MutexValue:
        raise RuntimeError("PROMETHEUS_MULTIPROC_DIR must be in the environment before the server "
                           "starts (server/gunicorn_conf.py sets it for gunicorn)")
    Path(directory).mkdir(parents=True, exist_ok=True)


def clean(directory: str) -> None:
    """Empty a deployment's metrics directory: at the start of the master process, before any
    worker writes (counts of processes from an earlier run would be added in)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for f in path.glob("*.db"):
        f.unlink()


class RuleSetCollector:
    """The rule set this process serves: `trimtab_rules{version}` is its number of rules."""

    def __init__(self, ruleset):
        self.ruleset = ruleset

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        family = GaugeMetricFamily("trimtab_rules", "Rules in the rule set this process serves",
                                   labels=["version"])
        family.add_metric([self.ruleset.version], len(self.ruleset.rules))
        yield family


class OutboxCollector:
    """Messages in the outbox by status, as the database has them now."""

    def __init__(self, sessions):
        self.sessions = sessions

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, select

        from trimtab.server.storage.models import OutboxMessage
        with self.sessions() as session:
            rows = session.execute(select(OutboxMessage.status, func.count())
                                   .group_by(OutboxMessage.status)).all()
        family = GaugeMetricFamily("trimtab_outbox_messages",
                                   "Notifications in the outbox by status (sent: delivered)",
                                   labels=["status"])
        for status, n in sorted(rows):
            family.add_metric([status], n)
        yield family


def init_app(app: Flask) -> None:
    metrics = app.extensions["trimtab.metrics"] = Metrics(app.config.get("METRICS_DIR"))
    cache = app.extensions.get("trimtab.history")
    if cache is not None:
        cache.on_evict, cache.on_whole_read = metrics.history_evictions.inc, metrics.history_whole_reads.inc

    @app.after_request
    def _count(response):
        req = request._get_current_object()     # one proxy lookup, not six
        rule = req.url_rule
        view = app.view_functions.get(rule.endpoint) if rule is not None else None
        form = None
        if getattr(view, "access", None) == "webhook":      # a known form, never any name sent
            from trimtab.server.domain.rulesets import active
            named = (req.view_args or {}).get("form")
            form = named if named in active().schemas else UNMATCHED
        metrics.answered(rule.rule if rule is not None else UNMATCHED, req.method,
                         response.status_code, form)
        return response


def scrape() -> bytes:
    from trimtab.server.domain.rulesets import active
    metrics = current_app.extensions["trimtab.metrics"]
    return metrics.exposition(RuleSetCollector(active()),
                              OutboxCollector(current_app.extensions["trimtab.sessions"]))
