"""Loading a rule set: read every *.rules file, parse, build the AST, check, compile.

All or nothing: a set with any diagnostic raises RuleError and yields no RuleSet, so a
broken set can never be half-used.  Evaluation touches only the compiled functions.
"""
from __future__ import annotations

import gc
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import ast as A
from .annotations import Annotations
from .build_ast import build
from .checker import CheckedRuleSet, check
from .compiler import TooComplex
from .functions import ValueOnFirstUse, compile_rule, reads_periods
from .decision import Decision
from .trace_read import folded_by_comparison
from .diagnostics import MAX_DIAGNOSTICS, Diagnostic, RuleError
from .kinds import KINDS
from .limits import Budget, internal
from .parser import parse
from .percents import normalise
from .reuse import PARSED, CodeCache, Kept, entry_size
from .periods import Dated, timeline
from .schemas import FormSchema, load_schemas

EVAL_BUDGET_S = 2.0         # wall-clock budget of one evaluation of a form's rules
MAX_HISTORY = 520           # earlier periods one evaluation reads: ten years of weeks


class CompiledRule:
    """One rule, compiled.  `decide(facts, history=(), valid=False)` is the generated
    value-only function itself (no wrapper on the hot path) and `evaluate(facts, history=(),
    trace=True, valid=False)` the generated function that gives a Decision with its trace —
    never an exception: an evaluation error is the Decision's `error`.  Details and words are
    built when read.  `valid=True` only for facts validated against the rule's form schema
    (the decoder's, the server's after validation): their field types are not checked again."""

    by_scheduler = False            # a webhook's facts evaluate it (kinds/silence.py: the scheduler)

    def __init__(self, rule: A.Rule, form: FormSchema, compiled: tuple, ann: Annotations,
                 lines: list, source: str):
        self.rule, self.form, self.ann, self.lines, self.source = rule, form, ann, lines, source
        self.role_labels: dict = {}           # role -> its declared label (explanations in zh)
        self.words: dict = {}                 # what a kind's words take from the rule alone, once
        self.nodes = ann.nodes                # node id -> node
        self.name, self.kind = rule.name, rule.kind
        self.hooks = KINDS[rule.kind]         # its kind's details and headline, for Decision
        self.reads_periods = reads_periods(ann.nodes)
        decide, self.evaluate, env, folded, self.derived = compiled
        if isinstance(decide, ValueOnFirstUse):
            self._value_on_first_use = decide.make      # __getattr__ sets self.decide
        else:
            self.decide = decide
        env.update(SELF=self, DEC=Decision)   # what the generated evaluate() builds
        self.folded = folded_by_comparison(ann, folded)     # for Decision.trace

    def __getattr__(self, name: str):
        # Read only while `decide` is not yet an attribute: its value-only function, compiled
        # now (functions.ValueOnFirstUse), then an attribute like any other.  A rule too
        # complex for it raises its RuleError here, as `decide` would.
        make = self.__dict__.get("_value_on_first_use")
        if name != "decide" or make is None:
            raise AttributeError(name)
        self.decide = make()
        return self.decide


