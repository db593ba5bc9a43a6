"""The seeds' scoring side through the server: the rating's dated weights, doubled points."""
from __future__ import annotations

import pytest

FINTECH = {"rep": "east.li", "behaviour_points": 50, "customer_points": 104.29,
           "contract_points": 109.2}


@pytest.fixture
def app_config():
    return {"LANG": "en"}


def by_rule(response) -> dict:
    return {d["rule"]: d for d in response.json["decisions"]}


def test_a_webhook_is_rated_with_the_weights_in_force_on_its_date(app, hooks):
    """Seed 000: contract value weighs 30% before the week-6 meeting, 50% from 2026-08-05."""
    r = hooks.post("performance_review", dict(FINTECH, date="2026-09-30"))
    assert r.status_code == 200, r.json
    rating = by_rule(r)["季度评级"]
    assert rating["value"] == "85.03"
    assert rating["explanation"] == "季度评级 = 85.03 (50×40% + 104.29×10% + 109.2×50%)"


def test_evaluate_as_of_a_date_before_the_change(client):
    r = client.post("/v1/evaluate", json={"form": "performance_review", "as_of": "2026-08-04",
                                          "facts": dict(FINTECH, date="2026-08-04")})
    assert r.status_code == 200, r.json
    assert by_rule(r)["季度评级"]["value"] == "84.05"


def test_orders_above_25wan_earn_double(hooks):
    orders = [{"order_id": "F-1", "amount": 180000}, {"order_id": "F-2", "amount": 260000}]
    r = hooks.post("deal_log", {"rep": "east.li", "month": "2026-08", "orders": orders}, lang="zh")
    assert r.status_code == 200, r.json
    award = by_rule(r)["突破奖"]
    assert award["value"] == 30 and award["explanation"].startswith("突破奖 = 30 分")
