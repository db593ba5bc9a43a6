"""`trimtab sync org --from dingtalk|feishu [--dry-run]` and `trimtab sync crm [--full]
[--every MIN]`: the connectors (server/connectors/, docs/connectors.md) run from the command
line, where the server's database is (DATABASE_URL, as `trimtab serve` reads it)."""
from __future__ import annotations

import getpass
import logging
import os
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def add_parser(sub) -> None:
    sy = sub.add_parser("sync", help="pull the org chart (DingTalk, Feishu) or deals (Salesforce)")
    what = sy.add_subparsers(dest="sync_command", metavar="WHAT")
    what.required = True
    org = what.add_parser("org", help="the organisation chart from DingTalk or Feishu")
    org.add_argument("--from", dest="platform", required=True, choices=("dingtalk", "feishu"))
    org.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    org.add_argument("--mapping", help="regions and roles (default: TRIMTAB_ORG_MAPPING, "
                                       "else org_mapping.yaml in the rules directory)")
    org.add_argument("--rules", dest="path", default="rules", metavar="PATH")
    org.set_defaults(func=cmd_sync_org)
    crm = what.add_parser("crm", help="signed deals from Salesforce into deal_log facts")
    crm.add_argument("--full", action="store_true", help="ignore the watermark (replays what is stored)")
    crm.add_argument("--every", type=float, metavar="MIN",
                     help="keep running: pull every MIN minutes (default: TRIMTAB_SALESFORCE_EVERY_MIN; "
                          "neither: pull once)")
    crm.add_argument("--rules", dest="path", default="rules", metavar="PATH")
    crm.set_defaults(func=cmd_sync_crm)


def _settings(args) -> dict:
    from trimtab.server.cli.serve import _server_config
    return _server_config(args, migrate=False)


def _directory(platform: str, config: dict, env=os.environ):
    """The platform's directory, read with the sign-in app's key and secret."""
    import requests

    from trimtab.server.connectors import dingtalk, dingtalk_org, feishu, feishu_org
    from trimtab.server.connectors.api_client import ApiClient
    app = config["OAUTH"].get(platform)
    if not app:
        raise LookupError(f"TRIMTAB_{platform.upper()}_CLIENT_ID and _CLIENT_SECRET are not set")
    url = env.get(f"TRIMTAB_{platform.upper()}_API_URL")
    if platform == "dingtalk":
        ding = dingtalk.DingTalk(app["client_id"], app["client_secret"], url or dingtalk.OAPI_URL)
        return dingtalk_org.read_directory(ApiClient(ding, requests.Session()), ding)
    lark = feishu.Feishu(app["client_id"], app["client_secret"], url or feishu.API_URL)
    return feishu_org.read_directory(ApiClient(lark, requests.Session()), lark)


def cmd_sync_org(args) -> int:
    from trimtab.server.connectors import org_sync
    from trimtab.server.connectors.api_client import ConnectorError
    from trimtab.server.domain.audit import AuditSettings, bind
    from trimtab.server.storage.db import make_engine, session_factory, upgrade
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = _settings(args)
    mapping_path = Path(args.mapping or os.environ.get("TRIMTAB_ORG_MAPPING")
                        or Path(config["RULES_PATH"]) / "org_mapping.yaml")
    if not mapping_path.exists():
        print(f"trimtab sync org: no mapping file {mapping_path}", file=sys.stderr)
        return EXIT_USAGE
    try:
        directory = _directory(args.platform, config)
    except LookupError as err:
        print(f"trimtab sync org: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ConnectorError, OSError) as err:
        print(f"trimtab sync org: {err}", file=sys.stderr)
        return EXIT_ERRORS
    engine = make_engine(config["DATABASE_URL"])
    upgrade(engine, audit_key=config["AUDIT_KEY"])
    sessions = bind(session_factory(engine), AuditSettings.from_config(config))
    try:
        changes, warnings = org_sync.sync(
            sessions, directory, org_sync.Mapping.load(mapping_path), dry_run=args.dry_run,
            actor=f"os:{getpass.getuser()}", ruleset_version=f"sync:{args.platform}")
    finally:
        engine.dispose()
    for line in changes.lines():
        print(line)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    verb = "would change" if args.dry_run else "changed"
    print(f"{args.platform}: {len(directory.members)} people read; {verb}: {len(changes.added)} added, "
          f"{len(changes.changed)} changed, {len(changes.deactivated)} deactivated, "
          f"{len(changes.reactivated)} reactivated" + (" (dry run: nothing written)" if args.dry_run else ""),
          file=sys.stderr)
    return EXIT_OK


def salesforce_from_env(env=os.environ):
    from trimtab.server.connectors.salesforce import API_VERSION, Salesforce
    need = ("TRIMTAB_SALESFORCE_URL", "TRIMTAB_SALESFORCE_CLIENT_ID", "TRIMTAB_SALESFORCE_CLIENT_SECRET")
    missing = [n for n in need if not env.get(n)]
    if missing:
        raise LookupError(f"{', '.join(missing)} not set")
    return Salesforce(env["TRIMTAB_SALESFORCE_URL"], env["TRIMTAB_SALESFORCE_CLIENT_ID"],
                      env["TRIMTAB_SALESFORCE_CLIENT_SECRET"], env.get("TRIMTAB_SALESFORCE_REFRESH_TOKEN"),
                      env.get("TRIMTAB_SALESFORCE_API_VERSION") or API_VERSION)


def cmd_sync_crm(args) -> int:
    import requests

    from trimtab.server.app import create_app
    from trimtab.server.connectors import salesforce
    from trimtab.server.connectors.api_client import ApiClient, ConnectorError
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        sf = salesforce_from_env()
    except LookupError as err:
        print(f"trimtab sync crm: {err}", file=sys.stderr)
        return EXIT_USAGE
    every = args.every or float(os.environ.get("TRIMTAB_SALESFORCE_EVERY_MIN") or 0)
    app = create_app({**_settings(args), "MIGRATE": True})
    try:
        while True:
            try:
                got = salesforce.pull(app, app.extensions["trimtab.rules"].current,
                                      ApiClient(sf, requests.Session()), sf, full=args.full)
                print(f"salesforce: {got.changed} opportunities changed; {got.submitted} deal_log "
                      f"facts submitted, {got.stored} new; watermark {got.watermark or '-'}"
                      + (f"; owners not in the org chart: {', '.join(got.skipped)}" if got.skipped else ""),
                      file=sys.stderr)
            except (ConnectorError, OSError) as err:
                print(f"trimtab sync crm: {err}", file=sys.stderr)
                if not every:
                    return EXIT_ERRORS
            if not every:
                return EXIT_OK
            args.full = False               # a re-sync once; then by watermark
            time.sleep(every * 60)
    finally:
        app.extensions["trimtab.engine"].dispose()
