"""Stage 3: the checker.  Resolves every name, gives every expression a type with a unit, and
runs the domain checks an HRBP would otherwise find in production.

It runs as named passes over all files of a rule set at once (so duplicate names and rating
weights across files are caught) and collects diagnostics instead of stopping at the first.
On success every expression node carries `ty`, every Ref a `binding`, and every node an id.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import ast as A
from .diagnostics import MAX_DIAGNOSTICS, Diagnostic, DiagnosticError, suggest
from .canon import canon
from .check_exprs import BOOL_WORDS, ExprChecks, Scope, TooDeep
from .check_limits import LimitChecks
from .limits import MAX_EXPR_DEPTH, internal
from .schemas import FormSchema
from .types import Ty
from .units import UNITS, dimension

BUILTIN_ROLES = ("subject", "rep", "direct_manager", "hrbp", "regional_manager",
                 "headquarters", "attendees")
REPORTS = ("weekly_actions", "resource_hints", "calibration_brief", "snapshot_reminder")
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "周一": 0, "周二": 1, "周三": 2, "周四": 3, "周五": 4, "周六": 5, "周日": 6,
    "星期一": 0, "星期二": 1, "星期三": 2, "星期四": 3, "星期五": 4, "星期六": 5, "星期日": 6,
}
PLACEHOLDERS = ("matched", "rule", "level", "subject")
SILENCE_PLACEHOLDERS = ("rule", "level", "subject", "form", "periods")   # no facts to name


class CheckedRuleSet:
    """What the checker hands the compiler: the files, their rules and the lookup tables."""

    def __init__(self, files, schemas, references, roles):
        self.files = files
        self.schemas = schemas
        self.references = references          # name -> A.Reference
        self.roles = roles                    # name -> label or None
        self.rules = [d for f in files for d in f.decls if isinstance(d, A.Rule)]
        self.schedules = [d for f in files for d in f.decls if isinstance(d, A.Schedule)]
        self.nodes = {}                       # rule (object) -> its nodes by node id


class Checker(ExprChecks, LimitChecks):
    def __init__(self, files: list[A.RuleFile], schemas: dict[str, FormSchema], budget=None):
        self.files = files
        self.budget = budget
        self.schemas = schemas
        self.diags: list[Diagnostic] = []
        self.texts = {f.path: f.text.splitlines() for f in files}
        self.references: dict[str, A.Reference] = {}
        self.roles: dict[str, str | None] = {r: None for r in BUILTIN_ROLES}
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
        self.collect_declarations()
        checked = CheckedRuleSet(self.files, self.schemas, self.references, self.roles)
        for rule in checked.rules:
            checked.nodes[rule] = self.guarded(self.check_rule, rule) or []
        self.check_rating_weights(checked.rules)
        for sched in checked.schedules:
            self.guarded(self.check_schedule, sched)
        if self.diags:
            raise DiagnosticError(self.diags)
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
        seen: dict[str, A.Loc] = {}
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

    def check_rule(self, rule: A.Rule) -> list:
        for clause, loc in rule.extra:
            self.error("check.duplicate_clause", loc, clause=clause)
        if rule.effective:
            self.check_date(rule.effective, rule.loc)
        self.check_rule_limits(rule)
        if rule.on is None:
            self.error("check.missing_clause", rule.loc, kind=rule.kind, rule=rule.name, clause="on")
            return []
        form = self.schemas.get(rule.on.form)
        if form is None:
            self.error("check.unknown_form", rule.on.loc, name=rule.on.form,
                       suggestion=suggest(rule.on.form, self.schemas))
            return []
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
        getattr(self, f"check_{rule.kind}")(rule, scope)
        for example in rule.examples:
            self.check_example(example, rule, scope)
        return scope.nodes

    # ------------------------------------------------------------------ rule kinds
    def check_alert(self, rule: A.Alert, scope: Scope):
        if rule.when_loc is None:
            self.error("check.missing_clause", rule.loc, kind="alert", rule=rule.name, clause="when")
        if rule.silence is not None:
            self.check_silence(rule, scope)
        for cond in rule.conditions:
            self.condition(cond, scope)
        if rule.at_least is not None and not 1 <= rule.at_least <= len(rule.conditions):
            self.error("check.bad_percent", rule.when_loc, what="N", low=1,
                       high=len(rule.conditions), value=rule.at_least)
        if not rule.notify:
            self.error("check.missing_clause", rule.loc, kind="alert", rule=rule.name, clause="notify")
        self.check_roles(rule.notify, rule.notify_loc)
        self.check_roles(rule.notify_cleared, rule.notify_cleared_loc)
        if rule.message is not None:
            self.check_placeholders(rule.message, rule.message_loc, scope,
                                    SILENCE_PLACEHOLDERS if rule.silence is not None else None)

    def check_silence(self, rule: A.Alert, scope: Scope):
        """`when no FORM for N consecutive weeks`: the rule's own form, a periodic one, its
        period word, at least one period."""
        s, form = rule.silence, scope.form
        s.node_id = self.node_id(s, scope)
        if s.form != form.name:
            self.error("check.silence_other_form", s.loc, name=s.form, form=form.name)
        elif form.period is None:
            self.error("check.no_history_for_form", s.loc, what="no", form=form.name)
        elif s.unit != form.period:
            self.error("check.period_mismatch", s.loc, form=form.name, actual=form.period,
                       wanted=s.unit)
        if s.n < 1:
            self.error("check.bad_interval", s.loc, what="no", unit=s.unit)

    def check_score(self, rule: A.Score, scope: Scope):
        if not rule.lines:
            self.error("check.missing_clause", rule.loc, kind="score", rule=rule.name, clause="+N …")
        for line in rule.lines:
            line.node_id = self.node_id(line, scope)
            if line.kind in ("every", "per"):
                ty = self.expr(line.field, scope)
                if ty.kind != "number":
                    self.error("check.type_mismatch", line.field.loc, expected="a number",
                               found=ty.describe())
                if line.n < 1:
                    self.error("check.bad_interval", line.loc, what="N", unit="")
            elif line.kind == "when":
                self.condition(line.cond, scope)
            else:
                lst = scope.form.list_field(line.item)
                if lst is None:
                    self.error("check.not_a_list", line.loc, name=line.item, form=scope.form.name,
                               suggestion=suggest(line.item, [n for n, f in scope.form.fields.items()
                                                              if f.kind == "array"]))
                    continue
                self.condition(line.cond, Scope(rule, scope.form, scope.formulas, lst, scope.nodes))
            self.check_cap(line)
        if (rule.total_max is not None and rule.total_min is not None
                and rule.total_min > rule.total_max):
            self.error("check.bad_total_caps", rule.total_loc, low=rule.total_min, high=rule.total_max)
        if rule.weight is not None:
            self.check_percent(rule.weight, rule.weight_loc, "weight", Decimal(0), Decimal(1))

    def check_cap(self, line: A.PointsLine):
        if line.cap is None:
            return
        why = None
        if (line.cap > 0) != (line.points > 0):
            why = "sign"
        elif abs(line.cap) < abs(line.points):
            why = "smaller than one award"
        if why:
            self.error("check.bad_cap", line.loc, cap=line.cap, points=line.points, why=why)

    def check_status(self, rule: A.Status, scope: Scope):
        seen: dict[str, A.Case] = {}
        otherwise = None
        for case in rule.cases:
            if case.name in seen:
                self.error("check.duplicate_case", case.loc, width=len(case.name), case=case.name)
            seen[case.name] = case
            if otherwise is not None:
                self.error("check.case_after_otherwise", case.loc, width=len(case.name), case=case.name)
            if case.cond is None:
                otherwise = case
            else:
                self.condition(case.cond, scope)
        if otherwise is None:
            self.error("check.missing_otherwise", rule.loc, width=len(rule.name) + 7, rule=rule.name)
        conds = [c for c in rule.cases if c.cond is not None]
        for j, later in enumerate(conds):
            for earlier in conds[:j]:
                if covers(earlier.cond, later.cond):
                    self.error("check.dead_case", later.loc, width=len(later.name), case=later.name,
                               earlier=earlier.name, line=earlier.loc.line)
                    break

    def check_target(self, rule: A.Target, scope: Scope):
        if rule.suggest is None:
            self.error("check.missing_clause", rule.loc, kind="target", rule=rule.name, clause="suggest")
            return
        ty = self.expr(rule.suggest, scope)
        if ty.kind != "number":
            self.error("check.type_mismatch", rule.suggest.loc, expected="a number", found=ty.describe())
        if rule.range_band is not None:
            self.check_band(rule.range_band, rule.suggest_loc, "range")

    def check_split(self, rule: A.Split, scope: Scope):
        if rule.total is None:
            self.error("check.missing_clause", rule.loc, kind="split", rule=rule.name, clause="divide")
            return
        ty = self.expr(rule.total, scope)
        if ty.kind != "number":
            self.error("check.type_mismatch", rule.total.loc, expected="a number", found=ty.describe())
        lst = self.list_named(rule.across, rule.divide_loc, scope)
        if not rule.weights:
            self.error("check.missing_clause", rule.loc, kind="split", rule=rule.name, clause="weight")
        total = sum((w for _n, w, _l in rule.weights), Decimal(0))
        if rule.weights and total != 1:
            self.error("check.weights_sum", rule.weights[-1][2], total=_pct(total))
        if lst is None:
            return
        for name, share, loc in rule.weights:
            self.item_field(lst, name, loc, rule.across, numeric=True)
        if rule.adjust_band is not None:
            self.check_band(rule.adjust_band, rule.adjust_loc, "adjust")
            self.item_field(lst, "adjustment", rule.adjust_loc, rule.across, numeric=True)
            self.item_field(lst, rule.reason_field, rule.adjust_loc, rule.across)

    def check_pool(self, rule: A.Pool, scope: Scope):
        if rule.size is None:
            self.error("check.missing_clause", rule.loc, kind="pool", rule=rule.name, clause="size")
        else:
            ty = self.expr(rule.size, scope)
            if ty.kind != "number":
                self.error("check.type_mismatch", rule.size.loc, expected="a number", found=ty.describe())
        if rule.among is None:
            self.error("check.missing_clause", rule.loc, kind="pool", rule=rule.name, clause="share")
            return
        lst = self.list_named(rule.among, rule.share_loc, scope)
        if lst is not None:
            ty = self.expr(rule.by, Scope(rule, scope.form, scope.formulas, lst, scope.nodes))
            if ty.kind != "number":
                self.error("check.type_mismatch", rule.by.loc, expected="a number", found=ty.describe())

    def check_approval(self, rule: A.Approval, scope: Scope):
        if rule.limit is not None and rule.cycle is None:
            self.error("check.missing_clause", rule.limit_loc, kind="approval", rule=rule.name,
                       clause="cycle")
        if rule.cycle is not None:
            n, unit, anchor = rule.cycle
            if unit not in ("week", "month") or n < 1:
                self.error("check.bad_interval", rule.cycle_loc, what="cycle", unit="weeks/months")
            if anchor:
                self.check_date(anchor, rule.cycle_loc)
            if scope.form.date_field is None:
                self.error("check.no_history_for_form", rule.cycle_loc, what="cycle", form=scope.form.name)
        for name in rule.require:
            if name not in scope.form.fields:
                self.error("check.unknown_field", rule.require_loc, name=name, form=scope.form.name,
                           suggestion=suggest(name, scope.form.fields))
        seen: dict[str, A.Loc] = {}
        for step in rule.steps:
            if step.cond is not None:
                self.condition(step.cond, scope)
            self.check_roles(step.roles, step.loc)
            for role in step.roles:
                if role in ("subject", "rep", rule.on.subject):
                    self.error("check.self_approval", step.loc)
                if role in seen:
                    self.error("check.repeated_role", step.loc, name=role, line=seen[role].line)
                seen[role] = step.loc
        if not any(s.cond is None and not s.countersign for s in rule.steps):
            self.error("check.no_final_approver", rule.loc, width=len(rule.name) + 9, rule=rule.name)

    # ------------------------------------------------------------------ examples
    def check_example(self, ex: A.Example, rule: A.Rule, scope: Scope):
        """Turn an example into facts and an expected value, or say what is wrong with it."""
        ex.facts = {}
        for name, value in ex.fields.items():
            f = scope.form.fields.get(name)
            if f is None:
                self.error("check.unknown_field", ex.loc, name=name, form=scope.form.name,
                           suggestion=suggest(name, scope.form.fields))
                continue
            ex.facts[name] = self.example_value(value, f, ex.loc, scope.form.name)
        ex.expected = self.example_expected(ex, rule)

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
                                   suggestion=suggest(name, f.items))
                        continue
                    converted[name] = self.example_value(v, sub, loc, where)
                items.append(converted)
            return items
        if isinstance(value, tuple):                      # a bare word
            word = value[1]
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
        if value.unit is not None and written != dimension(field_unit) and not (
                written == "ratio" and field_unit is None):
            self.error("check.unit_mismatch", loc, op="compare", left=self.field_ty(f).describe(),
                       right=Ty("number", written).describe())
            return value.value
        if value.unit is not None and field_unit and field_unit != "percent":
            return _tidy_number(value.value / UNITS[field_unit][1])   # into the field's unit
        return value.value

    def example_expected(self, ex: A.Example, rule: A.Rule):
        result, kind = ex.result, rule.kind
        if kind in ("alert", "approval"):
            if isinstance(result, tuple) and result[1] in BOOL_WORDS:
                return BOOL_WORDS[result[1]]
            self.error("check.type_mismatch", ex.loc, expected="true or false", found=_shown(result))
        elif kind == "status":
            names = [c.name for c in rule.cases]
            if isinstance(result, tuple) and result[1] in names:
                return result[1]
            self.error("check.enum_value", ex.loc, value=_shown(result), field=rule.name,
                       options=", ".join(names), suggestion=suggest(_shown(result), names))
        elif kind in ("score", "target"):
            if isinstance(result, A.Num):
                return result.value
            self.error("check.type_mismatch", ex.loc, expected="a number", found=_shown(result))
        else:
            self.error("check.example_kind", ex.loc, kind=kind)
        return None

    # ------------------------------------------------------------------ cross-rule checks
    def check_rating_weights(self, rules):
        totals: dict[str, tuple[Decimal, A.Loc]] = {}
        for r in rules:
            if isinstance(r, A.Score) and r.weight is not None:
                prev = totals.get(r.rating, (Decimal(0), r.weight_loc))[0]
                totals[r.rating] = (prev + r.weight, r.weight_loc)
        for rating, (total, loc) in totals.items():
            if total > 1:
                self.error("check.rating_weights_sum", loc, rating=rating, total=_pct(total))

    def check_schedule(self, sched: A.Schedule):
        t = sched.timing
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
        if t.kind == "before_event" and (t.lead.unit not in ("hour", "day") or t.lead.value <= 0):
            self.error("check.bad_interval", t.loc, what="lead time", unit="hours/days")
        for action in sched.actions:
            self.check_roles(action.to, action.loc)
            if action.kind == "report" and action.what not in REPORTS:
                self.error("check.unknown_report", action.loc, name=action.what,
                           suggestion=suggest(action.what, REPORTS))
            if action.kind == "remind" and action.what not in self.schemas:
                self.error("check.unknown_form", action.loc, name=action.what,
                           suggestion=suggest(action.what, self.schemas))

    # ------------------------------------------------------------------ helpers
    def check_roles(self, roles, loc):
        for role in roles:
            if role not in self.roles:
                self.error("check.unknown_role", loc, name=role, suggestion=suggest(role, self.roles))

    def check_placeholders(self, message: str, loc: A.Loc, scope: Scope, only=None):
        import string
        known = set(only) if only is not None else \
            set(PLACEHOLDERS) | set(scope.form.fields) | set(scope.formulas)
        try:
            names = [f for _t, f, _s, _c in string.Formatter().parse(message) if f]
        except ValueError:
            names = []
        for name in names:
            if name not in known:
                self.error("check.unknown_placeholder", loc, name=name, suggestion=suggest(name, known))

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
                       suggestion=suggest(name, [n for n, f in scope.form.fields.items()
                                                 if f.kind == "array"]))
        return lst

    def item_field(self, lst, name, loc, list_name, numeric=False):
        f = lst.items.get(name)
        if f is None:
            self.error("check.unknown_item_field", loc, name=name, list=list_name,
                       suggestion=suggest(name, lst.items))
        elif numeric and f.kind not in ("integer", "number"):
            self.error("check.type_mismatch", loc, expected="a number", found=f.kind)
        return f

    def node_id(self, node, scope: Scope) -> int:
        scope.nodes.append(node)
        return len(scope.nodes) - 1

def _shown(value) -> str:
    if isinstance(value, tuple):
        return value[1]
    if isinstance(value, A.Num):
        return value.text
    if isinstance(value, A.Str):
        return value.value
    return "a list"


def _tidy_number(value: Decimal):
    return int(value) if value == value.to_integral_value() else value.normalize()


def _pct(value: Decimal) -> str:
    return f"{(value * 100).normalize():f}%"


# ---------------------------------------------------------------------- dead status cases
def covers(earlier: A.Expr, later: A.Expr) -> bool:
    """True when `earlier` holding is certain whenever `later` holds (so `later` is dead).

    Decided for the shapes statuses use: the same condition twice, or `x >= k1 × y` before
    `x >= k2 × y` with k1 ≤ k2 (and the mirror for <, <=), assuming y is not negative.
    """
    if canon(earlier) == canon(later):
        return True
    a, b = _linear(earlier), _linear(later)
    if a is None or b is None or a[0] != b[0] or a[2] != b[2]:
        return False
    (_, op_a, _, k_a), (_, op_b, _, k_b) = a, b
    up = {">", ">="}
    down = {"<", "<="}
    if op_a in up and op_b in up:
        return k_a < k_b or (k_a == k_b and (op_a == ">=" or op_b == ">"))
    if op_a in down and op_b in down:
        return k_a > k_b or (k_a == k_b and (op_a == "<=" or op_b == "<"))
    return False


def _linear(node):
    if not isinstance(node, A.Compare) or node.consecutive is not None:
        return None
    right = node.right
    if isinstance(right, A.PercentOf):
        return canon(node.left), node.op, canon(right.operand), right.percent.value
    if isinstance(right, A.Num):
        return canon(node.left), node.op, "1", right.value
    return canon(node.left), node.op, canon(right), Decimal(1)


def check(files: list[A.RuleFile], schemas: dict[str, FormSchema], budget=None) -> CheckedRuleSet:
    return Checker(files, schemas, budget).run()
