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


def _load(path, schemas):
    from dsl.ruleset import default_schemas_dir, load
    return load(path, schemas or default_schemas_dir(path))


def read_json(path: str):
    """JSON facts with exact decimals (no float ever enters a rule)."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return json.loads(text, parse_float=Decimal)


# ---------------------------------------------------------------------- commands
def cmd_check(args) -> int:
    try:
        rs = _load(args.path, args.schemas)
    except DiagnosticError as err:
        _print_diagnostics(err, args.lang, args.json)
        return EXIT_ERRORS
    if args.json:
        print(json.dumps({"ok": True, "rules": len(rs.rules), "schedules": len(rs.schedules),
                          "version": rs.version}, ensure_ascii=False))
    else:
        msg = (f"ok: {len(rs.rules)} rules, {len(rs.schedules)} schedules, forms {', '.join(rs.forms())}"
               if args.lang == "en" else
               f"通过：{len(rs.rules)} 条规则，{len(rs.schedules)} 个日程，表单 {', '.join(rs.forms())}")
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
    try:
        rs = _load(args.path, args.schemas)
    except DiagnosticError as err:
        _print_diagnostics(err, args.lang)
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
    try:
        rs = _load(args.path, args.schemas)
    except DiagnosticError as err:
        _print_diagnostics(err, args.lang)
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
    p = _Parser(prog="trimtab", description="Rules for sales targets, alerts, scores and approvals.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(sp, path_default="rules"):
        sp.add_argument("path", nargs="?", default=path_default, metavar="PATH",
                        help="a rule file or a directory of *.rules (default: rules)")
        sp.add_argument("--schemas", help="form schema directory (default: form_schemas beside PATH)")
        sp.add_argument("--lang", choices=("zh", "en"), default=None,
                        help="language of messages and traces (default: from the locale)")

    c = sub.add_parser("check", help="parse and check rule files against the form schemas")
    common(c)
    c.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
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
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("test", help="run the rule tests (PATH/tests/*.yaml) and inline examples")
    common(t)
    t.add_argument("--coverage", action="store_true",
                   help="report which rules, clauses and lines the tests exercised")
    t.add_argument("--min-coverage", type=float, metavar="N",
                   help="exit 1 when fewer than N%% of the rules are exercised")
    t.add_argument("--json", action="store_true", help="print results and coverage as JSON")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    t.set_defaults(func=cmd_test)

    d = sub.add_parser("demo", help="check the shipped rules and evaluate the demo facts")
    common(d)
    d.set_defaults(func=cmd_demo, json=False)
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
