"""Every diagnostic of a rule set being edited: what the workbench's draft check and the editor
(`trimtab lsp`) both show.

A load stops at the first stage that fails, so a syntax error in one file would hide the
checker's findings in all the others.  Here each file is parsed on its own (its syntax errors),
and the set is then checked with each file that does not parse replaced by its stand-in — the
text last saved or served — so one typo hides nothing else.  A file that does not parse and has
no stand-in (a new one) is left out of the check."""
from __future__ import annotations

from .diagnostics import Diagnostic, RuleError
from .ruleset import load_sources, parse_files


def every_diagnostic(sources: list[tuple[str, str]], schemas, stand_ins: dict[str, str]) -> list[Diagnostic]:
    """The diagnostics of `sources` ((path, text), in load order) against `schemas`."""
    try:
        load_sources(sources, schemas)
        return []                               # the common case, as someone types: one load
    except RuleError:
        pass
    found: list[Diagnostic] = []
    broken = set()
    for name, text in sources:
        try:
            parse_files([(name, text)])
        except RuleError as err:
            found.extend(err.diagnostics)
            broken.add(name)
    checked = [(name, stand_ins[name] if name in broken else text) for name, text in sources
               if name in stand_ins or name not in broken]
    try:
        load_sources(checked, schemas)
    except RuleError as err:
        found.extend(d for d in err.diagnostics if d.file not in broken)
    return found
