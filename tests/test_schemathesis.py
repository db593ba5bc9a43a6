"""Schemathesis on the served OpenAPI and on signed webhooks, on SQLite and PostgreSQL (issue 13
part 6): every operation of /openapi.json, authenticated with a personal token of an admin person,
plus one operation per form (`/hooks/<form>`, its body the form's schema from /v1/forms/<form>),
each request signed (scheme v2) under a fresh delivery id. No server error, every response
documented, positive data accepted and negative data refused.

The CI run is seeded and bounded (TRIMTAB_SCHEMATHESIS_CASES, 1,000 distinct cases by default, per
database, topped up under further seeds where small operations run out of inputs);
scripts/campaign.sh runs the same campaign longer (docs/testing.md, "Campaigns", has its figures).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from schemathesiskit import CASES, REPORTED_ONLY, report, run_campaign


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_schemathesis_campaign(kind, tmp_path):
    figures = run_campaign(kind, tmp_path)
    print(report(kind, figures))
    assert figures["distinct"] >= CASES, report(kind, figures)
    assert figures["server_errors"] == 0, report(kind, figures)
    asserted = {k: n for k, n in figures["failures"].items()
                if k.split(": ", 1)[1] not in REPORTED_ONLY}
    assert not asserted, report(kind, figures)


if __name__ == "__main__":      # scripts/campaign.sh: the same campaign, longer
    import tempfile
    failed = False
    for kind in sys.argv[1:] or ["sqlite", "postgresql"]:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run_campaign(kind, Path(tmp))
        print(report(kind, figures), flush=True)
        asserted = [k for k in figures["failures"] if k.split(": ", 1)[1] not in REPORTED_ONLY]
        failed |= bool(figures["server_errors"] or asserted or figures["distinct"] < CASES)
    sys.exit(1 if failed else 0)
