"""The HRBP workbench's API (server/web/workbench.py, workbench_editor.py, reviews.py): drafts
and their files, what a draft does (check, evaluate, diff, tests, replays), its review, the
recorded-facts export and why a decision.  Draft, DraftList, ReplayJob and Diagnostic keep the
names the hand-written document gave them (docs/workbench-api.md)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from trimtab.server.domain.drafts import MAX_FILE_CHARS, MAX_FILES, MAX_TITLE
from trimtab.server.jobs.replays import MAX_EXAMPLES
from trimtab.server.web.api_models.common import MAX_ID, Answer, Page, Request, whole
from trimtab.server.web.api_models.common import text as limited   # a field is called `text`

MAX_PATH = 300                    # a rule file's path, as the rule set names it
MAX_SUGGESTIONS = 400
Status = Literal["open", "submitted", "accepted", "returned"]
ACCEPT_LANGUAGE = {"name": "Accept-Language", "in": "header", "required": False,
                   "description": "zh… for messages in Chinese, else English (default: the deployment's LANG)",
                   "schema": {"type": "string"}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
            "description": "the ETag of the text you read (GET …/file), quoted or not; without it 428 "
                           "if_match_required, another one 409 stale_etag",
            "schema": {"type": "string", "maxLength": 200}}
# Werkzeug's router answers 405, not 404, to an id out of range (0, ≥ 2^31) on these two paths,
# which have a second route (GET) beside the DELETE or PUT.
ROUTER_405 = "An id out of range (0, 2^31 or more) is answered 405 method_not_allowed by the router."
ETAG = {"ETag": "the text's SHA-256, quoted: send it back in If-Match to change the file"}


def _file_text(description: str) -> Any:
    """A rule file's text: up to MAX_FILE_CHARS characters (a longer one is 422 file_too_large,
    refused by the route, so the limit is stated here and checked there)."""
    return Field(description=description, json_schema_extra={"maxLength": MAX_FILE_CHARS})


def _day(description: str, min_length: int = 1) -> Any:
    """A date as text (2026-08-03); the route reads it (422 invalid_date otherwise)."""
    return limited(10, min_length, description=description, json_schema_extra={"format": "date"})


# ---------------------------------------------------------------- requests
class DraftFilePath(Request):
    path: limited(MAX_PATH, description="a file of the draft, as the rule set names it (rules/alerts.rules)")  # type: ignore[valid-type]


class OpenDraft(Request):
    """Files of the served rule set to open into a new draft."""
    files: list[limited(MAX_PATH)] = Field(min_length=1, max_length=MAX_FILES,  # type: ignore[valid-type]
                                        description="paths as GET /v1/rulesets/current/files names them")
    title: limited(MAX_TITLE) = Field(None, description="default: the paths, joined")  # type: ignore[valid-type]


class NewFile(Request):
    path: limited(MAX_PATH, description="a name ending in .rules in the rules' folder, e.g. rules/新规则.rules")  # type: ignore[valid-type]


class DraftFileText(Request):
    text: str = _file_text("the file's whole new text")


class EvaluateDraft(Request):
    """Given facts (`facts`, `history`, `as_of`), or the recorded facts of `subject` and
    `period` (both, and then those three are not read)."""
    form: limited(64)                                          # type: ignore[valid-type]
    facts: dict[str, Any] | None = Field(None, description="typed facts (else subject and period)")
    history: list[dict[str, Any]] = Field([], max_length=520, description="earlier periods' facts, oldest first")
    as_of: _day("the day to decide as of (default: today)") = None      # type: ignore[valid-type]
    subject: limited(128, description="with period: the recorded facts") = None   # type: ignore[valid-type]
    period: limited(32, description="2026-W32, 2026-08, 2026-Q3 …") = None         # type: ignore[valid-type]


class ReplayDraft(Request):
    """The recorded facts to replay the draft over (all you see when nothing is given)."""
    form: limited(64) = None                                   # type: ignore[valid-type]
    subject: limited(128) = None                               # type: ignore[valid-type]
    from_: _day("the first day (occurred_on)") = Field(None, alias="from")     # type: ignore[valid-type]
    to: _day("the last day (occurred_on)") = None            # type: ignore[valid-type]
    group_by: limited(64, description="a field of the facts (default team, else region, else subject)") = None  # type: ignore[valid-type]
    examples: whole(0, MAX_EXAMPLES, "changed decisions shown with both explanations") = 5   # type: ignore[valid-type]


class EditorText(Request):
    text: str = _file_text("the file's text as on screen, saved or not")
    path: limited(MAX_PATH, description="the file's path (names in messages)") = None   # type: ignore[valid-type]


class CompleteAt(EditorText):
    line: whole(0, MAX_ID, "0-based")                         # type: ignore[valid-type]
    column: whole(0, MAX_ID, "0-based, in characters")        # type: ignore[valid-type]


class FormatText(EditorText):
    lang: Literal["zh", "en"] | None = Field(None, description="write keywords and names in this language")


class ReviewQueue(Page):
    status: Literal["submitted", "returned", "accepted"] = Field(
        "submitted", description="the queue (default), or the drafts returned or accepted")


class AcceptDraft(Request):
    allow_removals: bool = Field(False, description="accept a version that drops rules")


class SendBack(Request):
    comment: limited(4000, description="what to change")       # type: ignore[valid-type]


class FactsExport(Page):
    """Filters left out filter nothing; one given empty (`to=`) is refused, as on the reports."""
    form: limited(128) = None                                  # type: ignore[valid-type]
    subject: limited(128) = None                               # type: ignore[valid-type]
    from_: _day("facts that occurred on this day or later") = Field(None, alias="from")  # type: ignore[valid-type]
    to: _day("facts that occurred on this day or earlier") = None   # type: ignore[valid-type]


# ---------------------------------------------------------------- drafts
class Diagnostic(Answer):
    """A problem the language found, placed in a file; message and hint in the caller's language."""
    code: str = Field(description="namespaced by the stage: parse.*, check.*, load.* …")
    message: str
    hint: str | None = Field(description="e.g. a field of the same form spelt alike")
    file: str
    line: int = Field(description="1-based; 0 when the problem has no place in the file")
    column: int


