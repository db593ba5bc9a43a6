"""Liveness, metrics and the OpenAPI document."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .rulesets import active

bp = Blueprint("ops", __name__)
OPENAPI = Path(__file__).with_name("openapi.json")


@bp.get("/healthz")
def healthz():
    with current_app.extensions["trimtab.engine"].connect() as conn:
        conn.execute(text("SELECT 1"))
    return jsonify({"status": "ok", "ruleset_version": active().version})


@bp.get("/metrics")
def metrics():
    lines = ["# TYPE trimtab_webhooks_total counter", "# TYPE trimtab_alerts_fired_total counter"]
    for (name, labels), value in sorted(current_app.extensions["trimtab.metrics"].counters.items()):
        label_text = ",".join(f'{k}="{v}"' for k, v in labels)
        lines.append(f"{name}{{{label_text}}} {value}")
    lines.append("# TYPE trimtab_rules gauge")
    lines.append(f"trimtab_rules {len(active().rules)}")
    return current_app.response_class("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")


@bp.get("/openapi.json")
def openapi():
    return jsonify(json.loads(OPENAPI.read_text(encoding="utf-8")))
