"""Decisions and their plain-language explanations (zh-CN and en)."""
from __future__ import annotations

import re
from operator import itemgetter
from decimal import Decimal

from . import ast as A

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


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
        return {} if self[2] is None else make_details(self[0], self[1], self[2])

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
        own = getattr(self[0], "headline", None)
        return own(self, lang) if own is not None else HEADLINES[self.kind](self, lang)

    def explain_lines(self, lang: str = "en") -> list[str]:
        lines, previous = [], None
        records = list(self.trace)
        if self.kind == "score" and self.raw is not None:
            # A score's points per line are part of its result, not separate trace records.
            records += [(ln.node_id, p) for ln, p in zip(self.compiled.rule.lines, self.raw[1])]
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


# ---------------------------------------------------------------------- values
def plain(value):
    """JSON-ready: Decimals become ints when whole, else exact decimal strings → float-free."""
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > 30:      # int() of 1E+600000: minutes
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        return float(value) if abs(value.as_tuple().exponent) <= 12 and len(value.as_tuple().digits) <= 15 \
            else str(value.normalize())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def show(value, ty=None) -> str:
    """A value as a person reads it: percentages for ratios, trimmed decimals otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int and (ty is None or getattr(ty, "dim", None) != "ratio"):
        return str(value)                       # what _trim gives a whole number, sooner
    if isinstance(value, (int, Decimal)):
        if ty is not None and getattr(ty, "dim", None) == "ratio":
            return _trim(Decimal(value) * 100) + "%"
        return _trim(Decimal(value))
    return str(value)


def _trim(d: Decimal) -> str:
    if not d.is_finite() or not -30 <= d.adjusted() <= 24:
        return str(d)       # no amount: as it is, at once (quantize past 28 digits raises)
    q = d.quantize(Decimal("0.01")) if d != d.to_integral_value() else d
    text = format(q.normalize(), "f")
    return text


def render_message(template: str, values: dict) -> str:
    # Our own substitution, not str.format: a rule's message can name values, nothing else.
    return _PLACEHOLDER.sub(lambda m: show(values.get(m.group(1), m.group(0))), template)


# ---------------------------------------------------------------------- building
def make_details(compiled, facts: dict, detail: tuple) -> dict:
    own = getattr(compiled, "make_details", None)      # a rule kind with its own (silence.py)
    if own is not None:
        return own(facts, detail)
    rule = compiled.rule
    details: dict = {}
    kind = rule.kind
    if kind == "alert":
        details = {"fired": detail[0], "level": rule.level, "matched": detail[1],
                     "needed": rule.at_least or 1, "notify": list(rule.notify)}
        if rule.notify_cleared:
            details["notify_cleared"] = list(rule.notify_cleared)
        if rule.message and detail[0]:
            values = dict(facts)
            values.update(matched=detail[1], rule=rule.name, level=rule.level,
                          subject=facts.get(rule.on.subject, ""))
            details["message"] = render_message(rule.message, values)
    elif kind == "score":
        details = {"points": detail[0], "lines": [
            {"line": ln.loc.line, "points": p} for ln, p in zip(rule.lines, detail[1])]}
        if rule.weight is not None:
            details.update(rating=rule.rating, weight=rule.weight,
                             weighted=detail[0] * rule.weight)
    elif kind == "status":
        details = {"status": detail[0]}
    elif kind == "target":
        s, lo, hi, formulas, viol = detail
        details = {"suggested": s, "range": [lo, hi], "formulas": formulas,
                     "ok": not viol, "violations": [
                         {"formula": n, "value": v, "low": a, "high": b} for n, v, a, b in viol]}
    elif kind == "split":
        finals, bases, viol = detail
        lst = compiled.form.list_field(rule.across)
        items, key = _items(facts, lst.name), lst.key_field
        details = {"ok": not viol, "total": sum(finals), "shares": [
            {"key": _key(it, key, i), "base": b, "final": f}
            for i, (it, b, f) in enumerate(zip(items, bases, finals))],
            "violations": [{"key": k, "adjustment": a} for k, a in viol]}
    elif kind == "pool":
        shares, size, cs = detail
        lst = compiled.form.list_field(rule.among)
        items, key = _items(facts, lst.name), lst.key_field
        details = {"size": size, "shares": [
            {"key": _key(it, key, i), "contribution": c, "share": s}
            for i, (it, c, s) in enumerate(zip(items, cs, shares))]}
    elif kind == "approval":
        allowed, viol, steps, used = detail
        details = {"allowed": allowed, "changes_this_cycle": used,
                     "violations": [_approval_violation(rule, v) for v in viol],
                     "steps": [{"type": t, "roles": list(roles)} for t, roles in steps]}
    return details


def _items(facts, name) -> list:
    items = facts.get(name) if isinstance(facts, dict) else None
    return items if isinstance(items, list) else []


def _key(item, key, i):
    """An item's name for the details: its key field (None if it has none; an item that is not
    an object has none), or its place in the list when the list has no key field."""
    if not key:
        return i
    return item.get(key) if isinstance(item, dict) else None


def _approval_violation(rule, v) -> dict:
    code, arg = v
    if code == "limit":
        return {"code": "limit", "count": arg, "limit": rule.limit,
                "message": rule.limit_message or None}
    return {"code": "required", "field": arg}


# ---------------------------------------------------------------------- words
def _t(lang, en, zh):
    return zh if lang == "zh" else en


def _h_alert(d: Decision, lang) -> str:
    x, name = d.details, d.rule
    if x["fired"]:
        text = _t(lang, f"{name} ({x['level']}) fired: {x['matched']} of "
                        f"{len(d.compiled.rule.conditions)} conditions held (needs {x['needed']}); "
                        f"notify {', '.join(x['notify'])}",
                  f"{name}（{x['level']}）已触发：{len(d.compiled.rule.conditions)} 项条件中 "
                  f"{x['matched']} 项成立（需 {x['needed']} 项）；通知 {'、'.join(x['notify'])}")
        if x.get("message"):
            text += f" — {x['message']}"
        return text
    return _t(lang, f"{name} did not fire: {x['matched']} of {len(d.compiled.rule.conditions)} "
                    f"conditions held (needs {x['needed']})",
              f"{name} 未触发：{len(d.compiled.rule.conditions)} 项条件中 {x['matched']} 项成立"
              f"（需 {x['needed']} 项）")


def _h_score(d: Decision, lang) -> str:
    x = d.details
    parts = " ".join(f"{'+' if p['points'] >= 0 else ''}{show(p['points'])}" for p in x["lines"])
    text = _t(lang, f"{d.rule} = {show(x['points'])} points ({parts})",
              f"{d.rule} = {show(x['points'])} 分（{parts}）")
    if "weight" in x:
        text += _t(lang, f"; counts {show(x['weight'] * 100)}% toward {x['rating']} → {show(x['weighted'])}",
                   f"；按 {show(x['weight'] * 100)}% 计入 {x['rating']} → {show(x['weighted'])}")
    return text


def _h_status(d: Decision, lang) -> str:
    return f"{d.rule} → {d.details['status']}"


def _h_target(d: Decision, lang) -> str:
    x = d.details
    lo, hi = x["range"]
    text = _t(lang, f"{d.rule} suggests {show(x['suggested'])} (range {show(lo)} – {show(hi)})",
              f"{d.rule} 建议 {show(x['suggested'])}（区间 {show(lo)} – {show(hi)}）")
    for v in x["violations"]:
        text += _t(lang, f"; {v['formula']} = {show(v['value'])} is outside {show(v['low'])} – {show(v['high'])}",
                   f"；{v['formula']} = {show(v['value'])} 超出 {show(v['low'])} – {show(v['high'])}")
    return text


def _h_split(d: Decision, lang) -> str:
    x = d.details
    shares = ", ".join(f"{s['key']} {show(s['final'])}" for s in x["shares"])
    text = _t(lang, f"{d.rule}: {shares}", f"{d.rule}：{shares}")
    for v in x["violations"]:
        text += _t(lang, f"; {v['key']} adjusted {show(v['adjustment'] * 100)}% without a reason",
                   f"；{v['key']} 调整 {show(v['adjustment'] * 100)}% 但未填写理由")
    return text


def _h_pool(d: Decision, lang) -> str:
    x = d.details
    shares = ", ".join(f"{s['key']} {show(s['share'])}" for s in x["shares"])
    return _t(lang, f"{d.rule}: pool {show(x['size'])} → {shares}",
              f"{d.rule}：奖池 {show(x['size'])} → {shares}")


def _h_approval(d: Decision, lang) -> str:
    x = d.details
    chain = " → ".join("+".join(s["roles"]) for s in x["steps"])
    if x["allowed"]:
        return _t(lang, f"{d.rule}: may proceed; approvers {chain}",
                  f"{d.rule}：可以提交；审批链 {chain}")
    reasons = []
    for v in x["violations"]:
        if v["code"] == "limit":
            reasons.append(v["message"] or _t(lang, f"already {v['count']} change(s) this cycle "
                                                    f"(at most {v['limit']})",
                                              f"本周期已调整 {v['count']} 次（至多 {v['limit']} 次）"))
        else:
            reasons.append(_t(lang, f"`{v['field']}` is required", f"必须填写 `{v['field']}`"))
    return _t(lang, f"{d.rule}: refused — {'; '.join(reasons)}",
              f"{d.rule}：不予受理 — {'；'.join(reasons)}")


HEADLINES = {"alert": _h_alert, "score": _h_score, "status": _h_status, "target": _h_target,
             "split": _h_split, "pool": _h_pool, "approval": _h_approval}


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
        ty = getattr(node.left, "ty", None)
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
    if isinstance(node, A.PointsLine):
        return _t(lang, f"{'+' if value >= 0 else ''}{show(value)} points from `{text}` ({where})",
                  f"`{text}` 得 {'+' if value >= 0 else ''}{show(value)} 分（{where}）")
    if isinstance(value, bool):
        mark = "✓" if value else "✗"
        verdict = _t(lang, "holds" if value else "does not hold", "成立" if value else "不成立")
        return f"{mark} {text} {verdict} ({where})"
    name = next((f.name for f in compiled.rule.formulas if f.expr is node), None)
    if name is not None and name != text:
        text = f"{name} = {text}"
    return f"{text} → {show(value, getattr(node, 'ty', None))} ({where})"
