"""The trimtab rule language.

Stages, each its own module, none reaching back into an earlier one:
    parser (text → Lark tree; tables cached by grammar_cache) → build_ast (tree → typed AST)
    → checker (names, types, units, domain checks; its findings kept beside the AST in
    annotations) → compiler + functions (AST → Python functions) → decision (results →
    explanations; compact traces to store).
Each rule kind (alert, score, status, target, split, pool, approval) lives in one module under
kinds/, with its AST node, typed result and a hook for every stage; the stages loop over
kinds.KINDS.  `ruleset.load()` runs the stages; `interpreter` is the small reference
evaluator for tests; `decode` turns JSON bytes into facts, validated, in one pass.
"""
