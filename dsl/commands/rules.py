"""trimtab check, fmt, eval and demo: a rule set checked, formatted, and run on facts."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..catalogs import tr
from ..diagnostics import RuleError
from .common import (EXIT_ERRORS, EXIT_OK, EXIT_USAGE, internal_error, load_or_report,
                     load_rules, print_diagnostics, read_json)


def cmd_check(args) -> int:
    if args.json:
        try:
            rs = load_rules(args.path, args.schemas, args.rev)
        except RuleError as err:
            print_diagnostics(err, args.lang, True)
            return EXIT_ERRORS
        except Exception as err:                        # a bug of ours: never a traceback
            print_diagnostics(internal_error(err, args.path), args.lang, True)
            return EXIT_ERRORS
    else:
        rs = load_or_report(args)
        if rs is None:
            return EXIT_ERRORS
    warnings = _org_warnings(rs, args)
    if warnings is None:
        return EXIT_ERRORS
    for w in warnings:
        print(w.format(args.lang), file=sys.stderr)
    if args.json:
        print(json.dumps({"ok": True, "rules": len(rs.rules), "schedules": len(rs.schedules),
                          "version": rs.version, "warnings": [w.to_json(args.lang) for w in warnings]},
                         ensure_ascii=False))
    else:
        msg = tr(args.lang, "ok: {rules} rules, {schedules} schedules, forms {forms}").format(
            rules=len(rs.rules), schedules=len(rs.schedules), forms=", ".join(rs.forms()))
        if args.rev:
            msg += tr(args.lang, " (version {version})").format(version=rs.version)
        print(msg)
    return EXIT_OK


def _org_warnings(rs, args) -> list | None:
    """Warnings for roles nobody in `--org` holds; None after reporting an unreadable file."""
    if not getattr(args, "org", None):
        return []
    from ..roles_held import roles_in_org_file, unheld_roles
    try:
        return unheld_roles(rs, roles_in_org_file(args.org))
    except RuleError as err:
        print_diagnostics(err, args.lang, args.json)
        return None


def cmd_fmt(args) -> int:
    from ..formatter import format_text
    path = Path(args.path)
    files = [path] if path.is_file() else sorted(path.rglob("*.rules"))
    if not files:
        print(f"no *.rules under {path}", file=sys.stderr)
        return EXIT_USAGE
    stale, errors = [], []
    names = name_spellings(path, files, args.schemas) if args.lang_keywords else {}
    for p in files:
        text = p.read_text(encoding="utf-8")
        try:
            out = format_text(text, args.lang_keywords, str(p), names.get(str(p)))
        except RuleError as err:
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
    for problem in errors:
        print_diagnostics(problem, args.lang)
    for p in stale:
        print(f"{p}: not formatted (run `trimtab fmt --write {p}`)", file=sys.stderr)
    return EXIT_ERRORS if errors or stale else EXIT_OK


def name_spellings(path: Path, files: list[Path], schemas_dir) -> dict:
    """Where each file names a field, form or role, with its id and label (names.py), read
    with the rule set around it (roles are declared in another file) and the form schemas;
    nothing when the schemas cannot be read: names are then written as they are."""
    from ..build_ast import build
    from ..names import resolve_names
    from ..parser import parse
    from ..ruleset import default_schemas_dir
    from ..schemas import load_schemas
    try:
        schemas = load_schemas(Path(schemas_dir) if schemas_dir else default_schemas_dir(path))
    except RuleError:
        return {}
    around = sorted(path.parent.glob("*.rules")) if path.is_file() else []
    parsed = []
    for p in dict.fromkeys([*files, *around]):
        text = p.read_text(encoding="utf-8")
        try:
            parsed.append(build(parse(text, str(p)), str(p), text))
        except RuleError:
            continue                    # said when the file itself is formatted
    return resolve_names(parsed, schemas, lambda *a, **k: None)[1]


def cmd_eval(args) -> int:
    rs = load_or_report(args)
    if rs is None:
        return EXIT_ERRORS
    try:
        facts = read_json(args.facts)
        history = read_json(args.history) if args.history else []
    except (OSError, ValueError) as err:
        print(f"cannot read facts: {err}", file=sys.stderr)
        return EXIT_ERRORS
    try:
        history = rs.given_history(args.form, history)
        decisions = rs.evaluate(args.form, facts, history, trace=True, as_of=args.as_of)
    except RuleError as err:
        print_diagnostics(err, args.lang, args.json)
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
            print(d.error.diagnostics[0].format(args.lang), file=sys.stderr)
    return EXIT_ERRORS if failed else EXIT_OK


def cmd_demo(args) -> int:
    """Check the shipped rules, then evaluate every demo facts file beside them."""
    if cmd_check(args) != EXIT_OK:
        return EXIT_ERRORS
    rs = load_rules(args.path, args.schemas)
    demo_dir = Path(args.path) / "demo"
    status = EXIT_OK
    for facts_file in sorted(demo_dir.glob("*.json")):
        spec = read_json(str(facts_file))
        print(f"\n== {facts_file.name}: {spec['form']}")
        for d in rs.evaluate(spec["form"], spec["facts"], spec.get("history", []), trace=True):
            print(d.explain(args.lang))
            status = status or (EXIT_ERRORS if d.error else EXIT_OK)
    return status
