"""Stage 3: the checker.  Resolves every name, gives every expression a type with a unit, and
runs the domain checks an HRBP would otherwise find in production.

It runs as named passes over all files of a rule set at once (so duplicate names and rating
weights across files are caught) and collects diagnostics instead of stopping at the first.
On success each rule has its side tables (annotations.py): a node id for every node it
looked at, the type of every expression and what every name stands for.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import ast as A
from .diagnostics import MAX_DIAGNOSTICS, Diagnostic, RuleError, suggest
from .keywords import BOOL_WORDS, WEEKDAYS
from .kinds import KINDS
from .annotations import Annotations
from .check_exprs import ExprChecks, Scope, TooDeep
from .check_limits import LimitChecks
from .check_units import UnitChecks
from .limits import MAX_EXPR_DEPTH, MAX_RULES_PER_FORM, internal
from .names import BUILTIN_ROLES, resolve_names
from .schemas import FormSchema, form_spellings, spellings
from .types import Ty
from .units import UNITS, dimension

# The kinds whose rules take examples, as check.example_kind lists them
TAKE_EXAMPLES = tuple(name for name, kind in KINDS.items() if kind.expected is not None)
REPORTS = ("weekly_actions", "resource_hints", "calibration_brief", "snapshot_reminder")


class CheckedRuleSet:
    """What the checker hands the compiler: the files, their rules and the lookup tables."""

    def __init__(self, files, schemas, references, roles):
        self.files = files
        self.schemas = schemas
        self.references = references          # name -> A.Reference
        self.roles = roles                    # name -> label or None
        self.role_uses: dict[str, list[A.Loc]] = {}    # role -> where rules name it (roles_held.py)
        self.rules = [d for f in files for d in f.decls if isinstance(d, A.Rule)]
        self.schedules = [d for f in files for d in f.decls if isinstance(d, A.Schedule)]
        self.annotations: dict = {}           # rule (object) -> its side tables (annotations.py)


class Checker(ExprChecks, LimitChecks, UnitChecks):
    def __init__(self, files: list[A.RuleFile], schemas: dict[str, FormSchema], budget=None):
        self.files = files
        self.budget = budget
        self.schemas = schemas
        self.diags: list[Diagnostic] = []
        self.texts = {f.path: f.text.splitlines() for f in files}
        self.references: dict[str, A.Reference] = {}
        self.roles: dict[str, str | None] = {r: None for r in BUILTIN_ROLES}
        self.role_uses: dict[str, list[A.Loc]] = {}
        self.depth = 0                        # of the expression being typed (check_exprs)

    # ------------------------------------------------------------------ reporting
    def error(self, code: str, loc: A.Loc | None, width: int | None = None, **args):
        if len(self.diags) >= MAX_DIAGNOSTICS:
            return
        if loc is None or not loc.line:
            self.diags.append(Diagnostic(code, args, loc.file if loc else "<rules>"))
            return
        lines = self.texts.get(loc.file, [])
        src = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
        if width is None:
            width = (loc.end_column - loc.column) if loc.end_line == loc.line else len(src) - loc.column + 1
        self.diags.append(Diagnostic(code, args, loc.file, loc.line, loc.column, src, max(width, 1)))

    # ------------------------------------------------------------------ passes
    def run(self) -> CheckedRuleSet:
        # Labels become ids first: every later pass, the compiler and the explanations see one
        # rule whichever name it was written with.
        self.files, _spellings = resolve_names(self.files, self.schemas, self.error)
        self.collect_declarations()
        checked = CheckedRuleSet(self.files, self.schemas, self.references, self.roles)
        checked.role_uses = self.role_uses
        for rule in checked.rules:
            checked.annotations[rule] = self.guarded(self.check_rule, rule) or Annotations()
        self.check_across(checked.rules)
        for sched in checked.schedules:
            self.guarded(self.check_schedule, sched)
        if self.diags:
            # The dated versions of one rule (a rating's) share their lines: say each once.
            raise RuleError(list(dict.fromkeys(self.diags)))
        return checked

    def guarded(self, check, decl):
        """One declaration's checks; an unexpected error of ours becomes `internal.error` at
        the declaration, and the time budget is looked at between declarations."""
        if self.budget is not None:
            self.budget.spend("checking", decl.loc.file)
        try:
            return check(decl)
        except TooDeep:
            pass                                # reported where it was found
        except RecursionError:
            self.error("check.too_deep", decl.loc, limit=MAX_EXPR_DEPTH)
        except Exception as err:
            lines = self.texts.get(decl.loc.file, [])
            src = lines[decl.loc.line - 1] if 0 < decl.loc.line <= len(lines) else ""
            self.diags.append(internal(err, "checking", decl.loc.file, decl.loc.line,
                                       decl.loc.column, src))
        return None

    def collect_declarations(self):
        """Pass 1: names of rules, references and roles across every file."""
        seen: dict[tuple, A.Loc] = {}
        for f in self.files:
            for d in f.decls:
                if isinstance(d, A.Reference):
                    if d.name in self.references:
                        self.error("check.duplicate_rule", d.loc, name=d.name,
                                   other=str(self.references[d.name].loc))
                    self.references[d.name] = d
                    self.check_reference_limits(d)
                elif isinstance(d, A.RoleDecl):
                    self.roles[d.name] = d.label
                else:
                    # Versions of one rule coexist when each has its own effective date (an
                    # undated version is in force from the beginning).
                    key = (d.name, getattr(d, "effective", None))
                    if key in seen:
                        self.error("check.duplicate_rule", d.loc, width=len(d.name), name=d.name,
                                   other=str(seen[key]))
                    else:
                        seen[key] = d.loc

    def check_rule(self, rule: A.Rule) -> Annotations:
        for clause, loc in rule.extra:
            self.error("check.duplicate_clause", loc, clause=clause)
        if rule.effective:
            self.check_date(rule.effective, rule.loc)
        self.check_rule_limits(rule)
        if rule.on is None:
            self.error("check.missing_clause", rule.loc, kind=rule.kind, rule=rule.name, clause="on")
            return Annotations()
        form = self.schemas.get(rule.on.form)
        if form is None:
            self.error("check.unknown_form", rule.on.loc, name=rule.on.form,
                       suggestion=suggest(rule.on.form, form_spellings(self.schemas)))
            return Annotations()
        if rule.on.subject not in form.subjects and rule.on.subject not in form.fields:
            self.error("check.not_a_subject", rule.on.loc, name=rule.on.subject, form=form.name,
                       suggestion=suggest(rule.on.subject, form.subjects))
        if rule.on.period and form.period and rule.on.period != form.period:
            self.error("check.period_mismatch", rule.on.loc, form=form.name, actual=form.period,
                       wanted=rule.on.period)
        scope = Scope(rule, form)
        for formula in rule.formulas:
            if formula.name in scope.formulas:
                self.error("check.duplicate_name", formula.loc, name=formula.name)
            ty = self.expr(formula.expr, scope)
            if formula.bound is not None:
                self.check_band(formula.bound.band, formula.bound.loc, "±band")
                if formula.bound.of is not None:
                    self.same_unit(ty, self.expr(formula.bound.of, scope), formula.bound.loc, "compare")
            scope.formulas[formula.name] = ty
        KINDS[rule.kind].check(self, rule, scope)
        for example in rule.examples:
            self.check_example(example, rule, scope)
        return scope.ann

    # ------------------------------------------------------------------ examples
    def check_example(self, ex: A.Example, rule: A.Rule, scope: Scope):
        """Turn an example into facts and an expected value, or say what is wrong with it."""
        facts: dict = {}
        for name, value in ex.fields.items():
            f = scope.form.fields.get(name)
            if f is None:
                self.error("check.unknown_field", ex.loc, name=name, form=scope.form.name,
                           suggestion=suggest(name, spellings(scope.form.fields)))
                continue
            facts[name] = self.example_value(value, f, ex.loc, scope.form.name)
        expected = KINDS[rule.kind].expected
        if expected is None:
            self.error("check.example_kind", ex.loc, kind=rule.kind, kinds=TAKE_EXAMPLES)
        scope.ann.examples[id(ex)] = (facts, None if expected is None else expected(self, ex, rule))

    def example_value(self, value, f, loc, where):
        if isinstance(value, list):
            if f.kind != "array":
                self.error("check.type_mismatch", loc, expected=f.kind, found="a list")
                return []
            items = []
            for item in value:
                converted = {}
                for name, v in item.items():
                    sub = f.items.get(name)
                    if sub is None:
                        self.error("check.unknown_item_field", loc, name=name, list=f.name,
                                   suggestion=suggest(name, spellings(f.items)))
                        continue
                    converted[name] = self.example_value(v, sub, loc, where)
                items.append(converted)
            return items
        if isinstance(value, A.Word):                     # a bare word
            word = value.name
            if f.kind == "boolean" and word in BOOL_WORDS:
                return BOOL_WORDS[word]
            if f.kind in ("string", "date") and (not f.enum or word in f.enum):
                return word
            self.error("check.enum_value", loc, value=word, field=f.name,
                       options=", ".join(f.enum or ["true", "false"]),
                       suggestion=suggest(word, f.enum or list(BOOL_WORDS)))
            return word
        if isinstance(value, A.Str):
            return value.value
        if f.kind not in ("integer", "number"):
            self.error("check.type_mismatch", loc, expected=f.kind, found="a number")
            return value.value
        written, field_unit = dimension(value.unit), f.unit
        if field_unit == "percent" and self.plain_percent_example(value, f.name):
            return value.value
        if value.unit is not None and written != dimension(field_unit) and not (
                written == "ratio" and field_unit is None):
            self.error("check.unit_mismatch", loc, op="compare", left=self.field_ty(f).describe(),
                       right=Ty("number", written).describe())
            return value.value
        if value.unit is not None and field_unit and field_unit != "percent":
            return _tidy_number(value.value / UNITS[field_unit][1])   # into the field's unit
        return value.value

    # ------------------------------------------------------------------ cross-rule checks
    def check_across(self, rules):
        """Checks over every rule of a kind at once (e.g. the weights toward one rating), and
        the rules on each form (a rule's dated versions count once)."""
        for kind in KINDS.values():
            if kind.check_all is not None:
                kind.check_all(self, [r for r in rules if r.kind == kind.name])
        on_form: dict[str, dict] = {}
        for rule in rules:
            if rule.on is not None:
                on_form.setdefault(rule.on.form, {}).setdefault(rule.name, rule)
        for form, named in on_form.items():
            if len(named) > MAX_RULES_PER_FORM:
                self.error("check.too_many_rules", list(named.values())[MAX_RULES_PER_FORM].loc,
                           form=form, count=len(named), limit=MAX_RULES_PER_FORM)

    def check_schedule(self, sched: A.Schedule):
        before = len(self.diags)
        self.check_schedule_fields(sched)
        if len(self.diags) == before and self.check_schedule_limits(sched):
            self.check_schedule_runs(sched)

    def check_schedule_fields(self, sched: A.Schedule):
        t = sched.timing
        if t.weekday is not None and t.weekday.lower() not in WEEKDAYS:
            self.error("check.unknown_weekday", t.loc, name=t.weekday,
                       suggestion=suggest(t.weekday.lower(), WEEKDAYS))
        if t.time is not None:
            hh, mm = (int(x) for x in t.time.split(":"))
            if hh > 23 or mm > 59:
                self.error("check.invalid_time", t.loc, value=t.time)
        if t.kind == "every_weeks" and (t.every_unit != "week" or t.every < 1):
            self.error("check.bad_interval", t.loc, what="every", unit="weeks")
        if t.kind == "every_days":
            if t.every_unit not in ("day", "week") or t.every < 1:
                self.error("check.bad_every_days", t.loc, value=f"{t.every} {t.every_unit}")
            self.check_date(A.given(t.anchor), t.loc)
        if t.kind == "monthly_day" and not 1 <= A.given(t.day) <= 31:
            self.error("check.bad_day_of_month", t.loc, value=t.day)
        if t.kind == "monthly_nth" and (not all(1 <= n <= 5 for n in t.nths) or
                                        len(set(t.nths)) != len(t.nths)):
            self.error("check.bad_nth_weekday", t.loc, value=", ".join(map(str, t.nths)))
        lead = t.lead
        if t.kind == "before_event" and lead is not None and (lead.unit not in ("hour", "day") or lead.value <= 0):
            self.error("check.bad_interval", t.loc, what="lead time", unit="hours/days")
        for action in sched.actions:
            self.check_roles(action.to, action.loc)
            if action.kind == "report" and action.what not in REPORTS:
                self.error("check.unknown_report", action.loc, name=action.what,
                           suggestion=suggest(action.what, REPORTS))
            if action.kind == "remind" and action.what not in self.schemas:
                self.error("check.unknown_form", action.loc, name=action.what,
                           suggestion=suggest(action.what, form_spellings(self.schemas)))

    # ------------------------------------------------------------------ helpers
    def check_roles(self, roles, loc):
        for role in roles:
            self.role_uses.setdefault(role, []).append(loc)
            if role not in self.roles:
                self.error("check.unknown_role", loc, name=role, suggestion=suggest(
                    role, [*self.roles, *(label for label in self.roles.values() if label)]))

    def check_band(self, band: Decimal, loc, what):
        self.check_percent(band, loc, what, Decimal(0), Decimal(1), low_open=True)

    def check_percent(self, value, loc, what, low, high, low_open=False):
        if value > high or value < low or (low_open and value == low):
            self.error("check.bad_percent", loc, what=what, low=f"{low * 100:f}%",
                       high=f"{high * 100:f}%", value=f"{value * 100:f}%")

    def check_date(self, text, loc):
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            self.error("check.invalid_date", loc, value=text)

    def list_named(self, name, loc, scope):
        lst = scope.form.list_field(name)
        if lst is None or not lst.items:
            self.error("check.not_a_list", loc, name=name, form=scope.form.name,
                       suggestion=suggest(name, spellings(scope.form.fields, "array")))
        return lst

    def item_field(self, lst, name, loc, list_name, numeric=False):
        f = lst.items.get(name)
        if f is None:
            self.error("check.unknown_item_field", loc, name=name, list=list_name,
                       suggestion=suggest(name, spellings(lst.items)))
        elif numeric and f.kind not in ("integer", "number"):
            self.error("check.type_mismatch", loc, expected="a number", found=f.kind)
        return f

    def node_id(self, node, scope: Scope) -> int:
        return scope.ann.add(node)

    def item_scope(self, scope: Scope, lst) -> Scope:
        """The scope of a condition about each item of the list field `lst`."""
        return Scope(scope.rule, scope.form, scope.formulas, lst, scope.ann)

def _tidy_number(value: Decimal):
    return int(value) if value == value.to_integral_value() else value.normalize()


def check(files: list[A.RuleFile], schemas: dict[str, FormSchema], budget=None) -> CheckedRuleSet:
    return Checker(files, schemas, budget).run()
