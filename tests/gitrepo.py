"""A throwaway git repository holding a copy of the shipped rules, for version tests."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import RULES, SCHEMAS

GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


class RulesRepo:
    def __init__(self, root: Path):
        self.root = root
        shutil.copytree(RULES, root / "rules")
        shutil.copytree(SCHEMAS, root / "form_schemas")
        self.git("init", "-q", "-b", "main")
        self.commit("shipped rules")

    def git(self, *args) -> str:
        env = {**os.environ, **GIT_ENV}
        return subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True,
                              check=True, env=env).stdout.strip()

    def edit(self, rel: str, old: str, new: str):
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    @property
    def rules(self) -> Path:
        return self.root / "rules"
