"""The Flask application factory: `create_app(config)`; nothing read at import time."""
from __future__ import annotations

import gc

import os

import logging
from zoneinfo import ZoneInfo

from flask import Flask

from trimtab.server.core import errors
from trimtab.server.storage.db import UnsupportedDatabase, make_engine, session_factory, upgrade

DEFAULTS = {
    "DATABASE_URL": "sqlite:///var/trimtab.db",
    "RULES_PATH": "rules",
    "SCHEMAS_PATH": None,
    "RULES_REV": None,            # None: the files on disk (git-versioned when in a repository)
    "RULES_CHECK_S": 0.25,        # how often a process looks for a new active rule set
    "CLIENTS": {},                # client name -> webhook secret
    "ADMIN_TOKEN": None,
    "TIMEZONE": "Asia/Shanghai",
    "SIGNATURE_TOLERANCE_S": 300,
    "SIGNATURE_V1_UNTIL": None,   # a date: signatures without the delivery id refused after it
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "LANG": "zh",
    "MIGRATE": True,              # upgrade the schema on start
    "CHANNELS_PATH": None,        # default: channels.yaml beside the rules
    "REDIS_URL": None,            # set: deliveries go to RQ workers (`trimtab worker`)
    "PLATFORMS": {},              # platform -> its secret (简道云 secret, 明道云 token, …)
    "PLUGIN_PATH": None,          # default: plugin_manifests/ beside the rules
    "MAPPINGS_PATH": None,        # the deployment's own field mappings, before the generated
    "SECRET_KEY": None,           # signs browser sessions; None: a new one per process
    "AUTH_FAILURE_LIMIT": "10/minute",   # failed sign-ins / tokens per client address
    "EVALUATE_LIMIT": "120/minute",      # dry runs (/v1/evaluate) per signed-in person
    "TRUSTED_PROXIES": 0,         # how many proxies' X-Forwarded-* headers to believe
    "OAUTH": {},                  # provider -> {client_id, client_secret, urls…} (web/oauth.py)
    "AUDIT_KEY": None,            # HMAC key of the audit chain; None: one for this process only
    "AUDIT_ANCHOR_PATH": None,    # append-only JSON lines of signed chain heads; None: log only
    "AUDIT_ANCHOR_URL": None,     # also POST each anchor there
    "METRICS_DIR": None,          # PROMETHEUS_MULTIPROC_DIR: counts of every process (metrics.py)
    "OAUTH_REDIRECT_BASE": None,  # callbacks are this + /auth/callback/<provider>; None: the request's host
    "APPROVAL_PLATFORMS": {},     # platform -> approvals there: instances, work notices (config.py)
    "PUBLIC_URL": None,           # the server as people reach it (links); None: OAUTH_REDIRECT_BASE
    "HOOK_LANE": True,            # POST /hooks/<form> beside Flask's request machinery (web/hook_lane.py)
}


