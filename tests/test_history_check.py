"""History read from the database is validated as facts are (issue 13, part 5): a stored
payload that does not fit its form is left out (its period is a gap), with one log line."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from serverkit import Hooks, make_app, week
from trimtab.server.storage.models import Fact


def by_rule(response) -> dict:
    return {d["rule"]: d for d in response.json["decisions"]}


@pytest.mark.parametrize("bad", ["zero", -3, "1e999999"])
def test_a_stored_payload_that_does_not_fit_is_left_out(app, hooks, bad, caplog):
    assert hooks.post("weekly_metrics", dict(week(1, 5, 0.9), new_visit_records=0)).status_code == 200
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        fact = s.scalars(select(Fact)).one()
        text = fact.payload.replace('"new_visit_records": 0', f'"new_visit_records": {json.dumps(bad)}') \
            if bad != "1e999999" else fact.payload.replace('"new_visit_records": 0',
                                                            '"new_visit_records": 1e999999')
        assert text != fact.payload
        s.execute(update(Fact).where(Fact.id == fact.id).values(payload=text))
    # Read by a worker that did not store it (the one that did keeps the facts it decoded:
    # history.Cache.wrote) — as a payload stored by an older version or an import is.
    other = make_app(app.config["DATABASE_URL"])
    try:
        with caplog.at_level("WARNING", logger="trimtab.history"):
            r = Hooks(other.test_client()).post("weekly_metrics",
                                                dict(week(2, 5, 0.9), new_visit_records=0))
    finally:
        other.extensions["trimtab.engine"].dispose()
    assert r.status_code == 200, r.json
    silent = by_rule(r)["拜访静默"]
    assert "error" not in silent and silent["value"] is False     # last week is a gap now
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "trimtab.history"]
    assert len(lines) == 1 and "weekly_metrics" in lines[0] and "new_visit_records" in lines[0]
