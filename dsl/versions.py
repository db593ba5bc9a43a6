"""Rule-set versions from git.

A rule set is the `rules/` directory (with `form_schemas/`) of a git repository at a
revision. Its version is the commit id; loading the working tree instead gives the HEAD
commit id plus `+dirty.<content hash>` when rules or schemas differ from HEAD.

We drive the git command line (`git rev-parse`, `ls-tree`, `cat-file --batch`, `status`)
through subprocess: git is on every machine that holds a rules repository, it reads exactly
what the user's own git sees, and it adds no library to install.

Loading is all or nothing: files are read, parsed, checked and compiled before anyone can
use the result; `ActiveRuleSet.activate` swaps only a fully loaded set in.  What cannot be
read is a RuleError with a `git.*` code (catalogue: messages.py), placed at the path when
there is one.
"""
from __future__ import annotations

import copy
import hashlib
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import RuleError
from .reuse import Kept
from .ruleset import RuleSet, load_sources
from .schemas import read_schema_files, schemas_from_texts

WORKTREE = "WORKTREE"          # the revision name that means "the files as they are on disk"
GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class Source:
    repo: Path                 # repository root
    rules: str                 # rules directory, relative to the root (posix)
    schemas: str               # schemas directory, relative to the root


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise RuleError.of("git.missing") from None
    except subprocess.TimeoutExpired:
        raise RuleError.of("git.timeout", command=args[0], seconds=GIT_TIMEOUT_S) from None
    if proc.returncode != 0:
        raise RuleError.of("git.failed", command=args[0],
                           detail=proc.stderr.decode("utf-8", "replace").strip()[:300] or "-")
    return proc.stdout


def locate(rules_path, schemas_path=None) -> Source:
    """The repository holding `rules_path`, and where rules and schemas sit in it."""
    rules = Path(rules_path).resolve()
    start = rules if rules.is_dir() else rules.parent
    if not start.exists():
        raise RuleError.of("git.no_path", path=str(rules_path)).at(str(rules_path))
    try:
        top = _git(start, "rev-parse", "--show-toplevel").decode().strip()
    except RuleError:
        raise RuleError.of("git.not_a_repository", path=str(rules_path)).at(str(rules_path)) from None
    root = Path(top).resolve()
    schemas = Path(schemas_path).resolve() if schemas_path else (root / "form_schemas")
    try:
        return Source(root, rules.relative_to(root).as_posix(), schemas.relative_to(root).as_posix())
    except ValueError:
        raise RuleError.of("git.outside", path=str(schemas), repo=str(root)).at(str(schemas)) from None


_REV_OK = re.compile(r"^[A-Za-z0-9_./@{}^~:+-]{1,200}$")


