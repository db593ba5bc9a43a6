"""The trimtab rule language.

Stages, each its own module, none reaching back into an earlier one:
    parser (text → Lark tree) → build_ast (tree → typed AST) → checker (names, types, units,
    domain checks) → compiler (AST → Python functions) → decision (values → explanations).
`ruleset.load()` runs them all; `interpreter` is the small reference evaluator for tests.
"""
