"""`trimtab` commands that run or feed the server: serve, worker, migrate, send, build,
import.  The parser and the rule-language commands are in cli.py."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from trimtab.dsl.diagnostics import RuleError

from trimtab.dsl.commands.common import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from trimtab.dsl.commands.common import load_or_report as _load_or_report
from trimtab.dsl.commands.common import print_diagnostics as _print_diagnostics


def _server_config(args, migrate=True):
    from trimtab.server.config import from_env
    env = dict(os.environ)
    if args.path != "rules":
        env["TRIMTAB_RULES"] = args.path
    return from_env(env, migrate=migrate)


def cmd_migrate(args) -> int:
    """Bring the database schema to the newest migration."""
    from trimtab.server.storage.db import make_engine, upgrade
    config = _server_config(args, migrate=False)
    try:
        upgrade(make_engine(config["DATABASE_URL"]), audit_key=config["AUDIT_KEY"])
    except Exception as err:          # a database that is down or refuses us: say so, exit 1
        print(f"cannot migrate {config['DATABASE_URL'].split('@')[-1]}: {err.__class__.__name__}: "
              f"{str(err).splitlines()[0] if str(err) else ''}", file=sys.stderr)
        return EXIT_ERRORS
    print("database schema is up to date")
    return EXIT_OK


def cmd_serve(args) -> int:
    """Serve the rules over HTTP (development server; see docs/server.md for gunicorn)."""
    from trimtab.server.app import create_app, settle_heap
    config = _server_config(args)
    if config["METRICS_DIR"]:
        from trimtab.server.web.metrics import clean
        clean(config["METRICS_DIR"])        # counts of an earlier run are not this one's
    try:
        app = create_app(config)
    except RuleError as err:
        _print_diagnostics(err, args.lang)
        return EXIT_ERRORS
    except Exception as err:
        print(f"cannot start: {err.__class__.__name__}: {err}", file=sys.stderr)
        return EXIT_ERRORS
    settle_heap()
    host, port = args.host or config["HOST"], args.port or config["PORT"]
    version = app.extensions["trimtab.rules"].current.version
    print(f"trimtab serving rules {version[:12]} on http://{host}:{port}", file=sys.stderr)
    print(f"  database: {config['DATABASE_URL'].split('@')[-1]}", file=sys.stderr)
    print(f"  webhook clients: {', '.join(config['CLIENTS'])} (secrets in var/clients.json "
          f"or TRIMTAB_CLIENTS); admin token in var/admin_token or TRIMTAB_ADMIN_TOKEN",
          file=sys.stderr)
    from trimtab.server.domain.audit import start_daily_anchor
    start_daily_anchor(app.extensions["trimtab.sessions"])
    from trimtab.server.jobs.dispatcher import start_dispatcher
    if app.extensions["trimtab.channels"] and not config.get("REDIS_URL"):
        start_dispatcher(app)           # in-process delivery (no Redis needed)
        print(f"  notifications: {', '.join(app.extensions['trimtab.channels'])}", file=sys.stderr)
    from werkzeug.serving import run_simple
    from trimtab.server.core.gate import share_the_gil_often
    share_the_gil_often()
    from trimtab.server.core.access_log import configure, configure_events
    configure_events()
    if config["ACCESS_LOG"]:
        configure()
    run_simple(host, port, app, threaded=True, use_reloader=False)
    return EXIT_OK


def cmd_send(args) -> int:
    """Sign and POST one form submission to a running server (what a platform does)."""
    import time
    import uuid

    import requests

    from trimtab.server.config import from_env, server_url
    from trimtab.server.core.security import signature_header
    config = from_env(migrate=False)
    clients = config["CLIENTS"] if not args.secret else {args.client: args.secret}
    args.url = args.url or server_url(config)
    client = args.client or next(iter(clients))
    secret = clients.get(client)
    if secret is None:
        print(f"no secret for client `{client}` (TRIMTAB_CLIENTS, var/clients.json or --secret)",
              file=sys.stderr)
        return EXIT_USAGE
    body = Path(args.facts).read_bytes() if args.facts != "-" else sys.stdin.buffer.read()
    stamp, delivery = str(int(time.time())), args.delivery or uuid.uuid4().hex
    headers = {"Content-Type": "application/json", "X-Trimtab-Client": client,
               "X-Trimtab-Timestamp": stamp,
               "X-Trimtab-Signature": signature_header(secret, stamp, delivery, body),
               "X-Trimtab-Delivery": delivery, "Accept-Language": args.lang}
    try:
        r = requests.post(f"{args.url.rstrip('/')}/hooks/{args.form}", data=body, headers=headers,
                          timeout=30)
    except requests.RequestException as err:
        print(f"cannot reach {args.url}: {err}", file=sys.stderr)
        return EXIT_ERRORS
    print(json.dumps(r.json(), ensure_ascii=False, indent=2) if r.content else r.status_code)
    return EXIT_OK if r.ok else EXIT_ERRORS


def build_outputs(rs, root: Path) -> dict[Path, str]:
    """Every generated file and its content: workflows/, form_schemas/derived/ and the
    plugin's manifests and field mappings under plugin_manifests/."""
    from trimtab.dsl.derive import derived_form, workflows
    from trimtab.server.plugin.manifest import plugin_outputs
    from trimtab.server.plugin.workflow_export import platform_workflows
    out = {path: _json_text(doc) for path, doc in plugin_outputs(rs, root).items()}
    for wf in workflows(rs):
        out[root / "workflows" / f"{wf['kind']}-{wf['name']}.json"] = _json_text(wf)
    for (platform, name), doc in platform_workflows(rs).items():
        out[root / "workflows" / platform / f"approval-{name}.json"] = _json_text(doc)
    for form in sorted(rs.schemas):
        out[root / "form_schemas" / "derived" / f"{form}.json"] = _json_text(derived_form(rs, form))
    return out