def resolve(source: Source, rev: str) -> str:
    """The full commit id of `rev`, or a clear error.  A name that could be read as a git
    option (leading "-") or holds control characters is refused before git sees it."""
    if not isinstance(rev, str) or rev.startswith("-") or not _REV_OK.match(rev):
        raise RuleError.of("git.bad_revision", rev=f"{rev!s:.80}")
    try:
        return _git(source.repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except RuleError:
        raise RuleError.of("git.unknown_revision", rev=rev, repo=str(source.repo)) from None


def read_trees(source: Source, commit: str, *wanted: tuple[str, tuple]) -> list[list[tuple[str, str]]]:
    """For each (prefix, suffixes) in `wanted`, (path, text) of the files under `prefix` at
    `commit` ending in one of `suffixes`: two git commands for all of them (a reload runs in
    every worker at once; each git process is a fork and an exec)."""
    listing = _git(source.repo, "ls-tree", "-r", "-z", "--name-only", commit, "--",
                   *(prefix for prefix, _ in wanted))
    names = [p for p in listing.decode("utf-8").split("\0") if p]
    chosen = [[p for p in names if _under(p, prefix) and p.endswith(suffixes)]
              for prefix, suffixes in wanted]
    paths = [p for group in chosen for p in group]
    if not paths:
        return [[] for _ in wanted]
    out = _git(source.repo, "cat-file", "--batch",
               data="".join(f"{commit}:{p}\n" for p in paths).encode("utf-8"))
    texts, pos = {}, 0
    for path in paths:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        body = out[header_end + 1: header_end + 1 + size]
        pos = header_end + 1 + size + 1
        try:
            texts[path] = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RuleError.of("git.bad_encoding", commit=commit[:12], path=path).at(path) from None
    return [[(p, texts[p]) for p in group] for group in chosen]


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return prefix in ("", ".") or path == prefix or path.startswith(prefix + "/")


def is_dirty(source: Source) -> bool:
    out = _git(source.repo, "status", "--porcelain", "--untracked-files=all", "--",
               source.rules, source.schemas)
    return bool(out.strip())


def load_revision(rules_path="rules", rev: str = WORKTREE, schemas_path=None) -> RuleSet:
    """Load, check and compile the rule set at `rev` (a commit, branch or tag; WORKTREE for
    the files on disk).  Raises RuleError (git.*, parse.*, check.*, load.*); never returns
    half a set."""
    source = locate(rules_path, schemas_path)
    if rev == WORKTREE:
        return _load_worktree(source)
    commit = resolve(source, rev)
    rules, schemas = read_trees(source, commit, (source.rules, (".rules",)),
                                (source.schemas, (".json",)))
    if not rules:
        raise RuleError.of("git.no_rules", dir=source.rules, rev=rev, commit=commit[:12])
    ruleset = _load_once(rules, schemas)
    ruleset.version = commit
    return ruleset


# Loading parses, checks and compiles every file (a quarter of a second for the shipped set).
# The same files are loaded again often: a reload with nothing changed, an older version asked
# for twice, several apps in one process.  A loaded set changes no more once built but for its
# `version`, so each caller gets its own shallow copy of the one built for these very texts.
KEEP_LOADED = 4
_LOADED = Kept(limit=KEEP_LOADED)


def _load_once(rules: list[tuple[str, str]], schema_files: list[tuple[str, str]]) -> RuleSet:
    key = hashlib.sha256(repr((rules, schema_files)).encode("utf-8", "surrogatepass")).digest()
    loaded = _LOADED.get(key)
    if loaded is None:
        loaded = load_sources(rules, schemas_from_texts(schema_files), keep=True)   # raises on a bad set
        _LOADED.put(key, loaded)
    return copy.copy(loaded)


def _load_worktree(source: Source) -> RuleSet:
    from .ruleset import read_rule_files
    rules_dir = source.repo / source.rules
    sources = [(Path(p).relative_to(source.repo).as_posix(), text)
               for p, text in read_rule_files(rules_dir)]
    ruleset = _load_once(sources, read_schema_files(source.repo / source.schemas))
    head = resolve(source, "HEAD") if _has_commits(source) else "0" * 40
    ruleset.version = f"{head}+dirty.{ruleset.digest[:12]}" if is_dirty(source) else head
    return ruleset


def _has_commits(source: Source) -> bool:
    try:
        _git(source.repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        return True
    except RuleError:
        return False


class ActiveRuleSet:
    """The rule set in use, swapped atomically: a revision that fails to load never
    replaces the one that serves."""

    def __init__(self, ruleset: RuleSet | None = None):
        self._lock = threading.Lock()
        self._current = ruleset

    @property
    def current(self) -> RuleSet | None:
        return self._current            # one reference read: atomic under the GIL

    def activate(self, rules_path="rules", rev: str = WORKTREE, schemas_path=None) -> RuleSet:
        """Load `rev` fully, then swap it in.  On any error the current set stays."""
        return self.swap(lambda: load_revision(rules_path, rev, schemas_path))

    def swap(self, load) -> RuleSet:
        """Call `load()` (which raises on a bad set) and make its result current; one reload
        at a time, readers never wait."""
        with self._lock:
            ruleset = load()
            self._current = ruleset
            return ruleset


__all__ = ["ActiveRuleSet", "WORKTREE", "load_revision", "locate", "resolve", "RuleError"]
