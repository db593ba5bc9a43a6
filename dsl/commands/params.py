"""trimtab params: a rule file's tunable numbers (dsl/parameters.py), listed for IT and the
editor, or one of them set in place (`--set ID=VALUE`) after the whole rule set is checked."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..diagnostics import RuleError
from .common import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, print_diagnostics


def cmd_params(args) -> int:
    from ..parameters import parameters, set_parameters
    from ..ruleset import default_schemas_dir, read_rule_files
    from ..schemas import load_schemas
    path = Path(args.path)
    if not path.is_file():
        print(f"trimtab params: {path} is not a rule file", file=sys.stderr)
        return EXIT_USAGE
    lang = args.lang or "en"
    try:
        schemas = load_schemas(Path(args.schemas) if args.schemas else default_schemas_dir(path))
        text = path.read_text(encoding="utf-8")
        if args.set:
            changes = dict(_assignment(a) for a in args.set)
            sources = read_rule_files(path.parent)
            new = set_parameters(text, changes, schemas, filename=str(path),
                                 sources=[(n, t) for n, t in sources if Path(n) != path])
            path.write_text(new, encoding="utf-8")
            text = new
        found = parameters(text, schemas, str(path))
    except RuleError as err:
        print_diagnostics(err, lang, args.json)
        return EXIT_ERRORS
    except ValueError as err:
        print(f"trimtab params: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.rule:
        found = [p for p in found if p.rule == args.rule or p.rule.split("@")[0] == args.rule]
    if args.json:
        print(json.dumps([p.to_json() for p in found], ensure_ascii=False, indent=2))
    else:
        for p in found:
            label = p.label_zh if lang == "zh" else p.label_en
            print(f"{p.line}:{p.column}\t{p.id}\t{p.text}\t{label}")
    return EXIT_OK


def _assignment(text: str) -> tuple[str, str]:
    ident, sep, value = text.partition("=")
    if not sep or not ident or not value:
        raise ValueError(f"--set wants ID=VALUE, found `{text}`")
    return ident.strip(), value.strip()


def add_params_command(sub, common) -> None:
    p = sub.add_parser("params", help="list a rule file's tunable numbers, or set one in place")
    common(p)
    p.add_argument("--rule", help="only this rule's parameters")
    p.add_argument("--json", action="store_true", help="print the parameters as JSON")
    p.add_argument("--set", action="append", metavar="ID=VALUE",
                   help="set a parameter (repeat for several, checked together) and rewrite the file")
    p.set_defaults(func=cmd_params)
