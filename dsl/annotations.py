"""What the checker learns about a rule's nodes, kept beside the AST and never written into it.

Every node the checker looks at gets a node id (its place in `nodes`: ids follow the source,
so sorting trace records by id tells the story in the file's order).  The type of each
expression and what each name stands for are tables keyed by node id; an example's facts and
expected value are keyed by the example.  The compiler, the interpreter and the explanations
read these tables; the parsed AST stays as the builder made it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .types import Ty


@dataclass
class Binding:
    """What a name in an expression stands for."""
    kind: str                # field | item | list | list_field | formula | const | enum_word
    name: str = ""
    field: Any = None        # schemas.FieldType
    list_field: Any = None
    value: Any = None        # for const


class Annotations:
    """One rule's side tables."""

    __slots__ = ("nodes", "ids", "types", "bindings", "examples")

    def __init__(self) -> None:
        self.nodes: list = []                       # node id -> node
        self.ids: dict[int, int] = {}               # id(node) -> node id (the latest given)
        self.types: dict[int, Ty] = {}              # node id -> type
        self.bindings: dict[int, Binding] = {}      # node id -> binding
        self.examples: dict[int, tuple] = {}        # id(example) -> (facts, expected)

    def add(self, node: Any) -> int:
        """A new node id for `node`."""
        self.nodes.append(node)
        nid = self.ids[id(node)] = len(self.nodes) - 1
        return nid

    def id_of(self, node: Any) -> int:
        return self.ids[id(node)]

    def ty(self, node: Any) -> Optional[Ty]:
        nid = self.ids.get(id(node))
        return None if nid is None else self.types.get(nid)

    def binding(self, node: Any) -> Optional[Binding]:
        nid = self.ids.get(id(node))
        return None if nid is None else self.bindings.get(nid)

    def bound(self, node: Any) -> Binding:
        """The binding of a name the checker accepted."""
        found = self.binding(node)
        assert found is not None, "a checked name is bound"
        return found

    def typed(self, node: Any) -> Ty:
        """The type of an expression the checker accepted."""
        found = self.ty(node)
        assert found is not None, "a checked expression is typed"
        return found

    def bind(self, node: Any, binding: Binding) -> None:
        self.bindings[self.ids[id(node)]] = binding

    def example(self, ex: Any) -> tuple:
        """(facts, expected) of an inline example."""
        return self.examples.get(id(ex), ({}, None))