def settle_heap() -> None:
    """For a process about to serve: collect once, then freeze what the app holds for its whole
    life — modules, compiled rules, the grammar, the schema, about 190,000 objects — so Python's
    full collections no longer walk them.  Each such walk took 90-100 ms of a worker's CPU,
    every request queued behind it waiting: the p99 of the first round of
    tests/bench/bench_server.py (docs/performance.md).  What requests allocate later is
    collected as before."""
    gc.collect()
    gc.freeze()


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    from trimtab.server.auth import SESSION_DEFAULTS
    app.config.update(DEFAULTS)
    app.config.update(SESSION_DEFAULTS)  # over Flask's own (a cookie named `session`, not Secure)
    app.config.update(config or {})
    app.config["TZ"] = ZoneInfo(app.config["TIMEZONE"])
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    if not app.config["AUDIT_KEY"]:
        import secrets
        logging.getLogger("trimtab.audit").warning(
            "AUDIT_KEY is not set: the audit chain is keyed for this process only")
        app.config["AUDIT_KEY"] = secrets.token_urlsafe(32)
    engine = make_engine(app.config["DATABASE_URL"])
    if app.config["MIGRATE"]:
        upgrade(engine, audit_key=app.config["AUDIT_KEY"])
    app.extensions["trimtab.engine"] = engine
    from trimtab.server.domain.audit import AuditSettings, bind
    app.extensions["trimtab.sessions"] = bind(session_factory(engine),
                                              AuditSettings.from_config(app.config))
    from trimtab.server.domain import submission
    submission.init_app(app)
    from trimtab.server.jobs.worker import enqueue_dispatch
    app.extensions["trimtab.enqueue_dispatch"] = enqueue_dispatch   # the domain asks for delivery through it
    from trimtab.server.web import metrics
    metrics.init_app(app)

    from pathlib import Path
    from trimtab.server.jobs.channels import load_channels
    channels_path = app.config["CHANNELS_PATH"] or Path(app.config["RULES_PATH"]) / "channels.yaml"
    app.config["CHANNELS_PATH"] = str(Path(channels_path).resolve())
    app.extensions["trimtab.channels"], app.extensions["trimtab.routes"] = load_channels(channels_path)
    from trimtab.server.jobs.platform_channels import platform_channels
    app.extensions["trimtab.channels"].update(platform_channels(app.config["APPROVAL_PLATFORMS"],
                                                                app.extensions["trimtab.sessions"]))

    from trimtab.server.plugin.convert import Mappings
    plugin_path = app.config["PLUGIN_PATH"] or Path(app.config["RULES_PATH"]).resolve().parent / "plugin_manifests"
    app.extensions["trimtab.mappings"] = Mappings(app.config["MAPPINGS_PATH"], Path(plugin_path) / "mappings")

    from trimtab.server.domain.rulesets import init_app as init_rules
    init_rules(app)
    errors.init_app(app, unsupported_database=UnsupportedDatabase)
    from trimtab.server.web import http
    http.init_app(app)
    if app.config.get("CHECK_RESPONSES", os.environ.get("TRIMTAB_CHECK_RESPONSES") == "1"):
        from trimtab.server.web import response_check
        response_check.init_app(app)          # before any blueprint: routes use its `<id:…>` converter
    from trimtab.server import auth
    auth.init_app(app)
    from trimtab.server.web import oauth  # adds the DingTalk and Feishu routes to the blueprint
    from trimtab.server.web.sign_in import bp as sign_in_bp
    oauth.init_app(app)
    app.register_blueprint(sign_in_bp)
    from trimtab.server.web import hook_lane
    hook_lane.init_app(app)                     # webhooks beside Flask's request machinery
    from trimtab.server.core.access_log import AccessLog
    app.wsgi_app = AccessLog(app.wsgi_app)      # inside ProxyFix: it logs the real client
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from trimtab.server.web.intake import bp as hooks_bp
    from trimtab.server.web.api import bp as api_bp
    from trimtab.server.web.ops import bp as ops_bp
    from trimtab.server.web.targets import bp as targets_bp
    from trimtab.server.web.dashboards import bp as dashboards_bp
    from trimtab.server.web.meetings import bp as meetings_bp
    from trimtab.server.plugin.routes import bp as platforms_bp
    from trimtab.server.web.approvals import bp as approvals_bp
    from trimtab.server.web.workflows import bp as workflows_bp
    from trimtab.server.plugin.approval_events import bp as approval_events_bp
    app.register_blueprint(approvals_bp)
    app.register_blueprint(targets_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(hooks_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(platforms_bp)
    app.register_blueprint(approval_events_bp)
    app.register_blueprint(workflows_bp)
    from trimtab.server.web.workbench import bp as workbench_bp
    from trimtab.server.web.reviews import bp as reviews_bp
    app.register_blueprint(workbench_bp)
    app.register_blueprint(reviews_bp)
    from trimtab.server.web.workbench_editor import bp as workbench_editor_bp
    from trimtab.server.web.workbench_parts import bp as workbench_pages_bp
    app.register_blueprint(workbench_editor_bp)
    app.register_blueprint(workbench_pages_bp)
    return app