class DraftFile(Answer):
    path: str
    etag: str = Field(description="the text's SHA-256 (If-Match of a PUT)")
    changed: bool = Field(description="the text differs from the one opened (or the file is new)")
    new: bool = Field(description="a file the served set does not have")
    bytes: int = Field(description="the text's size in UTF-8")


class DraftReview(Answer):
    """The draft's review: its commit and branch once submitted, IT's verdict once given."""
    branch: str | None = Field(description="review/draft-<id>")
    commit: str | None
    submitted_at: str | None
    reviewer: str | None = Field(description="the IT person who accepted or returned it")
    comment: str | None = Field(description="why it was sent back")
    reviewed_at: str | None
    merged_version: str | None = Field(description="the version served once it was accepted")


class TestsSummary(Answer):
    passed: int
    failed: int
    rule_coverage: float = Field(description="percent of the rules a test or example ran")


class ReplaySummary(Answer):
    records: int
    decisions_compared: int
    decisions_changed: int
    by_rule: dict[str, int] = Field(description="changed decisions per rule")
    by_group: dict[str, int] = Field(description="changed decisions per group (team, region …)")


class DraftSummary(Answer):
    """What the submission does, as its commit message says it."""
    changes: list[str] = Field(description="the diff in words")
    replay: ReplaySummary | None = Field(description="the latest replay since the last change, if any")
    tests: TestsSummary


class Draft(Answer):
    """An HRBP's working copy of some files of the served rule set."""
    id: int
    owner: str = Field(description="the person who opened it")
    title: str
    status: Status
    base_version: str = Field(description="the served version the files were opened from")
    stale: bool = Field(description="the served version moved on since")
    created_at: str
    updated_at: str
    files: list[DraftFile]
    review: DraftReview
    summary: DraftSummary | None = Field(None, description="diff, replay and tests when submitted "
                                                      "(the review routes' answers)")
    version: str = Field(None, description="accept: the version now served")   # type: ignore[assignment]


class DraftList(Answer):
    items: list[Draft]
    next: int | None = Field(description="`after` of the next page; null on the last")


class Discarded(Answer):
    id: int
    discarded: Literal[True]


class ServedFile(Answer):
    path: str = Field(description="as the rule set names it (rules/alerts.rules)")
    bytes: int
    rules: list[str] = Field(description="the rules the file declares")


class ServedFiles(Answer):
    version: str
    files: list[ServedFile]


class FileRead(Answer):
    path: str
    text: str
    etag: str
    changed: bool


class FileWritten(Answer):
    path: str
    etag: str
    changed: bool


class FileAdded(FileWritten):
    new: Literal[True]