@dataclass
class RuleSet:
    rules: list
    checked: CheckedRuleSet
    schemas: dict
    digest: str                     # content hash of the rule files and schemas
    version: str = ""               # git revision when loaded from git (issue 3); else digest
    by_form: dict = field(default_factory=dict)
    shapes: int = 0                 # distinct compiled rule shapes (rules can share code)

    silent_by_form: dict = field(default_factory=dict)      # the scheduler's rules (silence alerts)

    def __post_init__(self):
        for r in self.rules:
            pool = self.silent_by_form if r.by_scheduler else self.by_form
            pool.setdefault(r.form.name, []).append(r)
        self.version = self.version or self.digest[:12]
        self._in_force: dict = {}

    @property
    def schedules(self):
        return self.checked.schedules

    def forms(self):
        return sorted(self.by_form)

    def in_force(self, form: str, as_of: str | None = None, silent: bool = False) -> list:
        """The rules listening to `form` on date `as_of` (ISO, default today): of each rule's
        versions, the one with the latest effective date on or before it; in file order.
        `silent`: the silence alerts about `form` instead (run by the scheduler)."""
        as_of = as_of or _today()
        key = (form, as_of, silent)
        cached = self._in_force.get(key)
        if cached is not None:
            return cached
        pool = self.silent_by_form if silent else self.by_form
        chosen: dict[str, CompiledRule] = {}
        for r in pool.get(form, ()):
            eff = r.rule.effective or ""
            if eff > as_of:
                continue
            current = chosen.get(r.name)
            if current is None or (current.rule.effective or "") < eff:
                chosen[r.name] = r
        result = [r for r in pool.get(form, ()) if chosen.get(r.name) is r]
        if len(self._in_force) < 4096:          # bounded: dates are few, forms fewer
            self._in_force[key] = result
        return result

    def rule(self, name: str, as_of: str | None = None) -> CompiledRule | None:
        """The version of rule `name` in force on `as_of` (default today)."""
        as_of = as_of or _today()
        versions = [r for r in self.rules if r.name == name and (r.rule.effective or "") <= as_of]
        return max(versions, key=lambda r: r.rule.effective or "", default=None)

    def evaluate(self, form: str, facts, history=(), trace: bool = True,
                 as_of: str | None = None, budget_s: float = EVAL_BUDGET_S,
                 valid: bool = False) -> list[Decision]:
        """Every rule in force listening to `form`, in file order.  Unknown form → RuleError.
        `valid`: the caller vouches that `facts` are valid against the form's schema.

        The evaluation's budget: when `budget_s` seconds have passed before a rule starts, the
        evaluation stops with eval.budget_exceeded naming that rule (one request never holds a
        worker for long; each rule's own work is bounded by the input limits)."""
        if form not in self.by_form:
            raise RuleError.of("eval.unknown_form", form=form)
        if not isinstance(facts, dict):
            raise RuleError.of("eval.bad_facts")
        if not isinstance(history, (list, tuple)) or not _dated(history) and \
                any(not isinstance(e, dict) for e in history):
            raise RuleError.of("eval.bad_history")
        if len(history) > MAX_HISTORY:
            raise RuleError.of("eval.history_too_long", count=len(history), limit=MAX_HISTORY)
        facts = self.fractions(form, facts)
        rules = self.in_force(form, as_of)
        calendar = history
        if sum(1 for r in rules if r.reads_periods) > 1:
            try:        # laid out once for every rule; a fact that cannot be dated is each one's error
                calendar = timeline(self.schemas[form], facts, history)
            except RuleError:
                pass
        deadline = time.monotonic() + budget_s
        decisions = []
        for r in rules:
            if time.monotonic() > deadline:
                loc = r.rule.loc
                raise RuleError.of("eval.budget_exceeded", rule=r.name, seconds=budget_s).at(
                    loc.file, loc.line, loc.column)
            decisions.append(r.evaluate(facts, calendar if r.reads_periods else history, trace, valid))
        return decisions


    def fractions(self, form: str, facts: dict) -> dict:
        """Facts with percent texts as fractions ("75%" → 0.75); a bare number outside a
        percent field's range is a RuleError with the fix (percents.py)."""
        fields = self.schemas[form].percents if form in self.schemas else ()
        if not fields:
            return facts
        return normalise(fields, facts)

    def given_history(self, form: str, history):
        """A history given with a request (the CLI's --history, /v1/evaluate's `history`) with
        its percent texts as fractions; the history the server stored went through fractions()
        when it arrived, so evaluate() does not look at it again (it is on the webhook's path)."""
        if not isinstance(history, (list, tuple)):
            return history              # evaluate() refuses it
        return [self.fractions(form, e) if isinstance(e, dict) else e for e in history]

    def evaluate_silences(self, form: str, subject: str, today, last=None, watch_from=None,
                          trace: bool = True) -> list[Decision]:
        """The silence alerts about `form` in force on `today` (a date), for `subject` who last
        submitted for the date `last` (None: never; then counting from `watch_from`)."""
        return [r.evaluate(subject, today, last, watch_from, trace)
                for r in self.in_force(form, today.isoformat(), silent=True)]


def _dated(history) -> bool:
    """Dated whole (periods.Dated): its entries are dicts, number_of saw to that."""
    return history.__class__ is Dated and len(history.numbers) == len(history)


def _today() -> str:
    import datetime as dt
    return dt.date.today().isoformat()


