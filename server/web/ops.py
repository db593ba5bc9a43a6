"""The front door, liveness, metrics and the OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from sqlalchemy import text

from trimtab.server.auth import requires
from trimtab.server.domain.rulesets import active
from trimtab.server.web.api_models.ops import Front, Health
from trimtab.server.web.contract import Raw, contract

bp = Blueprint("ops", __name__)


@bp.get("/")
@requires("public")
@contract("The front door: a browser goes to the workbench; any other client is told where things are",
          answers={200: Front, 302: Raw(None, description="a browser (it prefers text/html): to /workbench/")})
def front():
    # `bash scripts/run.sh` prints this address: opened in a browser it should lead somewhere,
    # and to curl (Accept: */*) say what answers here.
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return redirect(url_for("workbench_pages.home"), 302)
    return jsonify({"name": "trimtab", "ruleset_version": active().version,
                    "workbench": url_for("workbench_pages.home"), "openapi": url_for("ops.openapi"),
                    "health": url_for("ops.healthz")})


@bp.get("/healthz")
@requires("public")
@contract("Liveness: the database answers; the rule set being served", answers={200: Health}, errors=(503,))
def healthz():
    with current_app.extensions["trimtab.engine"].connect() as conn:
        conn.execute(text("SELECT 1"))
    return jsonify({"status": "ok", "ruleset_version": active().version})


@bp.get("/metrics")
@requires("it")
@contract("Prometheus counters of every process of the deployment",
          answers={200: Raw("text/plain", {"type": "string"}, "the Prometheus text format")})
def metrics():
    """Prometheus text format, written by prometheus_client (server/web/metrics.py)."""
    from prometheus_client import CONTENT_TYPE_LATEST
    from trimtab.server.web.metrics import scrape
    return current_app.response_class(scrape(), content_type=CONTENT_TYPE_LATEST)


@bp.get("/openapi.json")
@requires("public")
@contract("This document", answers={200: Raw("application/json", {"type": "object"}, "an OpenAPI 3.1 document")})
def openapi():
    """The document built from the routes' contracts (server/web/openapi_build.py)."""
    from trimtab.server.web.openapi_build import document
    return jsonify(document(current_app))
