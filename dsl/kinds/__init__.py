"""The rule kinds, one module each, and the registry the stages loop over.

Each kind module holds its AST node and clause nodes, its typed result, and its hooks for
building, checking, compiling, running, explaining, diffing, testing and listing its tunable
numbers (see common.Kind).  Adding a kind is adding a module here, with its grammar lines
(grammar.lark) and its keyword and word (keywords.py, vocabulary.py); adding a clause touches
its kind's module and its grammar line alone.
"""
from __future__ import annotations

from . import alert, approval, pool, rating, score, split, status, target
from .common import Kind

KINDS: dict[str, Kind] = {k.name: k for k in (
    alert.KIND, score.KIND, status.KIND, target.KIND, split.KIND, pool.KIND, approval.KIND,
    rating.KIND)}

__all__ = ["KINDS", "Kind"]
