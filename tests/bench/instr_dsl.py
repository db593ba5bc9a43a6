#!/usr/bin/env python3
"""Instructions per decision under callgrind: the language bench's decisions, counted.

Wall-clock time on a shared machine moves by ±30%; callgrind's instruction counts do not.
This runs each implementation of bench_dsl.py's three decisions over the same facts, with a
dump of callgrind's counters between them (`--dump-before=os_getppid`: each os.getppid()
call closes a phase), and prints instructions per call, the loop included (as the bench's
timing includes it):

    bash: PYTHONHASHSEED=0 valgrind --tool=callgrind --dump-before=os_getppid \\
              --callgrind-out-file=/tmp/cg.%p .venv/bin/python tests/bench/instr_dsl.py --run \\
              --no-load-budget
    .venv/bin/python tests/bench/instr_dsl.py            # does the above and reads the dumps

Without valgrind (`--run` alone) it just runs the phases.  Under valgrind loading the bench's
rules takes longer than dsl/limits.LOAD_BUDGET_S (20 s) allows, so `--no-load-budget` lifts it
for this process (the second form passes it to its own run).
"""
from __future__ import annotations

import argparse
import functools
import glob
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_dsl as B  # noqa: E402

DECISIONS = ("scoring", "alert", "split")


def phases(n: int) -> list[tuple[str, object, list, bool]]:
    """(name, function, inputs, loop) for every decision and implementation, in the order
    run; the loop calls as the bench's loop for that row does."""
    rules = B.load(HERE / "rules", HERE / "forms")
    rng = random.Random(20261122)
    out = []
    for d in DECISIONS:
        raw = [B.GENERATORS[d](rng) for _ in range(n)]
        exact, valid = [B.as_decimal(f) for f in raw], B.decoded(d, rules, raw)
        compiled = rules.rule(d)
        out += [(f"{d} python-decimal", B.PYTHON[d], exact, loop),
                (f"{d} valid", compiled.decide, valid, loop_valid),
                (f"{d} checked", compiled.decide, exact, loop),
                (f"{d} valid+trace", compiled.evaluate, valid, loop_valid_trace),
                (f"{d} checked+trace", compiled.evaluate, exact, loop)]
        out += json_phases(d, compiled, rules, raw)
    return out


def json_phases(d: str, compiled, rules, raw: list) -> list:
    """From the same JSON bytes, as the bench's JSON rows: the decoder then decide on the
    valid path, the hand-written decimal Python after json.loads(parse_float=Decimal) (no
    validation), and zen-engine's expression VM given json.loads' floats (if installed)."""
    bodies = [json.dumps(f).encode() for f in raw]
    decode, decide = B.FactsDecoder(rules.schemas[B.FORMS[d]].raw).decode, compiled.decide
    hand, exact = B.PYTHON[d], functools.partial(json.loads, parse_float=Decimal)
    out = [(f"{d} json: decoder+decide", lambda b: decide(decode(b), (), True), bodies, loop),
           (f"{d} json: hand-written", lambda b: hand(exact(b)), bodies, loop)]
    try:
        import zen
    except ImportError:
        return out
    expression, loads = zen.compile_expression(B.ZEN_EXPR[d]).evaluate, json.loads
    return out + [(f"{d} json: zen", lambda b: expression(loads(b)), bodies, loop)]


def loop(fn, inputs) -> None:
    for f in inputs:
        fn(f)


def loop_valid(fn, inputs) -> None:
    for f in inputs:
        fn(f, (), True)


def loop_valid_trace(fn, inputs) -> None:
    for f in inputs:
        fn(f, (), True, True)


def lift_load_budget() -> None:
    """No wall-time budget for loading the bench's rules (callgrind runs them ~50× slower)."""
    from trimtab.dsl import limits
    limits.LOAD_BUDGET_S = math.inf


def run(n: int) -> list[str]:
    names = []
    for name, fn, inputs, calls in phases(n):
        calls(fn, inputs[: n // 10])        # warm-up: the interpreter specialises its bytecode
        os.getppid()                        # callgrind dumps here: setup and warm-up
        calls(fn, inputs)
        os.getppid()                        # … and here: this phase
        names.append(name)
    return names


def measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONHASHSEED="0")
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
             f"--callgrind-out-file={tmp}/cg.out", sys.executable, __file__, "--run", "--no-load-budget",
             "-n", str(n)],
            env=env, check=True, capture_output=True, text=True).stdout
        names = json.loads(out.strip().splitlines()[-1])
        counts = []
        for path in sorted(glob.glob(f"{tmp}/cg.out.*"), key=lambda p: int(p.rsplit(".", 1)[1])):
            text = Path(path).read_text()
            counts.append(int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1)))
    # Dumps: 1, 2 around the first phase's warm-up, then (phase, warm-up of the next) pairs.
    timed = counts[1::2]
    return {name: c / n for name, c in zip(names, timed)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="store_true", help="run the phases (under callgrind)")
    ap.add_argument("-n", type=int, default=6000, help="calls per phase (6,000)")
    ap.add_argument("--no-load-budget", action="store_true",
                    help="lift dsl/limits.LOAD_BUDGET_S for --run (given under callgrind)")
    args = ap.parse_args(argv)
    if args.no_load_budget:
        lift_load_budget()
    if args.run:
        print(json.dumps(run(args.n)))
        return 0
    per_call = measure(args.n)
    for d in DECISIONS:
        base = per_call[f"{d} python-decimal"]
        cells = "  ".join(f"{name.split(' ', 1)[1]} {v:,.0f} ({v / base:.2f}×)"
                          for name, v in per_call.items() if name.startswith(d + " ") and "json" not in name)
        print(f"{d:8} {cells}")
    for d in DECISIONS:
        ours, zen = per_call[f"{d} json: decoder+decide"], per_call.get(f"{d} json: zen")
        hand = per_call[f"{d} json: hand-written"]
        print(f"{d:8} from JSON bytes: decoder+decide {ours:,.0f}, hand-written {hand:,.0f}" +
              (f", zen {zen:,.0f} (zen ÷ trimtab {zen / ours:.2f}×)" if zen else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
