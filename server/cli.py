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
