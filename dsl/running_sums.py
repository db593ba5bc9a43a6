"""A field's running sums over a subject's history, kept from one evaluation to the next.

`baseline(x)` is the mean of x over every earlier period of the history (up to 60 of them on
the server).  Worked out afresh, that is a walk over the whole history on every webhook, and it
grows with the history.  Whoever keeps a subject's history (the server's cache,
server/domain/history.py) keeps a RunningSums beside it: the sum of each field baselines read
over the first k entries, for every k.  A baseline over entries [a, b) is then one subtraction,
and each entry is read once in its life instead of once per webhook (where the sums hold: below).

The answer must be the walk's to the last digit (explanations print it), so the sums are used
only where the two cannot differ:
- nothing rounds: every running sum stays below 10^27 units of the least exponent of any
  value summed, so each has at most 28 digits there — and so does any difference of two,
  and any sum the walk makes on its way (PRECISION below);
- the exponent is the walk's: the walk's sum of decimals has the least exponent of its own
  entries (and of the 0 it starts from), while a difference of running sums may carry a
  smaller one from earlier entries — so each entry's exponent is kept beside its sum and the
  difference is quantized to the window's least, which loses no digit; a window of ints is an
  int, as the walk's is;
- the values read without error (read() raises for an entry that does not fit: the walk says
  where).
Past the first value that breaks one of these, the sums stop, and a baseline reaching past them
walks as before (runtime.baseline).

Positions are absolute: entries cut from the front of the keeper's list move `base` on, so a
window taken before a cut still names the same entries.  An entry inserted or replaced inside
the list (a late submission for an earlier period, a correction of the latest) starts a new
`epoch`: the sums from it on are dropped, and a window taken before it is not answered from
the sums.  Threads: the keeper calls window(), cut() and changed() under its own lock (the
server's Cache._lock), so a window names a consistent position and epoch; the sums' own lock
orders changes against evaluations, which read the sums outside the keeper's lock.
"""
from __future__ import annotations

import threading
from decimal import ROUND_HALF_EVEN, Decimal, getcontext

from .diagnostics import RuleError

D = Decimal
_ONE = D(1)

ALL_INTS = 1 << 30      # an int's code: a window's least code is this when it holds only ints
# Nothing may round.  With every running sum below 10^(PRECISION − 1) units of the least
# exponent of any value summed (a field's `limit`), each difference of two, and each sum the
# walk makes on its way, has at most PRECISION digits there: exact.  PRECISION and ROUNDING
# are Python's defaults, which the rules run with; under others the sums are not used.
PRECISION, ROUNDING = 28, ROUND_HALF_EVEN
FINEST = -60            # a value with more decimals than this (no form has them) stops the sums


class _Field:
    """The running sums of one field (name, kind, scale, default): totals[k] is the sum of
    the entries at absolute positions first … first + k − 1; codes[k] says what the entry at
    first + k is: ALL_INTS for an int, else its exponent (0 at most: the walk starts from 0)."""

    __slots__ = ("first", "totals", "codes", "stopped", "least", "limit", "peak")

    def __init__(self, first: int):
        self.first = first
        self.totals: list = [0]
        self.codes: list[int] = []
        self.stopped = False        # the entry after the last total did not fit (see below)
        self.least, self.limit, self.peak = 0, _ONE.scaleb(PRECISION - 1), 0


class RunningSums:
    __slots__ = ("base", "epoch", "_fields", "_lock")

    def __init__(self):
        self.base = 0               # entries cut from the front of the keeper's list so far
        self.epoch = 0
        self._fields: dict = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------- the keeper's side
    def window(self, start: int) -> tuple:
        """What a history sliced from position `start` of the keeper's list carries (periods.Dated
        `kept`): the sums, the slice's absolute start and the epoch it was taken in."""
        return (self, self.base + start, self.epoch)

    def cut(self, n: int) -> None:
        """The keeper dropped its first `n` entries."""
        with self._lock:
            self.base += n
            for key, f in list(self._fields.items()):
                drop = self.base - f.first
                if drop <= 0:
                    continue
                if drop < len(f.totals):
                    del f.totals[:drop], f.codes[:drop]
                    f.first = self.base
                else:
                    del self._fields[key]

    def changed(self, at: int) -> None:
        """An entry was inserted or replaced at position `at` of the keeper's list: the sums
        from there on go (those before it still hold), and histories taken before it are not
        answered from the sums (their entries are not the list's any more)."""
        with self._lock:
            self.epoch += 1
            at += self.base
            for key, f in list(self._fields.items()):
                keep = at - f.first             # entries summed before `at`
                if keep < 0:
                    del self._fields[key]
                elif keep <= len(f.codes):      # from `at` on, or the entry that stopped them
                    del f.totals[keep + 1:], f.codes[keep:]
                    f.stopped = False

    # ---------------------------------------------------------------- the evaluation's side
    def total(self, key: tuple, entries, start: int, epoch: int, n: int, read, rule: str):
        """The sum of field `key` over the n (≥ 1) entries from absolute position `start`
        (`entries[0:n]` are they, as the evaluation holds them) as the walk adds them up, or
        None when the sums cannot give it.  `read(entry, name, kind, scale, rule, default)`:
        runtime.read."""
        context = getcontext()
        if context.prec != PRECISION or context.rounding != ROUNDING:
            return None
        with self._lock:
            if epoch != self.epoch:
                return None
            f = self._fields.get(key)
            if f is None or start < f.first or (start - f.first >= len(f.totals)):
                f = self._fields[key] = _Field(start)   # first use, or a hole: from here
            lo = start - f.first
            hi = lo + n
            if len(f.totals) - 1 < hi and not f.stopped:
                self._extend(f, key, entries, len(f.totals) - 1 - lo, n, read, rule)
            if len(f.totals) - 1 < hi:
                return None
            difference, least = f.totals[hi] - f.totals[lo], min(f.codes[lo:hi])
        if least == ALL_INTS:
            return int(difference)
        # The walk's sum has the least exponent of its own entries; the difference may carry a
        # smaller one from entries before them.  No digit is lost: the sum is a multiple of it.
        return Decimal(difference).quantize(_ONE.scaleb(least))

    @staticmethod
    def _extend(f: _Field, key: tuple, entries, frm: int, to: int, read, rule: str) -> None:
        name, kind, scale, default = key
        total, totals, codes = f.totals[-1], f.totals, f.codes
        least, limit, peak = f.least, f.limit, f.peak
        for entry in entries[frm:to]:
            try:
                value = read(entry, name, kind, scale, rule, default)
            except (RuleError, ArithmeticError, TypeError, ValueError):
                f.stopped = True
                break
            cls = value.__class__
            if cls is int:
                code = ALL_INTS
            elif cls is D and value.is_finite() and value.as_tuple().exponent >= FINEST:
                code = value.as_tuple().exponent
                if code < least:
                    least, limit = code, _ONE.scaleb(PRECISION - 1 + code)
                code = min(code, 0)
            else:
                f.stopped = True
                break
            total += value
            size = abs(total)
            if size > peak:
                peak = size
            if peak >= limit:
                f.stopped = True
                break
            totals.append(total)
            codes.append(code)
        f.least, f.limit, f.peak = least, limit, peak

