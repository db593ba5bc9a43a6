"""The `trimtab` command.  Exit codes: 0 ok, 1 rule or data errors, 2 usage errors."""
from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path

from dsl.decision import plain
from dsl.diagnostics import DiagnosticError, EvalError, default_lang

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def _print_diagnostics(err: DiagnosticError, lang: str, as_json: bool = False):
    if as_json:
        print(json.dumps({"ok": False, "diagnostics": [d.to_json(lang) for d in err.diagnostics]},
                         ensure_ascii=False, indent=2))
    for d in err.diagnostics:
        print(d.format(lang), file=sys.stderr)
    n = len(err.diagnostics)
    print(f"{n} problem(s)" if lang == "en" else f"共 {n} 个问题", file=sys.stderr)


def _load(path, schemas, rev=None):
    """The rule set at PATH: from disk, or from git at `rev` (VersionError, DiagnosticError)."""
    if rev:
        from server.versions import load_revision
        return load_revision(path, rev, schemas)
    from dsl.ruleset import default_schemas_dir, load
    return load(path, schemas or default_schemas_dir(path))


def _load_or_report(args, rev=None):
    """The rule set, or None after printing why it could not be loaded."""
    from server.versions import VersionError
    rev = rev if rev is not None else getattr(args, "rev", None)
    try:
        ruleset = _load(args.path, args.schemas, rev)
        if "+dirty." in ruleset.version:
            print(f"note: {args.path} has uncommitted changes; loaded as version {ruleset.version}"
                  if args.lang == "en" else
                  f"提示：{args.path} 有未提交的修改；按版本 {ruleset.version} 加载", file=sys.stderr)
        return ruleset
    except VersionError as err:
        print(f"trimtab: {err}", file=sys.stderr)
    except DiagnosticError as err:
        if rev:
            print(f"revision {rev} does not load:", file=sys.stderr)
        _print_diagnostics(err, args.lang)
    except Exception as err:            # a bug of ours: a diagnostic with the path, no traceback
        _print_diagnostics(_internal(err, args.path), args.lang)
    return None


def _internal(err: Exception, path) -> DiagnosticError:
    from dsl.limits import internal
    return DiagnosticError([internal(err, "loading", str(path))])


