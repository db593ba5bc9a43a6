"""`trimtab import`: targets or history from an Excel workbook (server/plugin/excel.py).

Every problem named by sheet, row, column and header; all rows or none (`--partial`: the good
ones); `--dry-run` checks everything and writes nothing, listing what would be imported.  A
long import shows its progress: a bar on a terminal, a plain line every PROGRESS_EVERY rows
otherwise (a log, a CI job).
"""
from __future__ import annotations

import sys
from pathlib import Path

from trimtab.dsl.commands.common import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from trimtab.dsl.commands.common import load_or_report as _load_or_report
from trimtab.server.cli.serve import _server_config
from trimtab.server.messages import msg

SHOWN_ROWS = 20                     # rows a dry run lists before saying how many more
BAR_WIDTH = 30


def add_parser(sub) -> None:
    im = sub.add_parser("import", help="import targets or history from Excel (DATABASE_URL)")
    im.add_argument("file", nargs="?", help="targets.xlsx or history.xlsx")
    im.add_argument("--rules", dest="path", default="rules", metavar="PATH",
                    help="the rule set whose forms the rows are (default: rules)")
    im.add_argument("--schemas", help="form schema directory (default: form_schemas beside PATH)")
    im.add_argument("--lang", choices=("zh", "en"), default=None, help="the language of the problems")
    im.add_argument("--kind", choices=["targets", "history"], help="default: from the file name")
    im.add_argument("--partial", action="store_true",
                    help="import the good rows and list the skipped ones (default: all or none)")
    im.add_argument("--dry-run", action="store_true",
                    help="check every row and write nothing; list what would be imported")
    im.add_argument("--template", metavar="DIR", help="write fresh templates into DIR instead")
    im.add_argument("--as", dest="actor", metavar="PERSON",
                    help="who imports (a person of the organisation chart; recorded with the "
                         "targets); default: the system user running the command")
    im.set_defaults(func=cmd_import)


# What `trimtab import` imports, as its lines name it.
IMPORT_KINDS = {"targets": msg("targets"), "history": msg("history")}


def _importer(session, person_id: str | None, lang: str) -> str | None:
    """Who imports: a person of the chart (`--as`), else `os:<user>`; None after saying why."""
    import getpass

    from trimtab.server.storage.models import Person
    if person_id is None:
        return f"os:{getpass.getuser()}"
    if session.get(Person, person_id) is None:
        print(msg("trimtab import: --as {id}: not in the organisation chart", id=person_id).render(lang),
              file=sys.stderr)
        return None
    return person_id


def progress_printer(stream, lang: str):
    """progress(done, total): a bar redrawn in place on a terminal, else a line per report."""
    tty = stream.isatty()

    def progress(done: int, total: int) -> None:
        if tty:
            filled = BAR_WIDTH * done // max(total, 1)
            stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}"
                         + ("\n" if done == total else ""))
        else:
            stream.write(msg("checked {done}/{total} rows", done=done, total=total).render(lang) + "\n")
        stream.flush()
    return progress


def cmd_import(args) -> int:
    """Targets or history from an Excel workbook; every bad row named; all rows or none."""
    from trimtab.server.plugin.excel import write_templates
    rs = _load_or_report(args)
    if rs is None:
        return EXIT_ERRORS
    if args.template:
        for path in write_templates(args.template, rs):
            print(msg("wrote {path}", path=path).render(args.lang))
        return EXIT_OK
    if not args.file:
        print(msg("trimtab import: give a workbook (or --template DIR)").render(args.lang), file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.file)
    kind = args.kind or ("targets" if path.stem.lower().startswith("target") else
                         "history" if path.stem.lower().startswith("history") else None)
    if kind is None:
        print(msg("trimtab import: is {file} targets or history? say --kind", file=path.name).render(args.lang),
              file=sys.stderr)
        return EXIT_USAGE
    try:
        data = path.read_bytes()
    except OSError as err:
        print(f"{path}: {err.strerror}", file=sys.stderr)
        return EXIT_ERRORS
    return _import(args, rs, path, kind, data)


def _import(args, rs, path: Path, kind: str, data: bytes) -> int:
    from zoneinfo import ZoneInfo

    from trimtab.server.domain.audit import AuditSettings, bind
    from trimtab.server.plugin.excel import ImportRefused, import_history, import_targets, problem_text
    from trimtab.server.storage.db import make_engine, session_factory, upgrade
    config = _server_config(args, migrate=False)
    engine = make_engine(config["DATABASE_URL"])
    upgrade(engine, audit_key=config["AUDIT_KEY"])
    sessions = bind(session_factory(engine), AuditSettings.from_config(config))
    progress = progress_printer(sys.stderr, args.lang)
    try:
        with sessions() as session, session.begin():
            actor = _importer(session, args.actor, args.lang)
            if actor is None:
                return EXIT_USAGE
            report = import_targets(session, rs, data, args.partial, actor, progress, args.dry_run) \
                if kind == "targets" else \
                import_history(session, rs, data, ZoneInfo(config["TIMEZONE"]), args.partial, progress,
                               args.dry_run)
            if args.dry_run:
                session.rollback()              # nothing of a dry run is kept, whatever it touched
    except ImportRefused as refused:
        for p in refused.problems:
            print(f"{path.name} {problem_text(p, args.lang)}", file=sys.stderr)
        _more(refused.more, args.lang)
        print(msg("{count} bad row(s); nothing imported (--partial imports the good rows)",
                  count=len(refused.problems) + refused.more).render(args.lang), file=sys.stderr)
        return EXIT_ERRORS
    finally:
        engine.dispose()
    for p in report["skipped"]:
        print(f"skipped {path.name} {problem_text(p, args.lang)}", file=sys.stderr)
    _more(report["more"], args.lang)
    if args.dry_run:
        return _tell_dry_run(report, kind, path, args.lang)
    done = msg("imported {count} {kind} row(s) from {file}", count=report["imported"], kind=IMPORT_KINDS[kind],
               file=path.name)
    if report["skipped"]:
        done = msg("{done}; skipped {count}", done=done, count=len(report["skipped"]) + report["more"])
    print(done.render(args.lang))
    return EXIT_OK


def _more(count: int, lang: str) -> None:
    if count:
        print(msg("… and {count} more problem(s)", count=count).render(lang), file=sys.stderr)


def _tell_dry_run(report: dict, kind: str, path: Path, lang: str) -> int:
    for row in report["rows"][:SHOWN_ROWS]:
        what = f"{row['rep']} {row['metric']} = {row['value']}" if kind == "targets" else \
            f"{row['form']} {row['subject']} {row['period']}"
        print(msg("would import {sheet}!{row}: {what}", sheet=row["sheet"], row=row["row"], what=what).render(lang))
    if len(report["rows"]) > SHOWN_ROWS:
        print(msg("… and {count} more row(s)", count=len(report["rows"]) - SHOWN_ROWS).render(lang))
    print(msg("dry run: {count} row(s) from {file} would be imported; nothing was written",
              count=report["imported"], file=path.name).render(lang))
    return EXIT_OK
