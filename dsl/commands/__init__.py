"""The language's own commands — check, fmt, eval, test, diff, replay, demo, params, lsp — as argparse
sub-commands.  The `trimtab` program (server/cli/main.py) adds the server's commands beside them."""
from __future__ import annotations

import argparse
import sys

from .changes import cmd_diff, cmd_replay
from .editor import cmd_lsp
from .params import add_params_command
from .common import EXIT_ERRORS, EXIT_OK, EXIT_USAGE  # noqa: F401
from .rules import cmd_check, cmd_demo, cmd_eval, cmd_fmt
from .tests import cmd_test


class Parser(argparse.ArgumentParser):
    def error(self, message):      # usage errors exit 2 with a one-line hint, no traceback
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def common(sp, path_default="rules"):
    """PATH, --schemas and --lang, as every command that reads a rule set takes them."""
    sp.add_argument("path", nargs="?", default=path_default, metavar="PATH",
                    help="a rule file or a directory of *.rules (default: rules)")
    sp.add_argument("--schemas", help="form schema directory (default: form_schemas beside PATH)")
    sp.add_argument("--lang", choices=("zh", "en"), default=None,
                    help="language of messages and traces (default: from the locale)")


def add_commands(sub) -> None:
    """Register the language's commands on an argparse sub-parsers object."""
    def revision(sp):
        sp.add_argument("--rev", metavar="REV",
                        help="load the rules from git at REV (commit, branch, tag; WORKTREE = "
                             "the files on disk, versioned by HEAD plus a content hash if dirty)")

    c = sub.add_parser("check", help="parse and check rule files against the form schemas")
    common(c)
    c.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    c.add_argument("--org", metavar="FILE",
                   help="an organisation chart (CSV with a 角色/role column, or JSON people): "
                        "warn where a rule names a role nobody in it holds")
    revision(c)
    c.set_defaults(func=cmd_check)

    f = sub.add_parser("fmt", help="print rule files in canonical layout")
    f.add_argument("path", nargs="?", default="rules", metavar="PATH")
    f.add_argument("--check", action="store_true", help="exit 1 if a file is not formatted")
    f.add_argument("--write", action="store_true", help="rewrite files in place")
    f.add_argument("--lang", dest="lang_keywords", choices=("zh", "en"), default=None,
                   help="keyword language, and fields, forms and roles by label (zh) or id (en) "
                        "(default: the file's own, names as written)")
    f.add_argument("--schemas", help="form schema directory, for the labels (default: form_schemas "
                                     "beside PATH)")
    f.set_defaults(func=cmd_fmt, lang=None)

    e = sub.add_parser("eval", help="evaluate facts of one form and print decisions with traces")
    common(e)
    e.add_argument("--form", required=True, help="the form the facts belong to")
    e.add_argument("--facts", required=True, help="JSON file with one submission ('-' = stdin)")
    e.add_argument("--history", help="JSON list of earlier periods' facts, oldest first")
    e.add_argument("--rule", help="show only this rule's decision")
    e.add_argument("--as-of", dest="as_of", help="evaluate with the rules in force on this date")
    e.add_argument("--json", action="store_true", help="print decisions as JSON")
    revision(e)
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("test", help="run the rule tests (PATH/tests/*.yaml) and inline examples")
    common(t)
    t.add_argument("--coverage", action="store_true",
                   help="report which rules, clauses and lines the tests exercised")
    t.add_argument("--min-coverage", type=float, metavar="N",
                   help="exit 1 when fewer than N%% of the rules are exercised")
    t.add_argument("--json", action="store_true", help="print results and coverage as JSON")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    revision(t)
    t.set_defaults(func=cmd_test)

    df = sub.add_parser("diff", help="what changed between two revisions, in plain words")
    df.add_argument("rev1", metavar="REV1")
    df.add_argument("rev2", metavar="REV2", help="a revision, or WORKTREE")
    common(df)
    df.add_argument("--json", action="store_true", help="print the changes as JSON")
    df.set_defaults(func=cmd_diff)

    rp = sub.add_parser("replay", help="run recorded facts through two revisions; report what changes")
    rp.add_argument("rev1", metavar="REV1")
    rp.add_argument("rev2", metavar="REV2", help="a revision, or WORKTREE")
    common(rp)
    rp.add_argument("--facts", required=True,
                    help="JSON Lines (or a JSON array) of {form, facts[, history, as_of]}, in time order")
    rp.add_argument("--examples", type=int, default=5, metavar="N",
                    help="show the first N changed decisions with both traces (default 5)")
    rp.add_argument("--group-by", metavar="FIELD", help="count changes per this fact field "
                    "(default: team, else region, else the subject)")
    rp.add_argument("--json", action="store_true", help="print the report as JSON (for a PR comment)")
    rp.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="progress bar on stderr (default: when stderr is a terminal)")
    rp.set_defaults(func=cmd_replay)

    d = sub.add_parser("demo", help="check the shipped rules and evaluate the demo facts")
    common(d)
    d.set_defaults(func=cmd_demo, json=False, rev=None)

    add_params_command(sub, common)

    ls = sub.add_parser("lsp", help="the language server for editors (LSP over stdio; needs the `lsp` extra)")
    ls.add_argument("--stdio", action="store_true",
                    help="speak over standard input and output (the default and only transport; "
                         "accepted because editors pass it)")
    ls.set_defaults(func=cmd_lsp, lang=None)
