"""What one load of a rule set's version leaves for the next one in the same process.

A reload usually changes one file of many.  Every gunicorn worker loads the new set when it sees
the new version, all of them at once, while still answering requests: on a 2-core machine the
load's CPU is what decides how soon the last worker answers with the new set.  So a load of a
version (from git or the files on disk; never a draft's) keeps the files it parsed (keyed by
path and text) and the code it compiled (keyed by the generated source) for the next load,
which then parses and compiles only what changed.

Both are safe to share: no stage writes into the parsed nodes after the builder (what the
checker learns lives in each set's own Annotations), and each rule gets its own copy of a
shared code object (functions._own_copy).  Both are bounded by what they hold (below); the
loaded sets themselves (versions.py, why.py) by their number.

A process forked while another of its threads held a cache's lock (the job worker forks a
job while its sweeper loads) would keep that lock held for ever: every cache gets a new lock
in the child.
"""
from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict

# Parsed nodes take about 36 bytes per character of ordinary rule text (tracemalloc, the shipped
# rules: 13,506 characters, 491 KB) and up to about 150 for dense expressions: 200,000
# characters of files are 7–30 MB, fifteen times the shipped set.  A file larger than the
# whole is never kept.  Each entry counts its path and a fixed cost too, so empty files are
# no free ride.
KEEP_PARSED_CHARS = 200_000
KEEP_COMPILED_CHARS = 1_000_000     # of generated source: the shipped set's is 53,421
ENTRY_COST = 64


def entry_size(name: str, text: str) -> int:
    return ENTRY_COST + len(name) + len(text)


_ALL: weakref.WeakSet = weakref.WeakSet()


class Kept:
    """A least-recently-used map from a key to what was built from it, holding at most `limit`
    in the sizes given (characters here, loaded sets in versions.py)."""

    def __init__(self, limit: int):
        self.limit, self.held = limit, 0          # the sizes of what is kept, summed
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        _ALL.add(self)

    def get(self, key):
        """What was kept for `key`, or None."""
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, key, value, size: int = 1) -> None:
        """Keep `value` for `key`, counted as `size` against the limit."""
        if size > self.limit:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = (size, value)
            self.held += size
            while self.held > self.limit:
                _, (dropped, _) = self.items.popitem(last=False)
                self.held -= dropped

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.held = 0


def _new_locks_in_the_child() -> None:
    for kept in list(_ALL):
        kept.lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_locks_in_the_child)


PARSED = Kept(KEEP_PARSED_CHARS)            # (path, text) -> RuleFile
COMPILED = Kept(KEEP_COMPILED_CHARS)        # generated source -> code object


class CodeCache:
    """The code cache one load hands to compile_rule (`get`, `[src] = code`): backed by the
    process's COMPILED, and counting the distinct shapes this load used (RuleSet.shapes)."""

    def __init__(self):
        self.shapes: set = set()

    def get(self, src: str):
        self.shapes.add(src)
        return COMPILED.get(src)

    def __setitem__(self, src: str, code) -> None:
        COMPILED.put(src, code, ENTRY_COST + len(src))

    def __len__(self) -> int:
        return len(self.shapes)
