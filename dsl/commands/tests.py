"""trimtab test: the rule tests (PATH/tests/*.yaml) and inline examples, with coverage."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..catalogs import tr
from ..decision import plain
from ..diagnostics import RuleError
from .common import EXIT_ERRORS, EXIT_OK, load_or_report, print_diagnostics


def cmd_test(args) -> int:
    """Run rule tests (rules/tests/*.yaml) and inline examples; report, optionally coverage."""
    from ..testing import Coverage, example_cases, run_case
    from ..rule_tests import find_test_files, load_test_file
    rs = load_or_report(args)
    if rs is None:
        return EXIT_ERRORS
    cases = example_cases(rs)
    try:
        for path in find_test_files(Path(args.path)):
            cases += load_test_file(path, rs)
    except RuleError as err:
        print_diagnostics(err, args.lang, args.json)
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
                print(tr(args.lang, "PASS {where} › {name}").format(where=r.case.where, name=r.case.name))
            elif not r.ok:
                _print_failure(r, args.lang)
        if args.coverage:
            _print_coverage(report, args.lang)
        print(tr(args.lang, "{passed} passed, {failed} failed").format(passed=len(results) - len(failed),
                                                                         failed=len(failed)))
    below = args.min_coverage is not None and report["rules"]["percent"] < args.min_coverage
    if below:
        print(tr(args.lang, "rule coverage {percent}% is below --min-coverage {minimum}%").format(
            percent=report["rules"]["percent"], minimum=args.min_coverage), file=sys.stderr)
    return EXIT_ERRORS if failed or below else EXIT_OK


def _print_failure(r, lang: str):
    print(tr(lang, "FAIL {where} › {name}").format(where=r.case.where, name=r.case.name))
    if r.error:
        print(f"    {r.error}")
    for m in r.mismatches:
        print("    " + tr(lang, "{rule}: expected {expected}, got {actual}").format(
            rule=m.rule, expected=_show(m.expected), actual=_show(m.actual)))
        for line in m.explanation.splitlines():
            print(f"      {line}")


def _failure_json(r) -> dict:
    return {"name": r.case.name, "where": r.case.where, "error": r.error,
            "mismatches": [{"rule": m.rule, "expected": plain(m.expected), "actual": plain(m.actual),
                            "explanation": m.explanation} for m in r.mismatches]}


def _show(value) -> str:
    return json.dumps(plain(value), ensure_ascii=False, default=str)


def _print_coverage(report, lang: str):
    for key, label in (("rules", tr(lang, "rules")), ("clauses", tr(lang, "clauses")), ("lines", tr(lang, "lines")),
                       ("conditions_both_ways", tr(lang, "conditions seen true and false"))):
        c = report[key]
        print(tr(lang, "coverage: {label:32} {hit}/{total} ({percent}%)").format(
            label=label, hit=c["hit"], total=c["total"], percent=c["percent"]))
    for name in report["rules_not_run"]:
        print("  " + tr(lang, "not run: {name}").format(name=name))
    for where in report["clauses_not_run"][:20]:
        print("  " + tr(lang, "clause not reached: {where}").format(where=where))
