"""The `trimtab` command: the language's commands (dsl/commands/) and the server's.
Exit codes: 0 ok, 1 rule or data errors, 2 usage errors."""
from __future__ import annotations

import argparse
import sys

from trimtab.dsl.commands import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, Parser, add_commands, common  # noqa: F401
from trimtab.dsl.diagnostics import default_lang


def build_parser() -> argparse.ArgumentParser:
    from trimtab.server.cli import serve as ops
    p = Parser(prog="trimtab", description="Rules for sales targets, alerts, scores and approvals.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    add_commands(sub)

    b = sub.add_parser("build", help="write workflows/, form_schemas/derived/ and plugin_manifests/ from the rules")
    common(b)
    b.add_argument("--check", action="store_true", help="exit 1 when generated files are stale")
    b.set_defaults(func=ops.cmd_build, rev=None)

    sv = sub.add_parser("serve", help="serve the rules over HTTP (SQLite under ./var by default)")
    common(sv)
    sv.add_argument("--host", help="default: TRIMTAB_HOST, else 127.0.0.1")
    sv.add_argument("--port", type=int, help="default: TRIMTAB_PORT, else 8000")
    sv.set_defaults(func=ops.cmd_serve)

    wk = sub.add_parser("worker", help="run an RQ worker delivering notifications (REDIS_URL)")
    common(wk)
    wk.add_argument("--burst", action="store_true", help="work off the queue, then exit")
    wk.add_argument("--sweep-s", type=float, default=5.0, metavar="S",
                    help="run due schedules and deliver what waits in the outbox every S seconds "
                         "(what was written while Redis was down); default 5")
    wk.set_defaults(func=ops.cmd_worker)

    from trimtab.server.cli.importing import add_parser as add_import
    add_import(sub)

    mg = sub.add_parser("migrate", help="bring the database schema up to date (DATABASE_URL)")
    common(mg)
    mg.set_defaults(func=ops.cmd_migrate)

    se = sub.add_parser("send", help="sign and POST one form submission to a running server")
    se.add_argument("--form", required=True)
    se.add_argument("--facts", required=True, help="JSON file ('-' = stdin)")
    se.add_argument("--url", help="the server (default: TRIMTAB_HOST and TRIMTAB_PORT, as `serve` reads them)")
    se.add_argument("--client", help="client name (default: the first configured)")
    se.add_argument("--secret", help="its secret (default: TRIMTAB_CLIENTS or var/clients.json)")
    se.add_argument("--delivery", help="delivery id (default: a new one; repeat it to test retries)")
    se.add_argument("--lang", choices=("zh", "en"), default="zh")
    se.set_defaults(func=ops.cmd_send)

    oa = sub.add_parser("openapi", help="print the server's OpenAPI document, built from its routes' contracts")
    oa.set_defaults(func=cmd_openapi)

    from trimtab.server.cli.people import add_parser as add_people
    add_people(sub)
    from trimtab.server.cli.sync import add_parser as add_sync
    add_sync(sub)
    from trimtab.server.cli.audit import add_parser as add_audit
    add_audit(sub, Parser)

    return p


def cmd_openapi(args) -> int:
    """The server's OpenAPI document as this checkout builds it (a throwaway SQLite database)."""
    import json
    import tempfile

    from trimtab.server.app import create_app
    from trimtab.server.web.openapi_build import build
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/openapi.db", "AUDIT_KEY": "openapi"})
        doc = build(app)
        app.extensions["trimtab.engine"].dispose()
    json.dump(doc, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "lang", None) is None:
        args.lang = default_lang()
    from trimtab.server.config import ConfigError
    try:
        return args.func(args)
    except ConfigError as err:              # a setting it cannot start with: one line, named
        print(f"trimtab: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
