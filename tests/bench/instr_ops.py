#!/usr/bin/env python3
"""Instructions per operation under callgrind: what a split from JSON bytes is made of.

The bench's split (5 regions × 3 scores, a 50/30/20 split rounded to 0.01 by the largest
remainder) is a few dozen of these operations; their counts give a floor under any pure-Python
way of doing it, before any glue:

    .venv/bin/python tests/bench/instr_ops.py          # runs itself under callgrind

Each row runs its operation 100 times in a loop over prepared operands and subtracts an empty
loop over the same operands, so the figure is the operation alone (the call and the
attribute or global lookups included).  The operands are the bench split's: scores of three
decimal places, 28-digit shares, counts of cents of seven to nine digits.
"""
from __future__ import annotations

import glob
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded
from pathlib import Path

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_dsl import gen_split  # noqa: E402

from trimtab.dsl.amounts import Amount  # noqa: E402

SCORE, SHARE, CENTS = Decimal("0.123"), Decimal("565077.8245622567718757289889"), 56507782
UNITS = SHARE.scaleb(2)
WIDE, WIDER = 5 * 3_000_000_000 * 500_000_000, 123_456_789_012_345_678_901
LIMITS = Context(prec=31, Emin=0, Emax=14, traps=[Rounded, Inexact, Clamped, Overflow])


def _ops() -> dict:
    """name → (function of the operands, operands)."""
    create, floats = LIMITS.create_decimal, msgspec.json.Decoder().decode
    decimals = msgspec.json.Decoder(float_hook=create).decode
    body = json.dumps(gen_split(random.Random(20261122))).encode()
    return {
        "msgspec: the bench split's body → plain floats": (lambda a, b: floats(a), (body, None)),
        "msgspec: the same body, fractions → Decimals (untyped)": (lambda a, b: decimals(a), (body, None)),
        "fraction text → Decimal (the decoder's create_decimal)": (lambda a, b: create(a), ("0.123", None)),
        "Decimal + Decimal (share + score × factor)": (lambda a, b: a + b, (SHARE, SHARE)),
        "Decimal × Decimal (28 digits × 3)": (lambda a, b: a * b, (SHARE, SCORE)),
        "Decimal ÷ Decimal (28 digits)": (lambda a, b: a / b, (SHARE, SCORE)),
        "Decimal.scaleb (to units of the step)": (lambda a, b: a.scaleb(b), (SHARE, 2)),
        "math.floor(Decimal)": (lambda a, b: math.floor(a), (UNITS, None)),
        "int − Decimal (the remainder)": (lambda a, b: a - b, (CENTS, UNITS)),
        "Amount from its digits": (lambda a, b: Amount(f"{a}{b}"), (CENTS, "E-2")),
        "Decimal.as_integer_ratio (a score, exactly)": (lambda a, b: a.as_integer_ratio(), (SCORE, None)),
        "int × int (2 limbs × 1)": (lambda a, b: a * b, (WIDE, 999)),
        "int + int (3 limbs)": (lambda a, b: a + b, (WIDER, WIDER)),
        "divmod(int, int) (3 limbs by 2)": (lambda a, b: divmod(a, b), (WIDER, WIDE)),
        "int + int (small)": (lambda a, b: a + b, (CENTS, 1)),
        "x.__class__ is int (a type check)": (lambda a, b: a.__class__ is int, (CENTS, None)),
    }


def _loop(fn, args: tuple, n: int = 100) -> None:
    a, b = args
    for _ in range(n):
        fn(a, b)


def _nothing(a, b) -> None:
    return None


def run() -> list[str]:
    names = []
    for name, (fn, args) in _ops().items():
        for f in (_nothing, fn):
            for _ in range(20):
                _loop(f, args)              # warm-up
            os.getppid()                    # callgrind dumps here (and after the phase)
            for _ in range(100):
                _loop(f, args)
            os.getppid()
        names.append(name)
    return names


def main() -> int:
    if sys.argv[1:] == ["--run"]:
        print(json.dumps(run()))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--dump-before=os_getppid",
             f"--callgrind-out-file={tmp}/cg.out", sys.executable, __file__, "--run"],
            env=dict(os.environ, PYTHONHASHSEED="0"), check=True, capture_output=True, text=True).stdout
        names = json.loads(out.strip().splitlines()[-1])
        counts = []
        for path in sorted(glob.glob(f"{tmp}/cg.out.*"), key=lambda p: int(p.rsplit(".", 1)[1])):
            text = Path(path).read_text()
            counts.append(int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1)))
    timed = counts[1::2]            # (empty loop, operation) pairs, 10,000 calls each
    for i, name in enumerate(names):
        print(f"{name:58} {(timed[2 * i + 1] - timed[2 * i]) / 10_000:8,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
