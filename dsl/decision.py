"""Decisions and their plain-language explanations (zh-CN and en)."""
from __future__ import annotations

from operator import itemgetter

from . import ast as A
from .kinds.score import PointsLine
from .words import plain, render_message, show, t as _t

__all__ = ["Decision", "plain", "render_message", "show", "source_text", "render_record"]


class Decision(tuple):
    """What one rule decided for one set of facts: (compiled rule, facts, raw result, trace
    records, error).

    A tuple, so making one costs next to nothing on the evaluation path; the details dict and
    the words are built only when someone asks for them."""

    __slots__ = ()

    @classmethod
    def make(cls, compiled, facts, raw, trace, error=None) -> "Decision":
        return tuple.__new__(cls, (compiled, facts, raw, trace, error))

    compiled = property(itemgetter(0))
    facts = property(itemgetter(1))
    raw = property(itemgetter(2))        # the compiled function's result tuple, None on error
    trace = property(itemgetter(3))      # (node id, value) and (node id, left, right, result)
    error = property(itemgetter(4))      # an EvalError when the facts did not fit

    @property
    def rule(self) -> str:
        return self[0].name

    @property
    def kind(self) -> str:
        return self[0].kind

    @property
    def value(self):
        """The headline: fired?, points, case, suggested amount, shares, allowed?"""
        return None if self[2] is None else self[2][0]

    @property
    def details(self) -> dict:
        """The decision in fields (its kind's `details` hook); {} after an error."""
        return {} if self[2] is None else self[0].hooks.details(self[0], self[1], self[2])

    def __repr__(self) -> str:
        return f"Decision({self.rule!r}, value={self.value!r}, error={self.error!r})"

    def to_json(self, lang: str = "en", with_trace: bool = True) -> dict:
        out = {"rule": self.rule, "kind": self.kind, "form": self.compiled.form.name,
               "file": self.compiled.rule.loc.file, "line": self.compiled.rule.loc.line}
        if self.error is not None:
            out["error"] = self.error.to_json(lang)
            return out
        out["value"] = plain(self.value)
        out.update({k: plain(v) for k, v in self.details.items()})  # built once here
        out["explanation"] = self.headline(lang)
        if with_trace:
            out["trace"] = self.explain_lines(lang)
        return out

    def headline(self, lang: str = "en") -> str:
        if self.error is not None:
            return self.error.message(lang)
        return self[0].hooks.headline(self, lang)

    def explain_lines(self, lang: str = "en") -> list[str]:
        lines, previous = [], None
        records = list(self.trace)
        extra = getattr(self[0].hooks, "extra", {}).get("records")
        if extra is not None and self.raw is not None:      # records a kind keeps in its result
            records += extra(self[0], self.raw, self[0].ann.id_of)
        # Node ids follow the source, so sorting by id tells the story in the file's order.
        for rec in sorted(records, key=_record_id):
            # A clause that is a single comparison was already shown with its values, unless
            # it is a streak, whose verdict is more than this period's comparison.
            node = self.compiled.nodes[rec[0]]
            if not (len(rec) == 2 and previous is not None and previous[0] == rec[0] and (
                    len(previous) == 4 and getattr(node, "consecutive", None) is None
                    or previous[1] in ("missing", "no_history"))):
                lines.append(render_record(self.compiled, rec, lang))
            previous = rec
        return lines

    def explain(self, lang: str = "en") -> str:
        lines = [self.headline(lang)] + ["  " + line for line in self.explain_lines(lang)]
        return "\n".join(lines)


def _record_id(record) -> int:
    return record[0]


# ---------------------------------------------------------------------- trace records
def source_text(compiled, node) -> str:
    loc = node.loc
    lines = compiled.lines
    if not (0 < loc.line <= len(lines)):
        return ""
    text = lines[loc.line - 1]
    if loc.end_line == loc.line:
        return text[loc.column - 1: loc.end_column - 1].strip()
    return text[loc.column - 1:].strip()


def _label(compiled, node_id: int):
    """(node, its source text, file:line) — the same for every decision of a rule, so kept
    on the compiled rule after the first time (rendering traces is on the webhook's path)."""
    labels = compiled.__dict__.setdefault("_labels", {})
    found = labels.get(node_id)
    if found is None:
        node = compiled.nodes[node_id]
        found = labels[node_id] = (node, source_text(compiled, node),
                                   f"{compiled.rule.loc.file.rsplit('/', 1)[-1]}:{node.loc.line}")
    return found


def render_record(compiled, rec, lang) -> str:
    node, text, where = _label(compiled, rec[0])
    if len(rec) == 4:
        _i, left, right, ok = rec
        op = node.op if isinstance(node, A.Compare) else "?"
        mark = "✓" if ok else "✗"
        ty = compiled.ann.ty(node.left)
        verdict = _t(lang, "holds" if ok else "does not hold", "成立" if ok else "不成立")
        if getattr(node, "consecutive", None) is not None:
            period = _t(lang, "this period", "本期")
            return f"· {text}: {period} {show(left, ty)} {op} {show(right, ty)} ({where})"
        return (f"{mark} {text}: {show(left, ty)} {op} {show(right, ty)} {verdict} ({where})")
    value = rec[1]
    if value == "silent":
        return compiled.render(rec, text, where, lang)
    if value == "missing":
        return _t(lang, f"✗ {text}: nothing was submitted for {rec[2]} ({where})",
                  f"✗ {text}：{rec[2]} 未提交（{where}）")
    if value == "no_history":
        return _t(lang, f"✗ {text}: not enough history ({where})", f"✗ {text}：历史数据不足（{where}）")
    if isinstance(node, PointsLine):
        return _t(lang, f"{'+' if value >= 0 else ''}{show(value)} points from `{text}` ({where})",
                  f"`{text}` 得 {'+' if value >= 0 else ''}{show(value)} 分（{where}）")
    if isinstance(value, bool):
        mark = "✓" if value else "✗"
        verdict = _t(lang, "holds" if value else "does not hold", "成立" if value else "不成立")
        return f"{mark} {text} {verdict} ({where})"
    name = next((f.name for f in compiled.rule.formulas if f.expr is node), None)
    if name is not None and name != text:
        text = f"{name} = {text}"
    return f"{text} → {show(value, compiled.ann.ty(node))} ({where})"
