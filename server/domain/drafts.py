"""Drafts: an HRBP's own working copy of some published rule files, kept in the database.

A draft is opened from the rule set being served (its files' texts, whatever they were
loaded from) and edited file by file; each file carries an ETag (the SHA-256 of its text) and
a write must name the ETag it read, so two people editing the same file cannot overwrite each
other unseen.  The draft's rule set is the served set with the draft's files put over it:
that is what is checked, evaluated, replayed and tested, and what a submission commits.

Who may do what: the owner (an HRBP) reads and edits their draft; nobody else sees it (404,
not 403: another person's draft is not there for them) — except IT, who may read a draft
once it is submitted.  Domain functions take the principal; none reads an id from a body.
"""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select, update

from trimtab.dsl.diagnostics import Diagnostic, RuleError
from trimtab.dsl.diagnose import every_diagnostic
from trimtab.dsl.ruleset import load_sources
from trimtab.server.storage.drafts import Draft, DraftFile
from trimtab.server.storage.models import utcnow
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError

MAX_FILE_CHARS = 65_536          # one file's text (≤ 256 KiB in UTF-8); shipped files are ~6 KB
MAX_FILES = 20                   # files one draft holds
MAX_OPEN_DRAFTS = 20             # drafts a person has open (or returned) at once
MAX_TITLE = 200
OPEN, SUBMITTED, ACCEPTED, RETURNED = "open", "submitted", "accepted", "returned"
EDITABLE = (OPEN, RETURNED)


