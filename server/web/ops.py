"""Liveness, metrics and the OpenAPI document."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from trimtab.server.auth import requires
from trimtab.server.domain.rulesets import active

bp = Blueprint("ops", __name__)
OPENAPI = Path(__file__).with_name("openapi.json")


@bp.get("/healthz")
@requires("public")
def healthz():
    with current_app.extensions["trimtab.engine"].connect() as conn:
        conn.execute(text("SELECT 1"))
    return jsonify({"status": "ok", "ruleset_version": active().version})


@bp.get("/metrics")
@requires("it")
def metrics():
    """Prometheus text format, written by prometheus_client (server/web/metrics.py)."""
    from prometheus_client import CONTENT_TYPE_LATEST
    from trimtab.server.web.metrics import scrape
    return current_app.response_class(scrape(), content_type=CONTENT_TYPE_LATEST)


SECURITY = {"public": [], "webhook": [{"webhookSignature": []}],
            "person": [{"bearerToken": []}, {"sessionCookie": []}]}
SECURITY["it"] = SECURITY["admin"] = SECURITY["hrbp"] = SECURITY["workbench"] = SECURITY["person"]
WHO = {"public": "anyone", "webhook": "a platform, by its signature",
       "person": "anyone signed in; lists show only what the caller's role and scope allow",
       "hrbp": "an HRBP (or admin)", "workbench": "an HRBP, IT or admin",
       "it": "IT or admin", "admin": "admin"}


@bp.get("/openapi.json")
@requires("public")
def openapi():
    """The document, with each operation's security and `x-access` taken from the route's
    own declaration (`@requires`), so the two cannot drift apart."""
    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    for rule in current_app.url_map.iter_rules():
        need = getattr(current_app.view_functions[rule.endpoint], "access", None)
        path = rule.rule.replace("<id:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = doc["paths"].get(path, {}).get(method.lower())
            if op is not None and need is not None:
                op["security"], op["x-access"] = SECURITY[need], WHO[need]
                if need not in ("public", "webhook"):
                    op.setdefault("responses", {}).setdefault("401", {"$ref": "#/components/responses/Error"})
    return jsonify(doc)