def read_json(path: str):
    """JSON facts with exact decimals (no float ever enters a rule; NaN and Infinity, which
    Python's json would read, are refused)."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return _loads(text, path)


def _loads(text: str, where: str):
    """JSON within the server's limits (server.limits: depth, number size, text) — what a
    webhook would refuse, the CLI refuses too; ValueError naming the place."""
    from .errors import DomainError
    from .http import depth
    from . import limits
    try:
        value = json.loads(text, parse_float=Decimal, parse_int=limits.parse_int,
                           parse_constant=_not_a_number)
    except RecursionError:
        value = None
    if not depth(value):
        raise ValueError(f"{where}: the JSON is nested too deep")
    try:
        limits.check(value)
    except DomainError as err:
        raise ValueError(f"{where}: {err.path}: {err.message}") from None
    return value


def _not_a_number(constant: str):
    raise ValueError(f"{constant} is not a JSON number")


# ---------------------------------------------------------------------- commands
def cmd_check(args) -> int:
    if args.json:
        try:
            rs = _load(args.path, args.schemas, args.rev)
        except DiagnosticError as err:
            _print_diagnostics(err, args.lang, True)
            return EXIT_ERRORS
        except Exception as err:
            from server.versions import VersionError
            if not isinstance(err, VersionError):       # a bug of ours: never a traceback
                _print_diagnostics(_internal(err, args.path), args.lang, True)
                return EXIT_ERRORS
            print(f"trimtab: {err}", file=sys.stderr)
            return EXIT_ERRORS
    else:
        rs = _load_or_report(args)
        if rs is None:
            return EXIT_ERRORS
    if args.json:
        print(json.dumps({"ok": True, "rules": len(rs.rules), "schedules": len(rs.schedules),
                          "version": rs.version}, ensure_ascii=False))
    else:
        msg = (f"ok: {len(rs.rules)} rules, {len(rs.schedules)} schedules, forms {', '.join(rs.forms())}"
               if args.lang == "en" else
               f"通过：{len(rs.rules)} 条规则，{len(rs.schedules)} 个日程，表单 {', '.join(rs.forms())}")
        if args.rev:
            msg += f" (version {rs.version})" if args.lang == "en" else f"（版本 {rs.version}）"
        print(msg)
    return EXIT_OK


def cmd_fmt(args) -> int:
    from dsl.formatter import format_text
    path = Path(args.path)
    files = [path] if path.is_file() else sorted(path.rglob("*.rules"))
    if not files:
        print(f"no *.rules under {path}", file=sys.stderr)
        return EXIT_USAGE
    stale, errors = [], []
    for p in files:
        text = p.read_text(encoding="utf-8")
        try:
            out = format_text(text, args.lang_keywords, str(p))
        except DiagnosticError as err:
            errors.append(err)
            continue
        if args.check:
            if out != (text if text.endswith("\n") else text + "\n"):
                stale.append(p)
        elif args.write:
            if out != text:
                p.write_text(out, encoding="utf-8")
        else:
            sys.stdout.write(out)
    for err in errors:
        _print_diagnostics(err, args.lang)
    for p in stale:
        print(f"{p}: not formatted (run `trimtab fmt --write {p}`)", file=sys.stderr)
    return EXIT_ERRORS if errors or stale else EXIT_OK


def cmd_eval(args) -> int:
    rs = _load_or_report(args)
    if rs is None:
        return EXIT_ERRORS
    try:
        facts = read_json(args.facts)
        history = read_json(args.history) if args.history else []
    except (OSError, ValueError) as err:
        print(f"cannot read facts: {err}", file=sys.stderr)
        return EXIT_ERRORS
    try:
        decisions = rs.evaluate(args.form, facts, history, trace=True, as_of=args.as_of)
    except EvalError as err:
        print(err.message(args.lang), file=sys.stderr)
        return EXIT_ERRORS
    if args.rule:
        decisions = [d for d in decisions if d.rule == args.rule]
    failed = any(d.error is not None for d in decisions)
    if args.json:
        print(json.dumps({"version": rs.version, "form": args.form,
                          "decisions": [d.to_json(args.lang) for d in decisions]},
                         ensure_ascii=False, indent=2, default=str))
    else:
        for d in decisions:
            print(d.explain(args.lang))
    for d in decisions:
        if d.error is not None:
            print(d.error.message(args.lang), file=sys.stderr)
    return EXIT_ERRORS if failed else EXIT_OK


def cmd_test(args) -> int:
    """Run rule tests (rules/tests/*.yaml) and inline examples; report, optionally coverage."""
    from dsl.testing import Coverage, example_cases, run_case
    from server.rule_tests import TestFileError, find_test_files, load_test_file
    rs = _load_or_report(args)
    if rs is None:
        return EXIT_ERRORS
    cases = example_cases(rs)
    try:
        for path in find_test_files(Path(args.path)):
            cases += load_test_file(path, rs)
    except TestFileError as err:
        print(str(err), file=sys.stderr)
        return EXIT_ERRORS
    coverage = Coverage(rs)
    results = [run_case(rs, case, coverage, args.lang) for case in cases]
    failed = [r for r in results if not r.ok]
    report = coverage.report()
    if args.json:
        print(json.dumps({"passed": len(results) - len(failed), "failed": len(failed),
                          "failures": [_failure_json(r) for r in failed],
                          "coverage": report}, ensure_ascii=False, indent=2, default=str))
    else:
        for r in results:
            if r.ok and args.verbose:
                print(f"PASS {r.case.where} › {r.case.name}")
            elif not r.ok:
                _print_failure(r)
        if args.coverage:
            _print_coverage(report)
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    below = args.min_coverage is not None and report["rules"]["percent"] < args.min_coverage
    if below:
        print(f"rule coverage {report['rules']['percent']}% is below --min-coverage "
              f"{args.min_coverage}%", file=sys.stderr)
    return EXIT_ERRORS if failed or below else EXIT_OK


def _print_failure(r):
    print(f"FAIL {r.case.where} › {r.case.name}")
    if r.error:
        print(f"    {r.error}")
    for m in r.mismatches:
        print(f"    {m.rule}: expected {_show(m.expected)}, got {_show(m.actual)}")
        for line in m.explanation.splitlines():
            print(f"      {line}")


def _failure_json(r) -> dict:
    return {"name": r.case.name, "where": r.case.where, "error": r.error,
            "mismatches": [{"rule": m.rule, "expected": plain(m.expected), "actual": plain(m.actual),
                            "explanation": m.explanation} for m in r.mismatches]}


def _show(value) -> str:
    return json.dumps(plain(value), ensure_ascii=False, default=str)


def _print_coverage(report):
    for key, label in (("rules", "rules"), ("clauses", "clauses"), ("lines", "lines"),
                       ("conditions_both_ways", "conditions seen true and false")):
        c = report[key]
        print(f"coverage: {label:32} {c['hit']}/{c['total']} ({c['percent']}%)")
    for name in report["rules_not_run"]:
        print(f"  not run: {name}")
    for where in report["clauses_not_run"][:20]:
        print(f"  clause not reached: {where}")


def cmd_diff(args) -> int:
    """What changed between two revisions, in plain words."""
    from dsl.diff import diff
    old = _load_or_report(args, args.rev1)
    new = _load_or_report(args, args.rev2) if old is not None else None
    if old is None or new is None:
        return EXIT_ERRORS
    changes = diff(old, new)
    if args.json:
        print(json.dumps({"old_version": old.version, "new_version": new.version,
                          "changes": [c.to_json(args.lang) for c in changes]},
                         ensure_ascii=False, indent=2))
    else:
        print(f"{args.rev1} ({old.version[:12]}) → {args.rev2} ({new.version[:12]}): "
              f"{len(changes)} change(s)")
        for c in changes:
            print(f"  {c.words(args.lang)}")
    return EXIT_OK


def read_records(path: str):
    """Facts records from JSON Lines (one object a line) or a JSON array, exact decimals."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        records = _loads(text, path)
    else:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(_loads(line, f"line {number}"))
                except ValueError as err:
                    raise ValueError(f"{path}:{number}: {err}") from None
    if not isinstance(records, list) or any(not isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: expected JSON objects with `form` and `facts`")
    return records


class _Progress:
    """A one-line progress bar on stderr for long replays."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled and total >= 1000

    def __call__(self, done: int):
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(self.total, 1))
        end = "\n" if done >= self.total else ""
        print(f"\rreplaying [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,}",
              end=end, file=sys.stderr, flush=True)


def cmd_replay(args) -> int:
    """Recorded facts through two revisions: the decisions that change."""
    from dsl.replay import replay
    try:
        records = read_records(args.facts)
    except (OSError, ValueError) as err:
        print(f"cannot read facts: {err}", file=sys.stderr)
        return EXIT_ERRORS
    old = _load_or_report(args, args.rev1)
    new = _load_or_report(args, args.rev2) if old is not None else None
    if old is None or new is None:
        return EXIT_ERRORS
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    report = replay(old, new, records, examples=args.examples, group_by=args.group_by,
                    progress=_Progress(len(records), show),
                    progress_every=max(1, len(records) // 100))
    if args.json:
        print(json.dumps(report.to_json(old, new, args.lang), ensure_ascii=False, indent=2,
                         default=str))
        return EXIT_OK
    print(f"{args.rev1} ({old.version[:12]}) → {args.rev2} ({new.version[:12]})")
    print(f"{report.records:,} records, {report.decisions:,} decisions compared, "
          f"{report.changed:,} changed")
    for rule, n in report.by_rule.most_common():
        print(f"  {rule}: {n:,}")
    if report.by_group:
        print("by " + (args.group_by or "team/region") + ":")
        for group, n in report.by_group.most_common(20):
            print(f"  {group}: {n:,}")
    for (rule, a, b), n in report.by_transition.most_common(20):
        print(f"  {rule}: {a} → {b} × {n:,}")
    for skipped, n in report.skipped.items():
        print(f"skipped {n:,} record(s): {skipped}", file=sys.stderr)
    if report.errors:
        total = sum(report.errors.values())
        print(f"{total:,} decision(s) could not be evaluated:", file=sys.stderr)
        for (rule, code), n in report.errors.most_common(10):
            print(f"  {rule}: {code} × {n:,}", file=sys.stderr)
    for i, ex in enumerate(report.examples, 1):
        data = report.example_json(ex, old, new, args.lang)
        print(f"\nexample {i}: record {ex.index}, {ex.rule} ({ex.group}): {data['old']} → {data['new']}")
        for key, label in (("old_trace", args.rev1), ("new_trace", args.rev2)):
            print(f"  {label}:")
            for line in data.get(key, []):
                print(f"    {line}")
    return EXIT_OK


def cmd_demo(args) -> int:
    """Check the shipped rules, then evaluate every demo facts file beside them."""
    if cmd_check(args) != EXIT_OK:
        return EXIT_ERRORS
    rs = _load(args.path, args.schemas)
    demo_dir = Path(args.path) / "demo"
    status = EXIT_OK
    for facts_file in sorted(demo_dir.glob("*.json")):
        spec = read_json(str(facts_file))
        print(f"\n== {facts_file.name}: {spec['form']}")
        for d in rs.evaluate(spec["form"], spec["facts"], spec.get("history", []), trace=True):
            print(d.explain(args.lang))
            status = status or (EXIT_ERRORS if d.error else EXIT_OK)
    return status


# ---------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    def error(self, message):      # usage errors exit 2 with a one-line hint, no traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from . import cli_server as ops
    p = _Parser(prog="trimtab", description="Rules for sales targets, alerts, scores and approvals.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(sp, path_default="rules"):
        sp.add_argument("path", nargs="?", default=path_default, metavar="PATH",
                        help="a rule file or a directory of *.rules (default: rules)")
        sp.add_argument("--schemas", help="form schema directory (default: form_schemas beside PATH)")
        sp.add_argument("--lang", choices=("zh", "en"), default=None,
                        help="language of messages and traces (default: from the locale)")

    def revision(sp):
        sp.add_argument("--rev", metavar="REV",
                        help="load the rules from git at REV (commit, branch, tag; WORKTREE = "
                             "the files on disk, versioned by HEAD plus a content hash if dirty)")

    c = sub.add_parser("check", help="parse and check rule files against the form schemas")
    common(c)
    c.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    revision(c)
    c.set_defaults(func=cmd_check)

    f = sub.add_parser("fmt", help="print rule files in canonical layout")
    f.add_argument("path", nargs="?", default="rules", metavar="PATH")
    f.add_argument("--check", action="store_true", help="exit 1 if a file is not formatted")
    f.add_argument("--write", action="store_true", help="rewrite files in place")
    f.add_argument("--lang", dest="lang_keywords", choices=("zh", "en"), default=None,
                   help="keyword language (default: the file's own)")
    f.set_defaults(func=cmd_fmt, lang=None)

    e = sub.add_parser("eval", help="evaluate facts of one form and print decisions with traces")
    common(e)
    e.add_argument("--form", required=True, help="the form the facts belong to")
    e.add_argument("--facts", required=True, help="JSON file with one submission ('-' = stdin)")
    e.add_argument("--history", help="JSON list of earlier periods' facts, oldest first")
    e.add_argument("--rule", help="show only this rule's decision")
    e.add_argument("--as-of", dest="as_of", help="evaluate with the rules in force on this date")
    e.add_argument("--json", action="store_true", help="print decisions as JSON")
    revision(e)
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("test", help="run the rule tests (PATH/tests/*.yaml) and inline examples")
    common(t)
    t.add_argument("--coverage", action="store_true",
                   help="report which rules, clauses and lines the tests exercised")
    t.add_argument("--min-coverage", type=float, metavar="N",
                   help="exit 1 when fewer than N%% of the rules are exercised")
    t.add_argument("--json", action="store_true", help="print results and coverage as JSON")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    revision(t)
    t.set_defaults(func=cmd_test)

    df = sub.add_parser("diff", help="what changed between two revisions, in plain words")
    df.add_argument("rev1", metavar="REV1")
    df.add_argument("rev2", metavar="REV2", help="a revision, or WORKTREE")
    common(df)
    df.add_argument("--json", action="store_true", help="print the changes as JSON")
    df.set_defaults(func=cmd_diff)

    rp = sub.add_parser("replay", help="run recorded facts through two revisions; report what changes")
    rp.add_argument("rev1", metavar="REV1")
    rp.add_argument("rev2", metavar="REV2", help="a revision, or WORKTREE")
    common(rp)
    rp.add_argument("--facts", required=True,
                    help="JSON Lines (or a JSON array) of {form, facts[, history, as_of]}, in time order")
    rp.add_argument("--examples", type=int, default=5, metavar="N",
                    help="show the first N changed decisions with both traces (default 5)")
    rp.add_argument("--group-by", metavar="FIELD", help="count changes per this fact field "
                    "(default: team, else region, else the subject)")
    rp.add_argument("--json", action="store_true", help="print the report as JSON (for a PR comment)")
    rp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar on stderr (default: when stderr is a terminal)")
    rp.set_defaults(func=cmd_replay)

    b = sub.add_parser("build", help="write workflows/, form_schemas/derived/ and plugin_manifests/ from the rules")
    common(b)
    b.add_argument("--check", action="store_true", help="exit 1 when generated files are stale")
    b.set_defaults(func=ops.cmd_build, rev=None)

    sv = sub.add_parser("serve", help="serve the rules over HTTP (SQLite under ./var by default)")
    common(sv)
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.set_defaults(func=ops.cmd_serve)

    wk = sub.add_parser("worker", help="run an RQ worker delivering notifications (REDIS_URL)")
    common(wk)
    wk.add_argument("--burst", action="store_true", help="work off the queue, then exit")
    wk.add_argument("--sweep-s", type=float, default=5.0, metavar="S",
                    help="run due schedules and deliver what waits in the outbox every S seconds "
                         "(what was written while Redis was down); default 5")
    wk.set_defaults(func=ops.cmd_worker)

    im = sub.add_parser("import", help="import targets or history from Excel (DATABASE_URL)")
    im.add_argument("file", nargs="?", help="targets.xlsx or history.xlsx")
    im.add_argument("--rules", dest="path", default="rules", metavar="PATH",
                    help="the rule set whose forms the history rows are (default: rules)")
    im.add_argument("--schemas", help="form schema directory (default: form_schemas beside PATH)")
    im.add_argument("--lang", choices=("zh", "en"), default=None, help=argparse.SUPPRESS)
    im.add_argument("--kind", choices=["targets", "history"], help="default: from the file name")
    im.add_argument("--partial", action="store_true",
                    help="import the good rows and list the skipped ones (default: all or none)")
    im.add_argument("--template", metavar="DIR", help="write fresh templates into DIR instead")
    im.add_argument("--as", dest="actor", metavar="PERSON",
                    help="who imports (a person of the organisation chart; recorded with the "
                         "targets); default: the system user running the command")
    im.set_defaults(func=ops.cmd_import)

    mg = sub.add_parser("migrate", help="bring the database schema up to date (DATABASE_URL)")
    common(mg)
    mg.set_defaults(func=ops.cmd_migrate)

    se = sub.add_parser("send", help="sign and POST one form submission to a running server")
    se.add_argument("--form", required=True)
    se.add_argument("--facts", required=True, help="JSON file ('-' = stdin)")
    se.add_argument("--url", default="http://127.0.0.1:8000")
    se.add_argument("--client", help="client name (default: the first configured)")
    se.add_argument("--secret", help="its secret (default: TRIMTAB_CLIENTS or var/clients.json)")
    se.add_argument("--delivery", help="delivery id (default: a new one; repeat it to test retries)")
    se.add_argument("--lang", choices=("zh", "en"), default="zh")
    se.set_defaults(func=ops.cmd_send)

    from .cli_people import add_parser as add_people
    add_people(sub)
    from .cli_audit import add_parser as add_audit
    add_audit(sub, _Parser)

    d = sub.add_parser("demo", help="check the shipped rules and evaluate the demo facts")
    common(d)
    d.set_defaults(func=cmd_demo, json=False, rev=None)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "lang", None) is None:
        args.lang = default_lang()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