def etag(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def published_files(ruleset) -> dict[str, str]:
    """{path: text} of the rule files of a loaded set, as it names them."""
    return {f.path: f.text for f in ruleset.checked.files}


def needs_person(principal) -> str:
    if principal.person_id is None:
        raise DomainError("not_a_person", msg("drafts belong to a person of the organisation chart; "
                                              "the admin token is nobody"))
    return principal.person_id


# ---------------------------------------------------------------- finding a draft
def readable(session, principal, draft_id: int) -> Draft:
    """The draft, if the principal may read it: its owner, or IT once it was submitted."""
    draft = session.get(Draft, draft_id)
    if draft is None or not (draft.owner_id == principal.person_id or
                             (principal.is_it and draft.status != OPEN)):
        raise DomainError("not_found", msg("no draft {draft_id}", draft_id=draft_id), "$.id")
    return draft


def owned(session, principal, draft_id: int, editable: bool = True) -> Draft:
    """The caller's own draft (404 otherwise); `editable`: refused once it is in review."""
    draft = session.get(Draft, draft_id)
    if draft is None or draft.owner_id != principal.person_id:
        raise DomainError("not_found", msg("no draft {draft_id}", draft_id=draft_id), "$.id")
    if editable and draft.status not in EDITABLE:
        raise DomainError("draft_not_editable",
                          msg("draft {draft_id} is {status}; it can no longer be changed",
                              draft_id=draft_id, status=draft.status))
    return draft


def files_of(session, draft: Draft) -> list[DraftFile]:
    return list(session.scalars(select(DraftFile).where(DraftFile.draft_id == draft.id)
                                .order_by(DraftFile.path)))


def file_of(session, draft: Draft, path: str) -> DraftFile:
    row = session.scalars(select(DraftFile).where(DraftFile.draft_id == draft.id,
                                                  DraftFile.path == path)).first()
    if row is None:
        raise DomainError("not_found", msg("draft {draft_id} has no file `{path}`", draft_id=draft.id, path=path),
                          "$.path")
    return row


# ---------------------------------------------------------------- opening and editing
def open_draft(session, principal, ruleset, paths: list, title: str | None) -> Draft:
    """A new draft of `paths` (files of the served set) owned by the principal."""
    owner = needs_person(principal)
    published = published_files(ruleset)
    if not paths or len(paths) > MAX_FILES:
        raise DomainError("schema_violation", msg("`files` lists 1 to {most} files", most=MAX_FILES), "$.files")
    for i, path in enumerate(paths):
        if not isinstance(path, str) or path not in published:
            raise DomainError("unknown_file", msg("`{path}` is not a file of the served rule set "
                                                  "(GET /v1/rulesets/current/files lists them)",
                                                  path=str(path)[:300]), f"$.files[{i}]")
    if len(set(paths)) != len(paths):
        raise DomainError("schema_violation", msg("a file is listed twice"), "$.files")
    held = session.scalar(select(func.count()).select_from(Draft).where(
        Draft.owner_id == owner, Draft.status.in_(EDITABLE)))
    if held >= MAX_OPEN_DRAFTS:
        raise DomainError("too_many_drafts", msg("you have {held} drafts open; submit or discard one first "
                                                 "(at most {most})", held=held, most=MAX_OPEN_DRAFTS))
    now = utcnow()
    draft = Draft(owner_id=owner, title=(title or ", ".join(paths))[:MAX_TITLE],
                  base_version=ruleset.version, status=OPEN, created_at=now, updated_at=now)
    session.add(draft)
    session.flush()
    for path in paths:
        text = published[path]
        session.add(DraftFile(draft_id=draft.id, path=path, text=text, etag=etag(text),
                              base_sha256=etag(text), updated_at=now))
    session.flush()
    return draft


NEW_FILE = re.compile(r"^[\w\u4e00-\u9fff-]{1,80}\.rules$")


def add_file(session, principal, draft_id: int, ruleset, path) -> DraftFile:
    """A new, empty rule file in the draft, beside the served ones (`rules/新规则.rules`)."""
    draft = owned(session, principal, draft_id)
    folders = {p.rpartition("/")[0] for p in published_files(ruleset)}
    folder, _, name = path.rpartition("/") if isinstance(path, str) else ("", "", "")
    if folder not in folders or not NEW_FILE.match(name):
        example = f"{sorted(folders)[0]}/新规则.rules"
        raise DomainError("unknown_file", msg("a new file is a name ending in .rules (letters, digits, _ or -) "
                                              "in the rules' folder, e.g. {example}", example=example), "$.path")
    held = files_of(session, draft)
    if path in published_files(ruleset) or any(f.path == path for f in held):
        raise DomainError("file_exists", msg("`{path}` is already a rule file; open it instead", path=path),
                          "$.path")
    if len(held) >= MAX_FILES:
        raise DomainError("too_many_files", msg("a draft holds at most {most} files", most=MAX_FILES), "$.path")
    now = utcnow()
    row = DraftFile(draft_id=draft.id, path=path, text="", etag=etag(""), base_sha256="",
                    updated_at=now)
    session.add(row)
    draft.updated_at = now
    session.flush()
    return row


def write_file(session, principal, draft_id: int, path: str, text, if_match: str | None) -> DraftFile:
    """Replace a file's text if the caller read the current one (`if_match`, its ETag)."""
    draft = owned(session, principal, draft_id)
    if if_match is None:
        raise DomainError("if_match_required", msg("send the ETag you read in If-Match, so a change "
                                                   "made meanwhile is not overwritten"))
    if not isinstance(text, str):
        raise DomainError("schema_violation", msg("`text` must be a text"), "$.text")
    if len(text) > MAX_FILE_CHARS:
        raise DomainError("file_too_large", msg("the file has {count} characters; at most {most}",
                                                count=len(text), most=MAX_FILE_CHARS), "$.text")
    if "\0" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise DomainError("schema_violation", msg("the text holds characters a rule file cannot"), "$.text")
    row = file_of(session, draft, path)
    now, expected = utcnow(), if_match.strip().strip('"')
    # Compare and swap in one statement: of two writes naming the same ETag, one wins.
    done = session.execute(update(DraftFile).where(DraftFile.id == row.id, DraftFile.etag == expected)
                           .values(text=text, etag=etag(text), updated_at=now)
                           .execution_options(synchronize_session=False)).rowcount
    session.refresh(row)
    if not done:
        raise DomainError("stale_etag", msg("the file changed since you read it; read it again and "
                                            "reapply your change"), etag=row.etag)
    draft.updated_at = now
    if draft.status == RETURNED:
        draft.status = OPEN
    return row


def discard(session, principal, draft_id: int) -> None:
    """Delete the caller's own draft (open or sent back), its files and its replays."""
    from sqlalchemy import delete

    from trimtab.server.storage.drafts import ReplayJob
    draft = owned(session, principal, draft_id)
    session.execute(delete(ReplayJob).where(ReplayJob.draft_id == draft.id))
    session.execute(delete(DraftFile).where(DraftFile.draft_id == draft.id))
    session.delete(draft)


# ---------------------------------------------------------------- the draft's rule set
def sources_with(ruleset, files: list[DraftFile]) -> list[tuple[str, str]]:
    """The served set's files with the draft's put over them, in the served order."""
    mine = {f.path: f.text for f in files}
    published = published_files(ruleset)
    return [(path, mine.get(path, text)) for path, text in published.items()] + \
        sorted((path, text) for path, text in mine.items() if path not in published)


def load_draft(ruleset, files: list[DraftFile], lang: str = "en"):
    """The draft's rule set, checked and compiled; 422 with every diagnostic when it fails."""
    try:
        draft_set = load_sources(sources_with(ruleset, files), ruleset.schemas)
    except RuleError:
        raise DomainError("draft_invalid", msg("the draft does not check; fix its diagnostics first"),
                          "$", diagnostics=[d.to_json(lang) for d in
                                            diagnose(ruleset, files)]) from None
    draft_set.version = "draft"
    return draft_set


def diagnose(ruleset, files: list[DraftFile]) -> list[Diagnostic]:
    """Every diagnostic of the draft's rule set (dsl/diagnose.py): a file that does not parse
    stands in with its published text for the check."""
    return every_diagnostic(sources_with(ruleset, files), ruleset.schemas, published_files(ruleset))


def draft_json(draft: Draft, files: list[DraftFile], served_version: str) -> dict:
    return {"id": draft.id, "owner": draft.owner_id, "title": draft.title, "status": draft.status,
            "base_version": draft.base_version, "stale": draft.base_version != served_version,
            "created_at": _at(draft.created_at), "updated_at": _at(draft.updated_at),
            "files": [{"path": f.path, "etag": f.etag, "changed": f.etag != f.base_sha256,
                       "new": f.base_sha256 == "",
                       "bytes": len(f.text.encode("utf-8"))} for f in files],
            "review": {"branch": draft.review_branch, "commit": draft.review_commit,
                       "submitted_at": _at(draft.submitted_at), "reviewer": draft.reviewer_id,
                       "comment": draft.review_comment, "reviewed_at": _at(draft.reviewed_at),
                       "merged_version": draft.merged_version}}


def _at(moment) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None
