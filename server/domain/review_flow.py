"""A draft's way to the served rules: submit (HRBP) → accept or send back (IT).

submit: the draft must check; its diff, its latest replay and its rule tests go into the
commit message of `review/draft-<id>`, authored by the HRBP (name and e-mail from their
person record); an audit entry `draft.submit` records it.
accept: by IT, never by the draft's own author; the review branch is merged onto the served
branch's tip, that commit reloaded through the guard (it must load, check, and drop nothing
unless `allow_removals`), and only then the branch moved — audit `draft.accept` (the reload
adds its own `ruleset.activate`).  send back: with a comment, audit `draft.return`.
"""
from __future__ import annotations

from sqlalchemy import select

from trimtab.dsl.versions import WORKTREE
from trimtab.server.domain import draft_impact, drafts
from trimtab.server.domain.audit import append
from trimtab.server.domain.review import Git, author_of, message
from trimtab.server.messages import msg
from trimtab.server.storage.drafts import Draft, ReplayJob
from trimtab.server.storage.models import Person, utcnow
from trimtab.server.core.errors import DomainError

MAX_COMMENT = 4000


def branch_of(draft_id: int) -> str:
    return f"review/draft-{draft_id}"


def latest_replay(session, draft: Draft) -> dict | None:
    """The report of the draft's latest replay started after its last change, if any."""
    job = session.scalars(select(ReplayJob).where(ReplayJob.draft_id == draft.id,
                                                  ReplayJob.status == "done",
                                                  ReplayJob.created_at >= draft.updated_at)
                          .order_by(ReplayJob.id.desc()).limit(1)).first()
    return job.result if job is not None else None


def submit(session, principal, draft_id: int, published, config, lang: str) -> Draft:
    draft = drafts.owned(session, principal, draft_id)
    files = drafts.files_of(session, draft)
    if all(f.etag == f.base_sha256 for f in files):
        raise DomainError("nothing_to_submit", msg("draft {draft_id} changes nothing yet", draft_id=draft_id))
    draft_set = drafts.load_draft(published, files, lang)
    changes = draft_impact.changes(published, draft_set, lang)
    tests = draft_impact.rule_tests(draft_set, config["RULES_PATH"], lang)
    replay = latest_replay(session, draft)
    git = Git(config)
    # The parent is what the HRBP started from, so accepting merges their change with whatever
    # was accepted meanwhile (or finds the lines both changed), rather than overwriting it.
    try:
        base = git.commit_of(draft.base_version)
    except DomainError:
        base = git.commit_of(published.version)
    person = session.get(Person, draft.owner_id)
    changed = {f.path: f.text for f in files if f.etag != f.base_sha256}
    commit = git.commit_files(base, changed, message(draft, changes, replay, tests, lang),
                              author_of(person, draft.owner_id))
    git.set_branch(branch_of(draft.id), commit)
    now = utcnow()
    draft.status, draft.submitted_at, draft.updated_at = drafts.SUBMITTED, now, now
    draft.review_branch, draft.review_commit = branch_of(draft.id), commit
    draft.reviewer_id = draft.review_comment = draft.reviewed_at = None
    draft.summary = {"changes": changes["words"], "replay": _replay_summary(replay),
                     "tests": {"passed": tests["passed"], "failed": tests["failed"],
                               "rule_coverage": tests["coverage"]["rules"]["percent"]}}
    append(session, action="draft.submit", subject="ruleset", actor=principal.person_id,
           details={"draft": draft.id, "branch": draft.review_branch, "commit": commit,
                    "files": sorted(changed), **draft.summary},
           ruleset_version=published.version)
    return draft


def _replay_summary(replay: dict | None) -> dict | None:
    if replay is None:
        return None
    return {k: replay[k] for k in ("records", "decisions_compared", "decisions_changed", "by_rule",
                                   "by_group")}


def in_review(session, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id, with_for_update=True)
    if draft is None or draft.status == drafts.OPEN:
        raise DomainError("not_found", msg("no submission {draft_id}", draft_id=draft_id), "$.id")
    if draft.status != drafts.SUBMITTED:
        raise DomainError("review_closed", msg("draft {draft_id} is {status}, not waiting for review",
                                               draft_id=draft_id, status=draft.status))
    return draft


def reviewer(principal, draft: Draft) -> str:
    if principal.person_id is None:
        raise DomainError("not_a_person", msg("a review is a person's act; the admin token is nobody"))
    if principal.person_id == draft.owner_id:
        raise DomainError("separation_of_duties", msg("you submitted this draft; someone else in IT "
                                                      "must review it"))
    return principal.person_id


def accept(sessions, principal, draft_id: int, config, reload) -> tuple[Draft, object]:
    """Merge, reload through the guard (`reload(rev)` raises on a refused set), move the
    branch.  → (the draft, the rule set now served).  The reload writes in its own
    transaction, so the draft is read before it and written after it, never across it."""
    with sessions() as session:
        draft = in_review(session, draft_id)
        who = reviewer(principal, draft)
        me = author_of(session.get(Person, who), who)
        review_commit, review_branch, title = draft.review_commit, draft.review_branch, draft.title
    git = Git(config)
    branch = git.served_branch()
    if git.rev == WORKTREE and git.dirty():
        raise DomainError("rules_worktree_dirty", msg("the served rule files have changes not committed; "
                                                      "commit or discard them before accepting"))
    tip = git.out("rev-parse", f"refs/heads/{branch}")
    merged = git.merged(tip, review_commit, f"Accept {review_branch}: {title}\n\n"
                        f"Reviewed by {who}.\n", me)
    ruleset = reload(merged)                 # refuses before anything is recorded or moved
    if git.rev == WORKTREE:
        git.advance_worktree(merged)
    else:
        git.set_branch(branch, merged, tip)
    with sessions() as session, session.begin():
        draft = in_review(session, draft_id)
        now = utcnow()
        draft.status, draft.reviewer_id, draft.reviewed_at = drafts.ACCEPTED, who, now
        draft.merged_version, draft.updated_at = ruleset.version, now
        append(session, action="draft.accept", subject="ruleset", actor=who,
               details={"draft": draft.id, "author": draft.owner_id, "branch": branch,
                        "commit": merged, "review_commit": review_commit},
               ruleset_version=ruleset.version)
    return draft, ruleset


def send_back(session, principal, draft_id: int, comment, served_version: str) -> Draft:
    draft = in_review(session, draft_id)
    who = reviewer(principal, draft)
    if not isinstance(comment, str) or not comment.strip() or len(comment) > MAX_COMMENT:
        raise DomainError("schema_violation", msg("`comment` says what to change (1 to {most} characters)",
                                                  most=MAX_COMMENT), "$.comment")
    now = utcnow()
    draft.status, draft.reviewer_id, draft.reviewed_at = drafts.RETURNED, who, now
    draft.review_comment, draft.updated_at = comment, now
    append(session, action="draft.return", subject="ruleset", actor=who,
           details={"draft": draft.id, "author": draft.owner_id, "comment": comment},
           ruleset_version=served_version)
    return draft