# ---------------------------------------------------------------- what a draft does
class DraftCheck(Answer):
    ok: bool
    count: int
    diagnostics: list[Diagnostic] = Field(description="every diagnostic of the whole set, up to 50")


class RuleSideBySide(Answer):
    rule: str
    published: dict[str, Any] | None = Field(description="the served version's decision (null: no such rule)")
    draft: dict[str, Any] | None = Field(description="the draft's decision (null: no such rule)")
    changed: bool
    differs: list[str] = Field(description="the decision's keys whose values differ (`rule`: one side lacks it)")


class Comparison(Answer):
    published_version: str
    form: str
    as_of: str | None
    fact_id: int | None = Field(description="the recorded fact evaluated, if one was")
    facts: dict[str, Any] | None
    changed: list[str] = Field(description="the rules whose decision differs")
    rules: list[RuleSideBySide]


class DraftDiff(Answer):
    published_version: str
    changes: list[dict[str, Any]] = Field(description="each change as data: rule, what, clause, old, new, "
                                                      "context, file, line, text")
    words: list[str] = Field(description="each change in words, as `trimtab diff` says it")


class TestMismatch(Answer):
    rule: str
    expected: Any
    actual: Any
    explanation: str


class TestFailure(Answer):
    name: str
    where: str = Field(description="file:line of the test or example")
    error: str | None = Field(description="why the case could not run")
    mismatches: list[TestMismatch]


class DraftTests(Answer):
    passed: int
    failed: int
    unusable_files: list[Diagnostic] = Field(description="test files the draft breaks (counted failed)")
    failures: list[TestFailure]
    coverage: dict[str, Any] = Field(description="as `trimtab test --coverage --json`")


class ReplayJob(Answer):
    """A replay of a draft over recorded facts, and its report when done."""
    id: int
    draft: int
    status: Literal["queued", "running", "done", "failed"]
    done: int = Field(description="records replayed so far")
    total: int
    params: dict[str, Any] = Field(description="the range asked for, with `examples` and `lang`")
    result: dict[str, Any] | None = Field(description="the replay report (as `trimtab replay --json`)")
    error: str | None
    created_at: str
    finished_at: str | None


# ---------------------------------------------------------------- the editor
class KeywordTable(Answer):
    keywords: list[str] = Field(description="longest first")
    functions: list[str]
    levels: list[str]
    constants: list[str]
    periods: list[str]


class EditorSuggestion(Answer):
    label: str
    kind: str = Field(description="keyword, field, function, role, value or form")
    detail: str
    info: str


class EditorSuggestions(Answer):
    items: list[EditorSuggestion] = Field(max_length=MAX_SUGGESTIONS)


class Formatted(Answer):
    text: str


# ---------------------------------------------------------------- facts and decisions
class FactRecord(Answer):
    """A recorded fact as a replay record (`trimtab replay --facts` reads a list of them)."""
    id: int
    form: str
    subject: str
    period: str
    as_of: str = Field(description="the day it occurred")
    facts: dict[str, Any]


class FactRecords(Answer):
    items: list[FactRecord]
    next: int | None = Field(description="`after` of the next page; null on the last")


class RuleText(Answer):
    file: str
    line: int
    text: str


class Why(Answer):
    """A stored decision with what explains it."""
    id: int
    rule: str
    kind: str
    form: str
    subject: str
    period: str
    fired: bool
    ruleset_version: str
    at: str
    current: bool = Field(description="false once a later decision of the period replaced it")
    explanation: str | None = Field(description="the decision in one sentence, in the reader's language "
                                                "(a decision stored before traces were kept compact: "
                                                "as stored, in its submitter's)")
    trace: list[str] = Field(description="how it was decided, a line per step, rendered in the reader's "
                                         "language from the stored trace with the rule of the version that "
                                         "decided; empty when `trace_unavailable` says why")
    trace_unavailable: str | None = Field(description="why `trace` is empty though the rule had a trace "
                                                      "(the version that decided cannot be loaded any more); "
                                                      "null when the trace is shown")
    result: dict[str, Any] = Field(description="the decision as POST /v1/evaluate gives it (value, details, "
                                               "explanation, trace — no trace when `trace_unavailable`)")
    rule_text: RuleText | None = Field(description="the rule's text in the version that decided; "
                                                   "null when that version cannot be loaded any more")
    facts: dict[str, Any] | None
    fact_id: int | None
