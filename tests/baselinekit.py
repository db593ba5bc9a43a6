"""baseline() worked out the slow way, and an outcome to compare: the tests of the running sums
(test_baseline_sums.py, test_running_sums.py) hold the fast ways to it."""
from __future__ import annotations

from trimtab.dsl import runtime
from trimtab.dsl.periods import Gap


def one_by_one(history, name, kind, scale, rule, line, default=None):
    """baseline() as it was before the sums: every entry through read(), then their mean."""
    values = [runtime.read(e, name, kind, scale, rule, default)
              for e in history if e.__class__ is not Gap]
    if not values:
        raise runtime.NoHistory.of("eval.no_history", rule=rule, field=name)
    return runtime.average(values, rule, line)


def outcome(fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
    except Exception as err:        # RuleError, NoHistory, or an arithmetic error: the same both ways
        return ("raised", type(err).__name__, getattr(err, "code", None), str(err))
    return ("value", type(result).__name__, repr(result))      # repr: NaN is not equal to itself
