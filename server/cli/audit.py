"""`trimtab audit verify` and `trimtab audit anchor`: the audit chain from the command line.
DATABASE_URL, TRIMTAB_AUDIT_KEY and TRIMTAB_AUDIT_ANCHORS from the environment, as the
other server commands; nothing is migrated or written to the database."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from trimtab.dsl.commands import EXIT_ERRORS, EXIT_OK


def _config():
    """The server configuration, or None (said on stderr) when there is no audit key: a key
    generated now would make every entry look edited."""
    from trimtab.server.config import from_env
    if not os.environ.get("TRIMTAB_AUDIT_KEY") and not Path("var/audit_key").exists():
        print("trimtab audit: no audit key (set TRIMTAB_AUDIT_KEY, or run where the server's "
              "var/audit_key is)", file=sys.stderr)
        return None
    return from_env(migrate=False)


def _with_sessions(config, work):
    """work(audit-bound sessions) on the configured database; None (said on stderr) when the
    database cannot be read or has no audit chain.  Never a traceback."""
    from sqlalchemy import inspect

    from trimtab.server.domain.audit import AuditSettings, bind
    from trimtab.server.storage.db import make_engine, session_factory
    engine = None
    try:
        engine = make_engine(config["DATABASE_URL"])
        if not inspect(engine).has_table("audit_head"):
            print(f"trimtab audit: {_where(config)} has no audit chain yet (run `trimtab migrate`)",
                  file=sys.stderr)
            return None
        return work(bind(session_factory(engine), AuditSettings.from_config(config)))
    except Exception as err:          # a database that is down or refuses us: say so, exit 1
        first = str(err).splitlines()[0] if str(err) else ""
        print(f"trimtab audit: cannot read {_where(config)}: {err.__class__.__name__}: {first}",
              file=sys.stderr)
        return None
    finally:
        if engine is not None:
            engine.dispose()


def _where(config) -> str:
    return config["DATABASE_URL"].split("@")[-1]


def cmd_verify(args) -> int:
    """Walk the chain, compare it with the anchors; OK and the count, or the first bad entry."""
    from trimtab.server.domain.audit_verify import verify
    config = _config()
    if config is None:
        return EXIT_ERRORS
    anchors = Path(args.anchors or config["AUDIT_ANCHOR_PATH"])

    def work(sessions):
        with sessions() as session:
            return verify(session, session.info["trimtab.audit"].key, anchors)
    report = _with_sessions(config, work)
    if report is None:
        return EXIT_ERRORS
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(report.message if report.ok else f"FAILED: {report.message}")
    return EXIT_OK if report.ok else EXIT_ERRORS


def cmd_anchor(args) -> int:
    """Write an anchor of the chain's head now (the daily anchor, for cron)."""
    from trimtab.server.domain.audit import anchor_now
    config = _config()
    if config is None:
        return EXIT_ERRORS
    line = _with_sessions(config, lambda sessions: anchor_now(sessions) or {})
    if line is None:
        return EXIT_ERRORS
    if not line:
        print("trimtab audit: the audit head row is missing (run `trimtab audit verify`)",
              file=sys.stderr)
        return EXIT_ERRORS
    print(json.dumps(line))
    print(f"anchored entry {line['id']} ({line['count']} entries) in {config['AUDIT_ANCHOR_PATH']}",
          file=sys.stderr)
    return EXIT_OK


def add_parser(sub, parser_class) -> None:
    au = sub.add_parser("audit", help="check the audit log's hash chain against its anchors "
                                      "(DATABASE_URL, TRIMTAB_AUDIT_KEY)")
    actions = au.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=parser_class)
    actions.required = True
    v = actions.add_parser("verify", help="walk the chain and compare it with the anchors; "
                                          "exit 1 naming the first entry edited, deleted, "
                                          "inserted or reordered")
    v.add_argument("--anchors", metavar="FILE",
                   help="the anchor file to compare with (default: TRIMTAB_AUDIT_ANCHORS or "
                        "var/audit_anchors.jsonl)")
    v.set_defaults(func=cmd_verify)
    a = actions.add_parser("anchor", help="write a signed anchor of the chain's head now")
    a.set_defaults(func=cmd_anchor)