def read_rule_files(path: Path) -> list[tuple[str, str]]:
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob("*.rules"))
    out = []
    for p in files:
        try:
            out.append((str(p), p.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            raise RuleError([Diagnostic("parse.bad_encoding", {}, str(p))]) from None
        except OSError as err:
            raise RuleError([Diagnostic("load.unreadable", {"path": str(p),
                                                                  "detail": err.strerror}, str(p))]) from None
    if not out:
        raise RuleError([Diagnostic("load.no_rules", {"path": str(path)}, str(path))])
    return out


def parse_files(sources: list[tuple[str, str]], budget: Budget | None = None,
                keep: Kept | None = None) -> list[A.RuleFile]:
    """Parse every file, collecting syntax errors from all of them before giving up.  `keep`:
    files parsed before, by path and text (reuse.py); what parses well is added to it."""
    files, diags = [], []
    for name, text in sources:
        try:
            kept = keep.get((name, text)) if keep is not None else None
            if kept is not None:
                files.append(kept)
                continue
            files.append(build(parse(text, name), name, text))
            if keep is not None:
                keep.put((name, text), files[-1], entry_size(name, text))
        except RuleError as err:
            diags.extend(err.diagnostics)
        except RecursionError:
            diags.append(Diagnostic("parse.too_deep", {}, name))
        except Exception as err:        # a bug of ours: said with the file, never a traceback
            diags.append(internal(err, "parsing", name))
        if budget is not None:
            budget.spend("parsing", name)
        if len(diags) >= MAX_DIAGNOSTICS:
            break
    if diags:
        raise RuleError(diags)
    return files


def compile_checked(checked: CheckedRuleSet, schemas: dict, digest: str,
                    budget: Budget | None = None, keep: bool = False) -> RuleSet:
    rules: list = []
    diags: list = []
    # generated source → code: one compile per rule shape (`keep`: and kept for later loads)
    code_cache: CodeCache | dict = CodeCache() if keep else {}
    # the value-only functions compiled when a rule's `decide` is first read (functions.py,
    # ValueOnFirstUse): a draft's cache lives as long as its rule set, so it holds those alone
    value_cache: CodeCache | dict = code_cache if keep else {}
    texts = {f.path: f.text.splitlines() for f in checked.files}
    for rule in checked.rules:
        form = schemas[A.given(rule.on).form]
        for_scheduler = KINDS[rule.kind].scheduled
        by_scheduler = for_scheduler and for_scheduler(rule, form, checked.annotations[rule],
                                                       texts[rule.loc.file])
        if by_scheduler:                # nothing to compile: the kind evaluates it itself
            by_scheduler.role_labels = checked.roles
            rules.append(by_scheduler)
            continue
        if budget is not None:
            budget.spend("compiling", rule.loc.file)
        try:
            decide, evaluate, src, env, folded, derived = compile_rule(
                rule, form, checked.annotations[rule], code_cache, value_cache)
        except Exception as err:
            if not isinstance(err, (SyntaxError, RecursionError, MemoryError, TooComplex)):
                lines = texts[rule.loc.file]
                diags.append(internal(err, "compiling", rule.loc.file, rule.loc.line,
                                      rule.loc.column, lines[rule.loc.line - 1]))
                continue
            # CPython refuses very deep nesting (e.g. 200 parentheses) in generated code.
            lines = texts[rule.loc.file]
            diags.append(Diagnostic("check.too_complex", {"rule": rule.name}, rule.loc.file,
                                    rule.loc.line, rule.loc.column, lines[rule.loc.line - 1],
                                    len(lines[rule.loc.line - 1].rstrip())))
            continue
        rules.append(CompiledRule(rule, form, (decide, evaluate, env, folded, derived), checked.annotations[rule],
                                  texts[rule.loc.file], src))
        rules[-1].role_labels = checked.roles
    if diags:
        raise RuleError(diags)
    ruleset = RuleSet(rules, checked, schemas, digest)
    ruleset.shapes = len(code_cache)
    return ruleset


def load_sources(sources: list[tuple[str, str]], schemas: dict[str, FormSchema],
                 keep: bool = False) -> RuleSet:
    """`keep`: a version of the rule set (git, the files on disk), not a draft — its parsed
    files and compiled code are kept for the next load (reuse.py); a draft's never are."""
    # A load allocates many small objects and frees none of them as cycles: the cyclic GC
    # would scan them again and again mid-load (about a fifth of the time on a large set).
    # Pause it, and let it run once at the end.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_sources(sources, schemas, keep)
    finally:
        if enabled:
            gc.enable()


def _load_sources(sources, schemas, keep: bool) -> RuleSet:
    budget = Budget()
    try:
        return _stages(sources, schemas, budget, keep)
    except RuleError:
        raise
    except Exception as err:            # outside any one file's stage: name the first file
        raise RuleError([internal(err, "loading", sources[0][0] if sources else "<rules>")]) \
            from None


def _stages(sources, schemas, budget: Budget, keep: bool) -> RuleSet:
    files = parse_files(sources, budget, keep=PARSED if keep else None)
    checked = check(files, schemas, budget)
    digest = hashlib.sha256()
    for name, text in sources:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    for name in sorted(schemas):
        digest.update(repr(schemas[name].raw).encode())
    return compile_checked(checked, schemas, digest.hexdigest(), budget, keep)


def load(rules_path, schemas_dir) -> RuleSet:
    """Load the rule files under `rules_path`, checked against the forms in `schemas_dir`."""
    return load_sources(read_rule_files(Path(rules_path)), load_schemas(Path(schemas_dir)), keep=True)


def default_schemas_dir(rules_path) -> Path:
    """form_schemas/ beside the rules directory (the repository layout), else ./form_schemas."""
    p = Path(rules_path).resolve()
    for base in [p if p.is_dir() else p.parent, *p.parents]:
        cand = base / "form_schemas"
        if cand.is_dir():
            return cand
    return Path("form_schemas")
