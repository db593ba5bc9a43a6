#!/usr/bin/env bash
# Linters, as CI runs them: ruff over the code and the tests, mypy over the language (dsl/).
# Their settings are in pyproject.toml ([tool.ruff], [tool.mypy]).  Usage: bash scripts/lint.sh
# Runs both and fails (exit 1) when either finds something.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv test || exit 1

status=0
echo "ruff check dsl server tests"
.venv/bin/ruff check dsl server tests || status=1
echo "mypy dsl"
.venv/bin/mypy dsl || status=1
exit "$status"
