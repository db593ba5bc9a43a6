"""The schemathesis campaign (tests/test_schemathesis.py runs it in CI, scripts/campaign.sh
longer, tests/test_schemathesis_workbench.py over the workbench's operations): the served
OpenAPI and one signed operation per form, seeded and bounded, its figures and report."""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import schemathesis
from hypothesis.errors import Unsatisfiable
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from serverkit import CLIENT, ORG, SECRET, bearer, running_app
from trimtab.server.core.security import signature_header

ROOT = Path(__file__).resolve().parents[1]
CASES = int(os.environ.get("TRIMTAB_SCHEMATHESIS_CASES", "1000"))   # issue 17: >= 1,000 per database
SEED = int(os.environ.get("TRIMTAB_SCHEMATHESIS_SEED", "20261129"))
ADMIN_PERSON = {"id": "it.admin", "name": "系统管理员", "role": "headquarters", "grants": "admin"}
FORM_WEIGHT = 3          # a form's webhook gets this many times an ordinary operation's share
PROGRESS = 5000         # a progress line on stderr every this many cases
TOP_UP_MIN = 20          # cases asked of each unit in a top-up pass (the first is always a repeat)

C = schemathesis.checks
CHECKS = [C.not_a_server_error, C.status_code_conformance, C.content_type_conformance,
          C.response_schema_conformance, C.response_headers_conformance,
          C.negative_data_rejection, C.positive_data_acceptance]
# Failures of these titles are counted and reported but do not fail the run (see docs/testing.md,
# "Campaigns": the rejections the schema cannot express, e.g. a person missing from the org chart).
REPORTED_ONLY = {"Schema-valid request rejected"}


def campaign_document(client, headers) -> dict:
    """The served document, with an operation per form: POST /hooks/<form>, body = the form's
    schema (form_schemas/<form>.json, limits included), which is what the intake validates.
    GET /v1/forms/<form> adds the rules' bounds (`region_factor within ±15%` → 0.85–1.15) for
    form designers; the intake does not refuse outside them (docs/testing.md, "Campaigns")."""
    doc = client.get("/openapi.json").get_json()
    generic = doc["paths"]["/hooks/{form}"]["post"]
    # The signing hook supplies the X-Trimtab-* headers: generated (or mutated) ones would be
    # replaced, so a "negative" case would be a valid one.
    generic["parameters"] = [p for p in generic.get("parameters", []) if p.get("in") != "header"]
    for form in client.get("/v1/forms", headers=headers).get_json()["forms"]:
        name = form if isinstance(form, str) else form["name"]
        body = json.loads((ROOT / "form_schemas" / f"{name}.json").read_text(encoding="utf-8"))
        body.pop("$schema", None), body.pop("$id", None)
        op = copy.deepcopy(generic)
        op["parameters"] = []     # the form is in the path; the signature headers are the hook's
        op["operationId"] = f"hook_{name}"
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        doc["paths"][f"/hooks/{name}"] = {"post": op}
    return doc


