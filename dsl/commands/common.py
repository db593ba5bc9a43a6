"""What the language's commands share: loading a rule set (from disk or git) and reporting
why it did not load, reading facts as JSON within the value limits, printing diagnostics."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..catalogs import tr
from ..diagnostics import RuleError
from ..values import depth_ok, first_problem, loads_exact

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def print_diagnostics(err: RuleError, lang: str, as_json: bool = False):
    """Any stage's error, one way: `file:line:col: code: message` per diagnostic on stderr
    (in `lang`), and with `as_json` the same fields as JSON on stdout."""
    if as_json:
        print(json.dumps({"ok": False, "diagnostics": [d.to_json(lang) for d in err.diagnostics]},
                         ensure_ascii=False, indent=2))
    for d in err.diagnostics:
        print(d.format(lang), file=sys.stderr)
    n = len(err.diagnostics)
    print(tr(lang, "{n} problem(s)").format(n=n), file=sys.stderr)


def load_rules(path, schemas, rev=None):
    """The rule set at PATH: from disk, or from git at `rev` (RuleError when it does not load)."""
    if rev:
        from ..versions import load_revision
        return load_revision(path, rev, schemas)
    from ..ruleset import default_schemas_dir, load
    return load(path, schemas or default_schemas_dir(path))


def load_or_report(args, rev=None):
    """The rule set, or None after printing why it could not be loaded."""
    rev = rev if rev is not None else getattr(args, "rev", None)
    try:
        ruleset = load_rules(args.path, args.schemas, rev)
        if "+dirty." in ruleset.version:
            print(tr(args.lang, "note: {path} has uncommitted changes; loaded as version {version}")
                  .format(path=args.path, version=ruleset.version), file=sys.stderr)
        return ruleset
    except RuleError as err:
        if rev and not err.code.startswith("git."):
            print(tr(args.lang, "revision {rev} does not load:").format(rev=rev), file=sys.stderr)
        print_diagnostics(err, args.lang)
    except Exception as err:            # a bug of ours: a diagnostic with the path, no traceback
        print_diagnostics(internal_error(err, args.path), args.lang)
    return None


def internal_error(err: Exception, path) -> RuleError:
    from ..limits import internal
    return RuleError([internal(err, "loading", str(path))])


def read_json(path: str):
    """JSON facts with exact decimals (no float ever enters a rule; NaN and Infinity, which
    Python's json would read, are refused)."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return loads_limited(text, path)


def loads_limited(text: str, where: str):
    """JSON within the value limits (dsl/values.py: depth, number size, text) — what a
    webhook would refuse, the CLI refuses too; ValueError naming the place."""
    try:
        value = loads_exact(text)
    except RecursionError:
        value = None
    if not depth_ok(value):
        raise ValueError(f"{where}: the JSON is nested too deep")
    problem = first_problem(value)
    if problem is not None:
        raise ValueError(f"{where}: {problem.path}: {problem.message}")
    return value


def read_records(path: str):
    """Facts records from JSON Lines (one object a line) or a JSON array, exact decimals."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        records = loads_limited(text, path)
    else:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(loads_limited(line, f"line {number}"))
                except ValueError as err:
                    raise ValueError(f"{path}:{number}: {err}") from None
    if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: expected JSON objects with `form` and `facts`")
    return records
