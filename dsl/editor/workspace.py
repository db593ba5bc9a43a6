"""Which rule set a file belongs to, and that whole set's diagnostics with the editor's unsaved
texts laid over the files on disk.

As `trimtab check` run at the workspace's root: a file under the workspace's `rules/` is
checked with every other `*.rules` file there (a role declared in roles.rules is known in
alerts.rules), against the form schemas found as the CLI finds them (form_schemas/ beside
rules/).  A file anywhere else is checked alone, as `trimtab check FILE` would.  An editor
that opens a file without a workspace gets the rules/ folder the file stands in.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..diagnose import every_diagnostic
from ..diagnostics import Diagnostic, RuleError
from ..limits import internal
from ..ruleset import default_schemas_dir, read_rule_files
from ..schemas import FormSchema, load_schemas


@dataclass(frozen=True)
class Scope:
    """A rule set: the rules directory (or one lone file) and its form schemas."""
    rules: Path
    schemas: Path

    def sources(self, overlay: dict[Path, str]) -> list[tuple[str, str]]:
        """(path, text) of every rule file of the set, an open file's text in place of its
        saved one; an open file not yet on disk is added."""
        try:
            on_disk = [(Path(p), text) for p, text in read_rule_files(self.rules)]
        except RuleError:               # e.g. no *.rules saved yet
            on_disk = []
        paths = {p for p, _ in on_disk}
        texts = [(str(p), overlay.get(p, text)) for p, text in on_disk]
        texts += [(str(p), text) for p, text in sorted(overlay.items())
                  if p not in paths and self.contains(p)]
        return texts

    def contains(self, path: Path) -> bool:
        return path == self.rules or (self.rules.is_dir() and path.is_relative_to(self.rules))


def rules_dir(root: Path | None) -> Path | None:
    """The workspace's rule set: its rules/ folder, as `trimtab check` finds it by default."""
    if root is None:
        return None
    candidate = root / "rules"
    return candidate.resolve() if candidate.is_dir() else None


def scope_of(path: Path, root: Path | None) -> Scope:
    """The set `path` belongs to: the workspace's rules/ (without a workspace, the rules/
    folder it stands in), else the file alone."""
    path = path.resolve()
    rules = rules_dir(root) if root is not None else \
        next((p for p in path.parents if p.name == "rules"), None)
    if rules is not None and path.is_relative_to(rules) and path.suffix == ".rules":
        return Scope(rules, default_schemas_dir(rules).resolve())
    return Scope(path, default_schemas_dir(path).resolve())


def schemas_of(scope: Scope) -> dict[str, FormSchema]:
    """The scope's form schemas ({} when they do not load: check() says why)."""
    try:
        return load_schemas(scope.schemas)
    except RuleError:
        return {}


def check(scope: Scope, overlay: dict[Path, str]) -> dict[Path, list[Diagnostic]]:
    """Every diagnostic of the set, by file (a schema's own problems under the schema's path;
    one placed nowhere under the set's first file).  A file that does not parse stands in with
    its saved text for the check of the others (dsl/diagnose.py)."""
    sources = scope.sources(overlay)
    if not sources:
        return {}
    saved = {str(p): text for p, text in scope.sources({})}
    try:
        found = every_diagnostic(sources, load_schemas(scope.schemas), saved)
    except Exception as err:            # a bug of ours: said on the file, never a dead server
        found = [internal(err, "checking", sources[0][0])]
    by_file: dict[Path, list[Diagnostic]] = {}
    known = {Path(p) for p, _ in sources}
    for d in found:
        where = Path(d.file)
        if where not in known and not where.is_file():
            where = Path(sources[0][0])
        by_file.setdefault(where, []).append(d)
    return by_file
