#!/usr/bin/env bash
# The schemathesis campaign of tests/test_schemathesis.py, longer (issue 13 part 6): the served
# OpenAPI plus one signed webhook operation per form, on SQLite and PostgreSQL.
#   scripts/campaign.sh                 100,000 distinct cases per database, seed 20261129 (and the
#                                       next seeds while small operations run out of inputs)
#   CASES=10000 SEED=7 scripts/campaign.sh sqlite
# PostgreSQL: TRIMTAB_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test).
# Exits non-zero on any server error, a failed check that the CI run asserts, or fewer cases.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv test
export TRIMTAB_SCHEMATHESIS_CASES="${CASES:-100000}" TRIMTAB_SCHEMATHESIS_SEED="${SEED:-20261129}"
cd tests
exec nice -n 10 ../.venv/bin/python test_schemathesis.py "$@" 2> >(grep --line-buffered -v "CSRF check failed\|AUDIT_KEY is not set" >&2)
