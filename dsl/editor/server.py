"""`trimtab lsp`: the language server (pygls) over stdio.

Diagnostics of the whole rule set on open, change (after a short pause in typing) and save, in
the client's language (`initialize.locale`), each with its "did you mean"; a file's
diagnostics are cleared when it is fixed.  Formatting is `trimtab fmt`; completion and semantic
tokens come from completion.py and highlight.py.  Positions go out in the units the client and
pygls agreed on (UTF-16 unless the client asks otherwise).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..diagnostics import Diagnostic, RuleError, default_lang
from . import completion, fixes, highlight, workspace

DEBOUNCE_S = 0.25           # a check after a pause in typing, not on every key
_SEVERITY = T.DiagnosticSeverity.Error
_KINDS = {"keyword": T.CompletionItemKind.Keyword, "field": T.CompletionItemKind.Field,
          "function": T.CompletionItemKind.Function, "role": T.CompletionItemKind.Constant,
          "value": T.CompletionItemKind.EnumMember, "form": T.CompletionItemKind.Class}


class RulesServer(LanguageServer):
    def __init__(self):
        from importlib.metadata import version
        super().__init__("trimtab", version("trimtab"))
        self.lang = default_lang()
        self.published: set[str] = set()            # URIs that have diagnostics on the client
        self.pending: dict[str, asyncio.Task] = {}       # a check waiting for a pause, by URI

    # ------------------------------------------------------------- where things are
    def root(self) -> Path | None:
        path = self.workspace.root_path
        if path is None:
            folders = list(self.workspace.folders.values())
            path = to_fs_path(folders[0].uri) if folders else None
        return Path(path) if path else None

    def scope(self, uri: str) -> workspace.Scope | None:
        path = to_fs_path(uri)
        return workspace.scope_of(Path(path), self.root()) if path else None

    def overlay(self) -> dict[Path, str]:
        out = {}
        for doc in self.open_documents():
            path = to_fs_path(doc.uri)
            if path:
                out[Path(path).resolve()] = doc.source
        return out

    def open_documents(self) -> list:
        """The documents the client has open, each with the URI as the client spelt it (pygls
        keys them by the URI unquoted)."""
        return list(self.workspace.text_documents.values())

    def open_document(self, uri: str):
        return self.workspace.text_documents.get(unquote(uri))

    def uri_of(self, path: Path) -> str | None:
        """The URI the client calls `path` by when it has the file open (its spelling, which a
        symlinked folder or another encoding would make differ from ours), else ours."""
        for doc in self.open_documents():
            fs = to_fs_path(doc.uri)
            if fs and Path(fs).resolve() == path:
                return doc.uri
        return from_fs_path(str(path))

    def lines(self, path: Path) -> list[str]:
        doc = self.open_document(self.uri_of(path) or "")
        try:
            text = doc.source if doc is not None else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        return text.split("\n")

    # ------------------------------------------------------------- diagnostics
    def check(self, uri: str) -> None:
        scope = self.scope(uri)
        if scope is None:
            return
        found = workspace.check(scope, self.overlay())
        now = set()
        for path, diags in found.items():
            target = self.uri_of(path) or uri
            lines = self.lines(path)
            self.publish(target, [self.to_lsp(d, lines) for d in diags])
            now.add(target)
        for stale in self.published - now:                 # fixed: clear what the client shows
            if self.in_scope(stale, scope):
                self.publish(stale, [])
        self.published = {u for u in self.published if not self.in_scope(u, scope)} | now

    def in_scope(self, uri: str, scope: workspace.Scope) -> bool:
        path = to_fs_path(uri)
        return path is not None and (scope.contains(Path(path).resolve()) or Path(path).suffix == ".json")

    def publish(self, uri: str, diagnostics: list[T.Diagnostic]) -> None:
        doc = self.open_document(uri)
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
            uri=uri, diagnostics=diagnostics, version=doc.version if doc is not None else None))

    def to_lsp(self, d: Diagnostic, lines: list[str]) -> T.Diagnostic:
        hint = d.hint(self.lang)
        message = d.message(self.lang) + (f" — {hint}" if hint else "")
        line = max(d.line - 1, 0)
        start = max(d.column - 1, 0) if d.line else 0
        end = start + max(d.width, 1) if d.line else 0
        codec = self.workspace.position_codec
        rng = T.Range(codec.position_to_client_units(lines, T.Position(line, start)),
                      codec.position_to_client_units(lines, T.Position(line, end)))
        data = {"suggestion": d.args["suggestion"]} if d.args.get("suggestion") else None
        return T.Diagnostic(range=rng, message=message, severity=_SEVERITY, code=d.code,
                            source="trimtab", data=data)

    def check_soon(self, uri: str) -> None:
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self.pending[uri] = asyncio.ensure_future(self._check_later(uri))

    async def _check_later(self, uri: str) -> None:
        await asyncio.sleep(DEBOUNCE_S)
        self.pending.pop(uri, None)
        self.check(uri)


def build_server() -> RulesServer:
    server = RulesServer()

    @server.feature(T.INITIALIZE)
    def initialize(ls: RulesServer, params: T.InitializeParams):
        if params.locale:
            ls.lang = "zh" if params.locale.lower().startswith("zh") else "en"

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RulesServer, params: T.DidOpenTextDocumentParams):
        ls.check(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RulesServer, params: T.DidChangeTextDocumentParams):
        ls.check_soon(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RulesServer, params: T.DidSaveTextDocumentParams):
        ls.check(params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RulesServer, params: T.DidCloseTextDocumentParams):
        ls.check(params.text_document.uri)          # the saved text counts again

    @server.feature(T.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: RulesServer, params: T.DocumentFormattingParams):
        return format_edits(ls, params.text_document.uri)

    @server.feature(T.TEXT_DOCUMENT_CODE_ACTION, T.CodeActionOptions(
        code_action_kinds=[T.CodeActionKind.QuickFix, T.CodeActionKind.Source]))
    def code_actions(ls: RulesServer, params: T.CodeActionParams):
        return actions(ls, params)

    @server.feature(T.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(ls: RulesServer, params: T.DidChangeWatchedFilesParams):
        for doc in ls.open_documents():          # a checkout or a schema changed on disk
            ls.check(doc.uri)

    @server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=[".", " "]))
    def complete(ls: RulesServer, params: T.CompletionParams):
        return completion_items(ls, params)

    @server.feature(T.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                    T.SemanticTokensLegend(token_types=list(highlight.TOKEN_TYPES),
                                           token_modifiers=list(highlight.TOKEN_MODIFIERS)))
    def semantic_tokens(ls: RulesServer, params: T.SemanticTokensParams):
        return T.SemanticTokens(data=encode_tokens(ls, ls.workspace.get_text_document(
            params.text_document.uri).source))

    return server


def format_edits(ls: RulesServer, uri: str) -> list[T.TextEdit] | None:
    """One edit replacing the file by `trimtab fmt`'s text; none when it is already so, or
    when it does not parse (the diagnostics say why)."""
    from ..formatter import format_text
    text = ls.workspace.get_text_document(uri).source
    try:
        formatted = format_text(text, None, to_fs_path(uri) or uri)
    except RuleError:
        return None
    if formatted == text:
        return []
    lines = text.split("\n")
    end = ls.workspace.position_codec.position_to_client_units(
        lines, T.Position(len(lines) - 1, len(lines[-1])))
    return [T.TextEdit(range=T.Range(T.Position(0, 0), end), new_text=formatted)]


def actions(ls: RulesServer, params: T.CodeActionParams) -> list[T.CodeAction]:
    """A quick fix per "did you mean" in the range asked about; the keywords translated."""
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    lines = doc.source.split("\n")
    codec = ls.workspace.position_codec
    out = []
    for diag in params.context.diagnostics:
        suggestion = (diag.data or {}).get("suggestion") if isinstance(diag.data, dict) else None
        if not suggestion or diag.range.start.line >= len(lines):
            continue
        start = codec.position_from_client_units(lines, diag.range.start)
        end = codec.position_from_client_units(lines, diag.range.end)
        stop = end.character if end.line == start.line else len(lines[start.line])
        fix = fixes.did_you_mean(lines[start.line], start.line, start.character, stop, suggestion, ls.lang)
        if fix is not None:
            rng = T.Range(codec.position_to_client_units(lines, T.Position(fix.line, fix.start)),
                          codec.position_to_client_units(lines, T.Position(fix.line, fix.end)))
            out.append(T.CodeAction(title=fix.title, kind=T.CodeActionKind.QuickFix, diagnostics=[diag],
                                    is_preferred=True, edit=T.WorkspaceEdit(
                                        changes={uri: [T.TextEdit(range=rng, new_text=fix.text)]})))
    end_of_file = codec.position_to_client_units(lines, T.Position(len(lines) - 1, len(lines[-1])))
    for title, text in fixes.translations(doc.source, ls.lang):
        out.append(T.CodeAction(title=title, kind=T.CodeActionKind.Source, edit=T.WorkspaceEdit(
            changes={uri: [T.TextEdit(range=T.Range(T.Position(0, 0), end_of_file), new_text=text)]})))
    return out


def completion_items(ls: RulesServer, params: T.CompletionParams) -> T.CompletionList:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    lines = doc.source.split("\n")
    at = ls.workspace.position_codec.position_from_client_units(lines, params.position)
    scope = ls.scope(params.text_document.uri)
    schemas = workspace.schemas_of(scope) if scope is not None else {}
    roles = completion.roles_in(declarations(ls, scope)) if scope is not None else {}
    found = completion.complete(doc.source, at.line, at.character, schemas, roles, ls.lang)
    items = [T.CompletionItem(label=s.label, kind=_KINDS[s.kind], detail=s.detail or None,
                              documentation=s.documentation or None) for s in found]
    return T.CompletionList(is_incomplete=False, items=items)


def declarations(ls: RulesServer, scope: workspace.Scope) -> list:
    """The declarations of every file of the set that parses (roles for completion)."""
    from ..build_ast import build
    from ..parser import parse
    out: list = []
    for path, text in scope.sources(ls.overlay()):
        try:
            out.extend(build(parse(text, path), path, text).decls)
        except (RuleError, RecursionError):
            continue
    return out


def encode_tokens(ls: RulesServer, text: str) -> list[int]:
    """Semantic tokens as LSP wants them: five integers each, relative to the previous."""
    codec = ls.workspace.position_codec
    lines = text.split("\n")
    data: list[int] = []
    last_line = last_start = 0
    for span in highlight.spans(text):
        start = codec.client_num_units(lines[span.line][: span.column])
        length = codec.client_num_units(span.text)
        delta_start = start - last_start if span.line == last_line else start
        data += [span.line - last_line, delta_start, length,
                 highlight.TOKEN_TYPES.index(span.kind), 1 if span.declaration else 0]
        last_line, last_start = span.line, start
    return data


def run_stdio() -> None:
    build_server().start_io()
