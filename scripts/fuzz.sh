#!/usr/bin/env bash
# The language fuzz campaign, longer than CI's (issue 13).  Usage:
#   bash scripts/fuzz.sh [SCALE] [SEED]
# SCALE multiplies CI's Hypothesis examples (default 10: about 115,000 inputs — shipped rules
# evaluated on schema-drawn facts and history, schedule occurrences, generated and mutated
# rule files).  SEED (default: random) makes a run repeatable; without it each run explores
# new inputs.  It prints inputs, the slowest input, the inputs over 1 s (an input whose first
# timing reaches 1 s is timed twice more and keeps its fastest: noise only adds time) and
# crashes per part; a crash or a slow input prints the input in full so it can become a case
# under tests/cases/.
# It uses one core: leave the other to whoever shares the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv test
export TRIMTAB_FUZZ_SCALE="${1:-10}"
export TRIMTAB_FUZZ_SEED="${2:-$RANDOM$RANDOM}"
echo "fuzz: scale $TRIMTAB_FUZZ_SCALE, seed $TRIMTAB_FUZZ_SEED ($(date -u +%Y-%m-%dT%H:%MZ))"
exec nice .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/test_fuzz.py