def _json_text(doc) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"


def cmd_build(args) -> int:
    """Write workflow definitions and derived form schemas; --check fails when they are stale."""
    rs = _load_or_report(args)
    if rs is None:
        return EXIT_ERRORS
    root = Path(args.path).resolve().parent
    outputs = build_outputs(rs, root)
    generated = [(root / "workflows", "*-*.json"), (root / "workflows", "*/approval-*.json"),
                 (root / "form_schemas" / "derived", "*.json"), (root / "plugin_manifests", "*.json"),
                 (root / "plugin_manifests" / "mappings", "*/*.json"),
                 (root / "plugin_manifests" / "exports", "*/*.json")]
    leftovers = [p for d, pattern in generated for p in d.glob(pattern)
                 if p not in outputs and not p.name.endswith(".schema.json")]   # schemas are written by hand
    stale = [p for p, text in outputs.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text] + leftovers
    if args.check:
        for p in stale:
            print(f"{p.relative_to(root)}: stale (run `trimtab build`)", file=sys.stderr)
        return EXIT_ERRORS if stale else EXIT_OK
    for p, text in outputs.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
    for p in leftovers:
        p.unlink()
    print(f"wrote {len(stale)} of {len(outputs)} generated files")
    return EXIT_OK


def cmd_worker(args) -> int:
    """RQ worker (and outbox sweeper) against REDIS_URL."""
    from pathlib import Path as _P

    from trimtab.server.jobs.worker import run_worker
    config = _server_config(args, migrate=False)
    if not config.get("REDIS_URL"):
        print("trimtab worker needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)", file=sys.stderr)
        return EXIT_USAGE
    channels = config["CHANNELS_PATH"] or str(_P(config["RULES_PATH"]) / "channels.yaml")
    from trimtab.server.core.access_log import configure_events
    configure_events()                  # its rule-set swaps, silences, delivery warnings
    print(f"trimtab worker on {config['REDIS_URL']} (queue trimtab)", file=sys.stderr)
    run_worker(config["REDIS_URL"], config["DATABASE_URL"], str(_P(channels).resolve()),
               sweep_s=args.sweep_s, burst=args.burst, rules_path=config["RULES_PATH"],
               timezone=config["TIMEZONE"], lang=config["LANG"], rules_rev=config["RULES_REV"])
    return EXIT_OK
