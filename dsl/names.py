"""The checker's first pass: names.  A field, a list's item field, a form and a role may be
named by its id or by its Chinese label (`x-label-zh`, `x-title-zh`, `role NAME "label"`).

This pass finds what each name in a declaration stands for and hands the checker a copy of the
declaration written with ids only (the parsed one is left as the builder made it), so that
everything after it — types, compiled code, decisions, traces, diffs — is the same whichever
name was written; explanations quote the rule's own text, as written.  A name that could mean
two things (two fields with one label, a label that is another field's id or a formula's
name) is `check.ambiguous_name`.  For `trimtab fmt` it records where each name stands and its
two spellings, id and label.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import ast as A
from .kinds import KINDS
from .schemas import FieldType, FormSchema

BUILTIN_ROLES = ("subject", "rep", "direct_manager", "hrbp", "regional_manager",
                 "headquarters", "attendees")

# Words on a line, texts in quotes and comments left out: where a name may stand.
_WORDS = re.compile(r'"[^"\n]*"|“[^”\n]*”|#.*|(\w+)')
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

Spellings = dict          # (line, column) -> (id as written in en, label as written in zh)


@dataclass(frozen=True)
class Names:
    """One namespace (a form's fields, a list's item fields, the forms, the roles): the ids,
    and the labels that stand for them."""
    labels: dict            # id -> its label or None
    by_label: dict          # label -> the one id it names
    clashes: dict           # name -> the ids it could mean

    @classmethod
    def of(cls, labels: dict) -> Names:
        owners: dict[str, list] = {}
        for ident, label in labels.items():
            if label and label != ident:
                owners.setdefault(label, []).append(ident)
        by_label, clashes = {}, {}
        for label, idents in owners.items():
            if len(idents) == 1 and label not in labels:
                by_label[label] = idents[0]
            else:       # two things share the label, or it is another thing's id
                clashes[label] = tuple(sorted(set(idents) | ({label} & set(labels))))
        return cls(labels, by_label, clashes)

    def find(self, name: str) -> tuple[str, Any] | None:
        """("id", id), ("label", id), ("clash", ids) or None when the name is not here."""
        if name in self.clashes:
            return "clash", self.clashes[name]
        if name in self.labels:
            return "id", name
        if name in self.by_label:
            return "label", self.by_label[name]
        return None

    def label(self, ident: str) -> Optional[str]:
        """The label to write for `ident`: one that names it alone."""
        label = self.labels.get(ident)
        return label if label is not None and self.by_label.get(label) == ident else None


def field_names(fields: dict) -> Names:
    return Names.of({n: f.label for n, f in fields.items()})


_WHAT = {"field": ("the field", "字段"), "item": ("the item field", "条目字段"),
         "form": ("the form", "表单"), "role": ("the role", "角色"),
         "formula": ("the formula", "公式")}


class Resolver:
    """Names resolved declaration by declaration; each kind's `names` hook names its clauses."""

    def __init__(self, files: list[A.RuleFile], schemas: dict[str, FormSchema], error: Callable):
        self.schemas, self.error = schemas, error
        self.lines = {f.path: f.text.splitlines() for f in files}
        self.forms = Names.of({n: s.title for n, s in schemas.items()})
        roles: dict = {r: None for r in BUILTIN_ROLES}
        references: set = set()
        for f in files:
            for d in f.decls:
                if isinstance(d, A.RoleDecl):
                    roles[d.name] = d.label
                elif isinstance(d, A.Reference):
                    references.add(d.name)
        self.roles, self.references = Names.of(roles), references
        self.spellings: dict[str, Spellings] = {f.path: {} for f in files}
        self._fields: dict[str, Names] = {}
        self._items: dict[int, Names] = {}
        self.form: Optional[FormSchema] = None      # of the rule being resolved
        self.formulas: set = set()
        self.changes: list = []                      # (node, attribute, value with ids)

    # ------------------------------------------------------------------ declarations
    def file(self, f: A.RuleFile) -> A.RuleFile:
        decls = [self.decl(d) for d in f.decls]
        if all(new is old for new, old in zip(decls, f.decls)):
            return f
        return A.RuleFile(f.path, f.text, decls)

    def decl(self, d):
        self.changes, self.form, self.formulas = [], None, set()
        if isinstance(d, A.Rule):
            self.rule(d)
        elif isinstance(d, A.Schedule):
            for action in d.actions:
                after = self.roles_at(action, "to", action.loc)
                if action.kind == "remind":
                    self.form_at(action, "what", action.loc, after)
        if not self.changes:
            return d
        memo: dict = {}
        new = copy.deepcopy(d, memo)
        for node, attr, value in self.changes:
            setattr(memo[id(node)], attr, value)   # the copy's node, never the parsed one
        return new

    def rule(self, rule: A.Rule):
        on = rule.on
        if on is None:
            return
        after = self.form_at(on, "form", on.loc)
        self.form = self.schemas.get(self.form_name(on))
        if self.form is None:
            return                          # the checker says the form is unknown
        self.fields_at(on, "subject", on.loc, after)
        self.formulas = {f.name for f in rule.formulas}
        for formula in rule.formulas:
            self.formula_name(formula)
            self.expr(formula.expr)
            if formula.bound is not None and formula.bound.of is not None:
                self.expr(formula.bound.of)
        hook = KINDS[rule.kind].names
        if hook is not None:
            hook(self, rule)
        for ex in rule.examples:
            self.example(ex)

    def form_name(self, on: A.OnForm) -> str:
        return next((v for n, a, v in self.changes if n is on and a == "form"), on.form)

    # ------------------------------------------------------------------ names in clauses
    def form_at(self, node, attr: str, loc: A.Loc, after: int = 0) -> int:
        """A form named by the string `node.attr`; the column after it on its line."""
        return self._one(node, attr, loc, self.forms, "form", after)

    def fields_at(self, node, attr: str, loc: A.Loc, after: int = 0, lst: FieldType | None = None) -> int:
        """A field (of the list `lst`'s items when given) named by `node.attr`."""
        if self.form is None:
            return after
        names = self.item_names(lst) if lst is not None else self.field_names()
        return self._one(node, attr, loc, names, "item" if lst is not None else "field", after)

    def roles_at(self, node, attr: str, loc: A.Loc) -> int:
        """The roles in the list `node.attr`."""
        return self._many(node, attr, loc, self.roles, "role")

    def fields_list_at(self, node, attr: str, loc: A.Loc) -> int:
        return self._many(node, attr, loc, self.field_names(), "field") if self.form else 0

    def list_at(self, node, attr: str, loc: A.Loc, item_word: bool = False) -> Optional[FieldType]:
        """A list field named by `node.attr` (or its item name); written back as the list's id,
        or as its item name where the rule reads an item (`for each lead`)."""
        if self.form is None:
            return None
        name = getattr(node, attr)
        lst = self.form.list_field(name)
        if lst is not None:
            self._spell(loc, name, 0, name, self.field_names().label(lst.name))
            return lst
        found = self.field_names().find(name)
        if found is None:
            return None
        if found[0] == "clash":
            self._ambiguous(loc, name, 0, "field", found[1])
            return None
        lst = self.form.fields[found[1]]
        if lst.kind != "array":
            return None
        written = lst.item_name if item_word and lst.item_name else lst.name
        self._spell(loc, name, 0, written, name)
        self.changes.append((node, attr, written))
        return lst

    def _one(self, node, attr, loc, names: Names, what: str, after: int) -> int:
        name = getattr(node, attr)
        if name is None:
            return after
        ident, after = self.resolve(loc, name, after, names, what)
        if ident != name:
            self.changes.append((node, attr, ident))
        return after

    def _many(self, node, attr, loc, names: Names, what: str) -> int:
        after, out = 0, []
        for name in getattr(node, attr):
            ident, after = self.resolve(loc, name, after, names, what)
            out.append(ident)
        if out != getattr(node, attr):
            self.changes.append((node, attr, out))
        return after

    def resolve(self, loc: A.Loc, name: str, after: int, names: Names, what: str) -> tuple[str, int]:
        """(the id `name` stands for — itself when unknown or ambiguous —, the column after it),
        its spellings recorded, or its ambiguity said."""
        found = names.find(name)
        if found is None:
            return name, after
        if found[0] == "clash":
            return name, self._ambiguous(loc, name, after, what, found[1])
        return found[1], self._spell(loc, name, after, found[1], names.label(found[1]))

    # ------------------------------------------------------------------ expressions
    def expr(self, node, items: FieldType | None = None) -> None:
        """The names in an expression; `items`: the list whose item fields are in scope."""
        if isinstance(node, A.Ref):
            self.ref(node, items)
        elif isinstance(node, A.Call):
            for arg in node.args:
                self.expr(arg, items)
            if node.where is not None:
                self.expr(node.where, self.listed(node.args[0]) if node.args else None)
        elif isinstance(node, A.Compare):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                if not self.enum_word(side, other, items):
                    self.expr(side, items)
        else:
            for child in _children(node):
                self.expr(child, items)

    def ref(self, node: A.Ref, items: FieldType | None) -> None:
        if self.form is None or len(node.parts) > 2:
            return
        head = node.parts[0]
        if len(node.parts) == 1:
            names, what = self.scope_of(head, items)
            parts = [self.resolve(node.loc, head, 0, names, what)[0] if names else head]
        elif head in self.references and head not in self.form.fields:
            return                          # a reference value: `industry.effective_visits`
        else:                               # a list's item field: `deals.amount`
            first, after = self.resolve(node.loc, head, 0, self.field_names(), "field")
            lst, second = self.form.fields.get(first), node.parts[1]
            if lst is not None and lst.kind == "array":
                second = self.resolve(node.loc, second, after, self.item_names(lst), "item")[0]
            parts = [first, second]
        if parts != node.parts:
            self.changes.append((node, "parts", parts))

    def scope_of(self, name: str, items: FieldType | None) -> tuple[Optional[Names], str]:
        """Where a bare name is looked up: the items' fields, else (unless it is a formula,
        whose name formula_name holds to no label) the form's."""
        if items is not None and self.item_names(items).find(name) is not None:
            return self.item_names(items), "item"
        if name in self.formulas:
            return None, ""
        return self.field_names(), "field"

    def listed(self, arg) -> Optional[FieldType]:
        """The list a list call reads (`count(线索 where …)`), whichever name it was given."""
        if not isinstance(arg, A.Ref) or self.form is None:
            return None
        found = self.field_names().find(arg.parts[0])
        f = self.form.fields.get(found[1]) if found is not None and found[0] != "clash" else None
        return f if f is not None and f.kind == "array" else None

    def enum_word(self, side, other, items) -> bool:
        """A bare word compared with an enumerated field is its value, not a name."""
        if not (isinstance(side, A.Ref) and len(side.parts) == 1 and isinstance(other, A.Ref)
                and len(other.parts) == 1):
            return False
        names, _what = self.scope_of(other.parts[0], items)
        found = names.find(other.parts[0]) if names is not None else None
        if found is None or found[0] == "clash" or self.form is None:
            return False
        f = (items.items if items is not None else {}).get(found[1]) or self.form.fields.get(found[1])
        return f is not None and bool(f.enum) and side.parts[0] in f.enum

    # ------------------------------------------------------------------ the rest of a rule
    def formula_name(self, formula: A.Formula) -> None:
        """A formula named like a field's label would hide the field wherever the label is read."""
        found = self.field_names().find(formula.name)
        if found is not None and found[0] != "id":
            self._ambiguous(formula.loc, formula.name, 0, "field", ("formula", *_ids(found)))

    def example(self, ex: A.Example) -> None:
        """`example 有效拜访数 = 7, 线索 = [{跟进间隔 = 50}] → …`: fields and item fields."""
        fields, after = {}, 0
        for name, value in ex.fields.items():
            ident, after = self.resolve(ex.loc, name, after, self.field_names(), "field")
            lst = A.given(self.form).fields.get(ident)
            if isinstance(value, list) and lst is not None and lst.kind == "array":
                items = []
                for item in value:
                    converted = {}
                    for key, v in item.items():
                        key, after = self.resolve(ex.loc, key, after, self.item_names(lst), "item")
                        converted[key] = v
                    items.append(converted)
                value = items
            fields[ident] = value
        if fields != ex.fields:
            self.changes.append((ex, "fields", fields))

    def placeholders(self, node, attr: str) -> None:
        """`{有效拜访数}` in a message: the field's id, as its template reads."""
        text = getattr(node, attr)
        names = self.field_names() if self.form is not None else None
        if names is None:
            return

        def swap(m: re.Match) -> str:
            found = names.find(m.group(1)) if m.group(1) not in self.formulas else None
            return "{" + found[1] + "}" if found is not None and found[0] == "label" else m.group(0)
        new = _PLACEHOLDER.sub(swap, text)
        if new != text:
            self.changes.append((node, attr, new))

    # ------------------------------------------------------------------ namespaces
    def field_names(self) -> Names:
        form = self.form
        assert form is not None
        names = self._fields.get(form.name)
        if names is None:
            names = self._fields[form.name] = field_names(form.fields)
        return names

    def item_names(self, lst: FieldType) -> Names:
        names = self._items.get(id(lst))
        if names is None:
            names = self._items[id(lst)] = field_names(lst.items)
        return names

    # ------------------------------------------------------------------ where names stand
    def _spell(self, loc: A.Loc, name: str, after: int, ident: str, label: Optional[str]) -> int:
        """Record the two spellings of the name written at its place; the column after it."""
        column = self._column(loc, name, after)
        if column is None:
            return after
        if label is not None:
            self.spellings.setdefault(loc.file, {})[(loc.line, column)] = (ident, label)
        return column + len(name)

    def _column(self, loc: A.Loc, name: str, after: int) -> Optional[int]:
        lines = self.lines.get(loc.file, [])
        if not 0 < loc.line <= len(lines):
            return None
        start = max(after, loc.column)
        for m in _WORDS.finditer(lines[loc.line - 1]):
            if m.group(1) == name and m.start(1) + 1 >= start:
                return m.start(1) + 1
        return None

    def _ambiguous(self, loc: A.Loc, name: str, after: int, what: str, idents) -> int:
        column = self._column(loc, name, after) or loc.column
        meanings = [("formula", name) if i == "formula" else (what, i) for i in idents]
        self.error("check.ambiguous_name", A.Loc(loc.file, loc.line, column, loc.line, column + len(name)),
                   name=name, meanings=", ".join(f"{_WHAT[w][0]} `{i}`" for w, i in meanings),
                   meanings_zh="、".join(f"{_WHAT[w][1]} `{i}`" for w, i in meanings))
        return column + len(name)


def _ids(found) -> tuple:
    return found[1] if found[0] == "clash" else (found[1],)


def _children(node):
    if isinstance(node, A.Binary):
        return (node.left, node.right)
    if isinstance(node, (A.Neg, A.Not)):
        return (node.operand,)
    if isinstance(node, A.PercentOf):
        return (node.percent, node.operand)
    if isinstance(node, A.BoolOp):
        return node.items
    return ()


def resolve_names(files: list[A.RuleFile], schemas: dict[str, FormSchema],
                  error: Callable) -> tuple[list[A.RuleFile], dict[str, Spellings]]:
    """The files with every name written as its id, and where each name stands with its two
    spellings (file → (line, column) → (id, label)); ambiguous names go to `error`."""
    resolver = Resolver(files, schemas, error)
    return [resolver.file(f) for f in files], resolver.spellings
