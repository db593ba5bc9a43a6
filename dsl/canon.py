"""A language-independent, location-free rendering of expressions, for comparing meanings."""
from __future__ import annotations

from . import ast as A


def canon(node) -> str:
    """A language-independent, location-free rendering of an AST node (for comparisons)."""
    if isinstance(node, A.Num):
        return f"{node.value}{node.unit or ''}"
    if isinstance(node, A.Str):
        return repr(node.value)
    if isinstance(node, A.Ref):
        return node.dotted
    if isinstance(node, A.Call):
        parts = [canon(a) for a in node.args]
        if node.where is not None:
            parts.append("where " + canon(node.where))
        if node.window is not None:
            window = node.window
            parts.append(f"this {window.unit}" if window.so_far else f"last {window.n} {window.unit}")
        return f"{node.func or node.spelled}({', '.join(parts)})"
    if isinstance(node, A.Binary):
        return f"({canon(node.left)} {node.op} {canon(node.right)})"
    if isinstance(node, A.Neg):
        return f"-{canon(node.operand)}"
    if isinstance(node, A.PercentOf):
        return f"({canon(node.percent)} of {canon(node.operand)})"
    if isinstance(node, A.Compare):
        text = f"({canon(node.left)} {node.op} {canon(node.right)})"
        if node.consecutive:
            text += f" x{node.consecutive.n}{node.consecutive.unit}"
        return text
    if isinstance(node, A.BoolOp):
        return "(" + f" {node.op} ".join(canon(i) for i in node.items) + ")"
    if isinstance(node, A.Not):
        return f"not {canon(node.operand)}"
    return repr(node)


def anchor(node) -> str:
    """What a condition is about: its leftmost name (`pipeline_coverage < 75%` → pipeline_coverage)."""
    while True:
        if isinstance(node, A.Compare):
            node = node.left
        elif isinstance(node, A.BoolOp):
            node = node.items[0]
        elif isinstance(node, (A.Not, A.Neg)):
            node = node.operand
        elif isinstance(node, A.Binary):
            node = node.left
        elif isinstance(node, A.PercentOf):
            node = node.operand
        elif isinstance(node, A.Call):
            node = node.args[0] if node.args else None
            if node is None:
                return "?"
        elif isinstance(node, A.Ref):
            return node.dotted
        else:
            return canon(node)
