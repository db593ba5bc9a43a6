"""`trimtab people token PERSON`: personal API tokens, issued (shown once), listed, revoked.
Run where the server's database is (DATABASE_URL, as `trimtab serve` reads it)."""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    pe = sub.add_parser("people", help="people's API tokens (DATABASE_URL)")
    what = pe.add_subparsers(dest="people_command", metavar="COMMAND")
    what.required = True
    tk = what.add_parser("token", help="issue a personal token (shown once), or revoke tokens")
    tk.add_argument("person", help="the person's id in the organisation chart")
    tk.add_argument("--expires", default="90d", help="90d, 12h, 2w or never (default 90d)")
    tk.add_argument("--label", help="what the token is for, shown in the list")
    tk.add_argument("--revoke", action="store_true", help="revoke the person's tokens instead")
    tk.add_argument("--id", type=int, help="with --revoke: only this token")
    tk.set_defaults(func=cmd_token, path="rules")
    ls = what.add_parser("tokens", help="list a person's tokens (never the tokens themselves)")
    ls.add_argument("person")
    ls.set_defaults(func=cmd_tokens, path="rules")


def _sessions(args):
    from trimtab.server.cli.serve import _server_config
    from trimtab.server.storage.db import make_engine, session_factory, upgrade
    engine = make_engine(_server_config(args, migrate=False)["DATABASE_URL"])
    upgrade(engine)
    return engine, session_factory(engine)


def cmd_token(args) -> int:
    from trimtab.server.auth import tokens
    try:
        expires = tokens.parse_expiry(args.expires)
    except ValueError as err:
        print(f"trimtab people token: {err}", file=sys.stderr)
        return 2
    engine, sessions = _sessions(args)
    try:
        with sessions() as session, session.begin():
            if args.revoke:
                n = tokens.revoke(session, args.person, args.id)
                print(f"revoked {n} token(s) of {args.person}")
                return 0
            token, row = tokens.issue(session, args.person, expires, args.label)
    except LookupError as err:
        print(f"trimtab people token: {err.args[0]}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    until = row.expires_at.isoformat(timespec="minutes") + "Z" if row.expires_at else "never"
    print(token)
    print(f"token {row.id} for {args.person}, expires {until}: shown once, send it as "
          f"`Authorization: Bearer <token>`", file=sys.stderr)
    return 0


def cmd_tokens(args) -> int:
    from sqlalchemy import select

    from trimtab.server.storage.models import ApiToken
    engine, sessions = _sessions(args)
    try:
        with sessions() as session:
            rows = session.scalars(select(ApiToken).where(ApiToken.person_id == args.person)
                                   .order_by(ApiToken.id)).all()
    finally:
        engine.dispose()
    for r in rows:
        state = "revoked" if r.revoked_at else "active"
        print(f"{r.id}\t{r.prefix}…\t{state}\tcreated {r.created_at:%Y-%m-%d}\t"
              f"expires {r.expires_at:%Y-%m-%d}" if r.expires_at else
              f"{r.id}\t{r.prefix}…\t{state}\tcreated {r.created_at:%Y-%m-%d}\tno expiry",
              r.label or "")
    if not rows:
        print(f"{args.person} has no tokens", file=sys.stderr)
    return 0
