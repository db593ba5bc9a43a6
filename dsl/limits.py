"""The stated limits of a rule set: what the checker refuses, and what bounds a load.

A rule set that loads must evaluate in bounded time with numbers that fit the storage (the
server keeps NUMERIC(20,4) and JSON), and a load must end quickly even on a hostile file.
These constants are the one place the limits live; docs/language.md ("Limits") states them.
"""
from __future__ import annotations

import time
from decimal import Decimal

from .diagnostics import Diagnostic, RuleError

# ---- literals (checked by the checker, `check.number_out_of_range` and friends)
MAX_ABS = Decimal(10) ** 15          # every number, in its canonical unit: |x| < 10^15
MAX_DECIMALS = 6                     # digits after the decimal point, as written
MAX_COUNT = 10 ** 6                  # N in `at least N of`, `for every N`, windows, streaks,
                                     # `at most N changes per cycle`
MAX_DURATION_HOURS = 87_600          # 10 years of 365 days: schedule leads, cycles, `every N weeks`
MAX_RULES_PER_FORM = 256             # rules on one form: the server stores a submission's
                                     # decisions as one set, its ids a block of this many

# ---- size and time of a load (parse and compile)
MAX_DIGITS = 40                      # a digit run longer than this is refused before conversion
MAX_FILE_CHARS = 1_000_000           # one rule file
MAX_EXPR_DEPTH = 100                 # nesting of one expression
MAX_RULE_SOURCE = 100_000            # characters of generated code for one rule
LOAD_BUDGET_S = 20.0                 # wall time for parse + check + compile of one rule set


def decimals_written(text: str) -> int:
    """Digits after the point in the first number of `text` ('12.345%' → 3)."""
    import re
    m = re.search(r"\d+(?:\.(\d+))?", text)
    return len(m.group(1) or "") if m else 0


def number_ok(value) -> bool:
    return -MAX_ABS < value < MAX_ABS


def count_ok(n) -> bool:
    return 0 <= n <= MAX_COUNT


STAGE_WORDS = {"parsing": "解析", "checking": "检查", "compiling": "编译", "loading": "加载"}


class Budget:
    """The wall-time budget of one load; `spend(stage, file)` raises once it is spent.  Stages
    call it between files and between rules: each of those is bounded by the size limits."""

    def __init__(self, seconds: float | None = None):
        self.seconds = LOAD_BUDGET_S if seconds is None else seconds
        self.deadline = time.monotonic() + self.seconds

    def spend(self, stage: str, file: str = "<rules>") -> None:
        if time.monotonic() > self.deadline:
            raise RuleError([Diagnostic("load.over_budget", {
                "budget": f"{self.seconds:g}", "stage": stage,
                "stage_zh": STAGE_WORDS.get(stage, stage)}, file)])


def internal(err: BaseException, stage: str, file: str, line: int = 0, column: int = 0,
             source_line: str = "") -> Diagnostic:
    """An unexpected exception in a stage, as a located diagnostic (never a traceback)."""
    detail = f"{err.__class__.__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}"
    return Diagnostic("internal.error", {"stage": stage, "stage_zh": STAGE_WORDS.get(stage, stage),
                                         "detail": detail.rstrip(": ")}, file, line,
                      column if line else 0, source_line)
