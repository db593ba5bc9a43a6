"""Review of drafts through git: a submission is a commit on `review/draft-<id>` with the HRBP
as its author; IT accepts it (merge, then the guarded reload) or sends it back.

The rules repository is the one holding RULES_PATH.  Commits are made with git's plumbing
(a scratch index, `hash-object`, `write-tree`, `commit-tree`, `update-ref`), so no work tree
is touched until IT accepts — and then only the branch being served moves.  The served rules
change only through `accept`, and only to a version that loads, checks and keeps what it
should (server/domain/reload_guard.py); a refused merge leaves the branch where it was.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.versions import WORKTREE, locate
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError

GIT_TIMEOUT_S = 60
COMMIT = re.compile(r"^[0-9a-f]{40}$")
COMMITTER = {"GIT_COMMITTER_NAME": "trimtab", "GIT_COMMITTER_EMAIL": "trimtab@localhost"}


class Git:
    """The rules repository, driven through the git command line."""

    def __init__(self, config):
        try:
            self.source = locate(config["RULES_PATH"], config.get("SCHEMAS_PATH"))
        except RuleError:
            raise DomainError("rules_not_in_git", msg("the served rules are not in a git repository; "
                                                      "a review needs one")) from None
        self.repo: Path = self.source.repo
        self.rev = config.get("RULES_REV") or WORKTREE

    def run(self, *args: str, data: bytes | None = None, env: dict | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["git", "-C", str(self.repo), *args], input=data, capture_output=True,
                              timeout=GIT_TIMEOUT_S, check=False,
                              env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})})
        if check and proc.returncode != 0:
            # git's own words, as it wrote them
            raise DomainError("git_failed", msg("git {command} failed: {error}", command=args[0],
                                                error=proc.stderr.decode("utf-8", "replace").strip()[:300]))
        return proc

    def out(self, *args: str, **kw) -> str:
        return self.run(*args, **kw).stdout.decode("utf-8").strip()

    def commit_of(self, version: str) -> str:
        """The served version as a commit; refused when it is not one (files not committed)."""
        if not COMMIT.match(version or "") or \
                self.run("cat-file", "-e", f"{version}^{{commit}}", check=False).returncode:
            raise DomainError("rules_not_in_git", msg("the served version `{version}` is not a commit of the "
                                                      "rules repository; commit the rules first",
                                                      version=version[:60]))
        return version

    def commit_files(self, base: str, files: dict[str, str], message: str, author: dict) -> str:
        """A commit whose parent is `base` and whose tree is base's with `files` written."""
        with tempfile.TemporaryDirectory(prefix="trimtab-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.run("read-tree", base, env=env)
            for path, text in files.items():
                blob = self.out("hash-object", "-w", "--stdin", data=text.encode("utf-8"))
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.out("write-tree", env=env)
        return self.out("commit-tree", tree, "-p", base, data=message.encode("utf-8"),
                        env={**author, **COMMITTER})

    def set_branch(self, branch: str, commit: str, old: str | None = None) -> None:
        self.run("update-ref", f"refs/heads/{branch}", commit, *([old] if old else []))

    def served_branch(self) -> str:
        """The branch accepted changes go to: RULES_REV when it names a branch, else the
        branch checked out where the files on disk are served from."""
        if self.rev != WORKTREE:
            if self.run("show-ref", "--verify", "--quiet", f"refs/heads/{self.rev}",
                        check=False).returncode:
                raise DomainError("rules_not_on_a_branch", msg("the served revision `{rev}` is not a branch; "
                                                               "accepted changes need one to go to", rev=self.rev))
            return self.rev
        head = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if head.returncode:
            raise DomainError("rules_not_on_a_branch", msg("the rules repository is not on a branch"))
        return head.stdout.decode().strip()

    def merged(self, tip: str, review: str, message: str, author: dict) -> str:
        """The commit `tip` becomes with `review` merged: `review` itself when it only adds
        to `tip`, else a merge commit; 409 when the two changed the same lines."""
        base = self.out("merge-base", tip, review)
        if base == tip:
            return review
        proc = self.run("merge-tree", "--write-tree", "--messages", tip, review, check=False)
        if proc.returncode:
            raise DomainError("review_conflict", msg("the draft and the served rules changed the same lines "
                                                     "since the draft was opened; send it back to be redone"))
        tree = proc.stdout.decode().splitlines()[0].strip()
        return self.out("commit-tree", tree, "-p", tip, "-p", review,
                        data=message.encode("utf-8"), env={**author, **COMMITTER})

    def advance_worktree(self, commit: str) -> None:
        """Bring the checked-out branch (and its files) to `commit`, a descendant of it."""
        self.run("merge", "--ff-only", "--quiet", commit)

    def dirty(self) -> bool:
        return bool(self.out("status", "--porcelain", "--untracked-files=no", "--",
                             self.source.rules, self.source.schemas))


def author_of(person, fallback: str) -> dict:
    name = person.name if person is not None else fallback
    email = (person.email if person is not None and person.email else f"{fallback}@trimtab.invalid")
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email}


def message(draft, changes: dict, replay: dict | None, tests: dict, lang: str) -> str:
    """The commit message: the title, the diff in words, the replay summary, the tests."""
    lines = [draft.title, "", f"Draft {draft.id} by {draft.owner_id}, opened on {draft.base_version[:12]}.",
             "", "Changes:"]
    lines += [f"  {w}" for w in changes["words"]] or ["  (none)"]
    lines += ["", "Replay:"]
    if replay is None:
        lines.append("  not run since the draft's last change")
    else:
        lines.append(f"  {replay['records']} records, {replay['decisions_compared']} decisions "
                     f"compared, {replay['decisions_changed']} changed")
        lines += [f"  {rule}: {n}" for rule, n in replay["by_rule"].items()]
        lines += [f"  group {g}: {n}" for g, n in list(replay["by_group"].items())[:10]]
    cov = tests["coverage"]["rules"]
    lines += ["", f"Tests: {tests['passed']} passed, {tests['failed']} failed; rule coverage "
              f"{cov['percent']}% ({cov['hit']}/{cov['total']})"]
    lines += [f"  FAIL {f['name']}" for f in tests["failures"][:20]]
    return "\n".join(lines) + "\n"
