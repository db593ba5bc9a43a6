"""POST /hooks/<form>: a signed form submission → decisions (server/domain/submission.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, request

from trimtab.server.auth import requires
from trimtab.server.core.errors import request_lang
from trimtab.server.domain.rulesets import active
from trimtab.server.web.api_models.intake import Submitted
from trimtab.server.web.contract import Raw, contract
from trimtab.server.web.submitting import SIGNED, SUBMISSION_ERRORS, answer_hook, response_of

bp = Blueprint("hooks", __name__)

# What the body may hold, as the OpenAPI document tells it.
FACTS = ("the form's JSON Schema (GET /v1/forms/{form}); its limits: numbers within "
         "±999,999,999,999,999, money at most 4 decimal places (x-decimals), texts within maxLength, "
         "periods matching their pattern; percent fields (x-unit: percent) take fractions (0.75 is 75%) "
         "or texts like \"75%\", read as 0.75; a bare number outside the field's minimum/maximum (70 for "
         "pipeline_coverage) is 422 eval.percent_not_fraction with a hint")


@bp.post("/hooks/<form>")
@requires("webhook")
@contract("A signed form submission: store it, evaluate every rule on the form with the subject's history, "
          "return the decisions",
          body=Raw("application/json", {"type": "object", "description": FACTS}),
          answers={200: Submitted}, errors=SUBMISSION_ERRORS, parameters=SIGNED,
          headers={"X-Trimtab-Replayed": "true when this is the earlier answer to the same delivery"},
          description="The body is validated against the form's own schema (one per form: "
                      "GET /v1/forms/{form}), read in one pass from the bytes; a retry under the same "
                      "X-Trimtab-Delivery answers as the first delivery did, byte for byte.")
def hook(form: str):
    answer = answer_hook(current_app, active(), form, request.headers,
                         request.get_data(cache=False), request_lang())
    return response_of(answer)
