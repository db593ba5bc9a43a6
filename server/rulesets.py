"""The active rule set of an app: loaded at start, swapped atomically on reload."""
from __future__ import annotations

from flask import Flask, current_app

from dsl.ruleset import default_schemas_dir, load

from .versions import WORKTREE, ActiveRuleSet, VersionError, load_revision


def load_for(config) -> object:
    path, schemas, rev = config["RULES_PATH"], config["SCHEMAS_PATH"], config["RULES_REV"]
    try:
        return load_revision(path, rev or WORKTREE, schemas)
    except VersionError as err:
        if rev or err.code != "git.not_a_repository":
            raise
    return load(path, schemas or default_schemas_dir(path))     # not in git: content-hash version


def init_app(app: Flask) -> None:
    app.extensions["trimtab.rules"] = ActiveRuleSet(load_for(app.config))


def active():
    return current_app.extensions["trimtab.rules"].current


def reload(rev: str | None, guard=None):
    """Load and swap in; `guard(current, new)` may refuse the new set by raising."""
    holder = current_app.extensions["trimtab.rules"]
    config = dict(current_app.config)
    if rev:
        config["RULES_REV"] = rev

    def load():
        new = load_for(config)
        if guard is not None:
            guard(holder.current, new)
        return new
    return holder.swap(load)                        # raises before anything is swapped