def signed(case) -> dict:
    """The keyword arguments of `case.call` for a signed webhook: the body as bytes and the
    signature headers over them under a fresh delivery id."""
    if isinstance(case.body, NotSet):
        body = b""
    elif isinstance(case.body, (bytes, bytearray)):   # negative data: raw bytes
        body = bytes(case.body)
    else:
        body = json.dumps(case.body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    stamp, delivery = str(int(time.time())), uuid.uuid4().hex
    return {"data": body, "headers": {
        "X-Trimtab-Client": CLIENT, "X-Trimtab-Timestamp": stamp, "X-Trimtab-Delivery": delivery,
        "X-Trimtab-Signature": signature_header(SECRET, stamp, delivery, body),
        "Content-Type": case.media_type or "application/json"}}


def run_campaign(kind: str, tmp_path, cases: int = CASES, seed_: int = SEED) -> dict:
    """Run the campaign on a fresh database of `kind`; returns the figures."""
    org = {"people": ORG["people"] + [ADMIN_PERSON]}
    with running_app(kind, tmp_path, org, LANG="en") as (app, hooks):
        auth = bearer(app, ADMIN_PERSON["id"])
        schema = schemathesis.openapi.from_dict(campaign_document(hooks.client, auth))
        schema.app = app
        return _fuzz(schema, auth, cases, seed_)


def _fuzz(schema, auth, cases, seed_) -> dict:
    """Run until `cases` distinct cases ran. Each (operation, generation mode) is a unit with its
    weighted share of the cases still wanted (positive twice negative; a form's webhook
    FORM_WEIGHT times an ordinary operation). Hypothesis stops early where it runs out of
    distinct inputs (no parameters, nothing negative to generate): such a unit is done. The
    shortfall goes, in a further pass under the next seed, to the units that filled their share
    with new cases — until `cases` distinct cases ran or no unit gives more. The figures count
    what ran: `cases` every call made, `distinct` the different requests among them."""
    units = []
    for op in (r.ok() for r in schema.get_all_operations()):
        weight = FORM_WEIGHT if op.path.startswith("/hooks/") and "{" not in op.path else 1
        units += [(op, GenerationMode.POSITIVE, 2 * weight), (op, GenerationMode.NEGATIVE, weight)]
    figures = {"cases": 0, "distinct": 0, "seen": set(), "statuses": Counter(),
               "failures": Counter(), "examples": {}, "server_errors": 0, "seconds": 0.0,
               "passes": []}
    started, pass_seed = time.monotonic(), seed_
    while units and figures["distinct"] < cases:
        share = (cases - figures["distinct"]) / sum(w for _op, _mode, w in units)
        before, filled = (figures["cases"], figures["distinct"]), []
        for op, mode, weight in units:
            if pass_seed != seed_ and figures["distinct"] >= cases:
                break           # a top-up pass stops as soon as the shortfall is made good
            n = max(math.ceil(share * weight), 0 if pass_seed == seed_ else TOP_UP_MIN)
            ran, new = _run_operation(op, mode, n, auth, pass_seed, figures)
            if ran >= n and new:
                filled.append((op, mode, weight))
        figures["passes"].append((pass_seed, figures["cases"] - before[0],
                                  figures["distinct"] - before[1]))
        units, pass_seed = filled, pass_seed + 1
    figures["seconds"] = round(time.monotonic() - started, 1)
    del figures["seen"]
    return figures


def _fingerprint(op, case) -> bytes:
    """The request a case makes, less what the signing hook adds (timestamp, delivery id)."""
    parts = (op.label, case.media_type, sorted(case.path_parameters.items()),
             sorted((k.lower(), v) for k, v in case.headers.items()), sorted(case.cookies.items()),
             sorted(case.query.items()), case.body)
    return hashlib.blake2b(repr(parts).encode("utf-8", "surrogatepass"), digest_size=12).digest()


def _run_operation(op, mode, n, auth, seed_, figures) -> tuple[int, int]:
    """Up to `n` cases of `op` in `mode` under `seed_`; returns (cases run, new distinct ones)."""
    webhook = op.path.startswith("/hooks/")
    before = (figures["cases"], figures["distinct"])

    @seed(seed_)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def one(case):
        mark = _fingerprint(op, case)
        if mark not in figures["seen"]:
            figures["seen"].add(mark)
            figures["distinct"] += 1
        kwargs = signed(case) if webhook else {"headers": dict(auth)}
        figures["cases"] += 1
        if figures["cases"] % PROGRESS == 0:
            print(f"  … {figures['cases']} cases ({figures['distinct']} distinct), seed {seed_}, "
                  f"{op.label}, {figures['server_errors']} server errors", file=sys.stderr, flush=True)
        try:
            response = case.call(**kwargs)
        except Exception as exc:   # the app raised: a server error
            _record(figures, op, f"exception {type(exc).__name__}: {exc}"[:300], case, 500)
            figures["server_errors"] += 1
            return
        figures["statuses"][response.status_code] += 1
        if response.status_code >= 500:
            figures["server_errors"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))
        except (Exception, BaseExceptionGroup) as exc:   # a FailureGroup of the failed checks
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", None) or f"{type(failure).__name__}: {failure}"[:200]
                _record(figures, op, title, case, response.status_code, response.text[:200])

    if n:
        try:
            one()
        except Unsatisfiable:   # nothing negative to generate (no parameters, no body)
            pass
    return figures["cases"] - before[0], figures["distinct"] - before[1]


def _record(figures, op, title, case, status, text=""):
    key = f"{op.label}: {title}"
    figures["failures"][key] += 1
    if key not in figures["examples"]:
        figures["examples"][key] = {"status": status, "path": case.formatted_path,
                                    "query": case.query, "body": repr(case.body)[:300],
                                    "response": text}


def report(kind, figures) -> str:
    passes = ", ".join(f"seed {s}: {n} ({d} new)" for s, n, d in figures["passes"])
    lines = [f"{kind}: {figures['cases']} cases ({figures['distinct']} distinct) in "
             f"{figures['seconds']} s, {figures['server_errors']} server errors, "
             f"statuses {dict(sorted(figures['statuses'].items()))}", f"  passes: {passes}"]
    for key, count in figures["failures"].most_common():
        lines.append(f"  {count:6d} × {key}\n         e.g. {figures['examples'][key]}")
    return "\n".join(lines)
