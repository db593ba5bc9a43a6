"""`trimtab lsp` as an editor starts it: a subprocess spoken to in JSON-RPC over its stdin and
stdout (pygls's client writes and reads the frames), with what it publishes collected."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lsprotocol import types as T
from pygls.lsp.client import LanguageClient

from conftest import ROOT

WAIT_S = 20.0


class Editor:
    """One editor session: `async with Editor(root, locale) as ed:` then open, change, ask."""

    def __init__(self, root: Path = ROOT, locale: str = "zh-CN"):
        self.root, self.locale = root, locale
        self.client = LanguageClient("trimtab-tests", "1")
        self.published: dict[str, list[list[T.Diagnostic]]] = {}
        self.arrived = asyncio.Event()
        self.capabilities: T.ServerCapabilities | None = None

        @self.client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: T.PublishDiagnosticsParams):
            self.published.setdefault(params.uri, []).append(list(params.diagnostics))
            self.arrived.set()

    async def __aenter__(self):
        await self.client.start_io(sys.executable, "-m", "trimtab.server.cli.main", "lsp", "--stdio")
        result = await asyncio.wait_for(self.client.initialize_async(T.InitializeParams(
            capabilities=T.ClientCapabilities(), root_uri=self.root.as_uri(), locale=self.locale,
            workspace_folders=[T.WorkspaceFolder(uri=self.root.as_uri(), name="root")])), WAIT_S)
        self.capabilities = result.capabilities
        self.client.initialized(T.InitializedParams())
        return self

    async def __aexit__(self, *exc):
        await asyncio.wait_for(self.client.shutdown_async(None), WAIT_S)
        self.client.exit(None)
        await self.client.stop()

    def open(self, uri: str, text: str, version: int = 1):
        self.client.text_document_did_open(T.DidOpenTextDocumentParams(
            T.TextDocumentItem(uri=uri, language_id="trimtab", version=version, text=text)))

    def change(self, uri: str, text: str, version: int):
        self.client.text_document_did_change(T.DidChangeTextDocumentParams(
            T.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [T.TextDocumentContentChangeWholeDocument(text=text)]))

    def changed_on_disk(self, *paths: Path):
        self.client.workspace_did_change_watched_files(T.DidChangeWatchedFilesParams(
            [T.FileEvent(uri=p.as_uri(), type=T.FileChangeType.Changed) for p in paths]))

    async def diagnostics(self, uri: str, count: int) -> list[T.Diagnostic]:
        """The `count`-th publication for `uri` (1-based), waiting for it."""
        async def enough():
            while len(self.published.get(uri, [])) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(enough(), WAIT_S)
        return self.published[uri][count - 1]

    async def format(self, uri: str):
        return await asyncio.wait_for(self.client.text_document_formatting_async(T.DocumentFormattingParams(
            T.TextDocumentIdentifier(uri=uri), T.FormattingOptions(tab_size=4, insert_spaces=True))), WAIT_S)

    async def format_after(self, uri: str, text: str):
        """Formatting asked after the whole text was replaced by `text`."""
        self.change(uri, text, 99)
        return await self.format(uri)

    async def code_actions(self, uri: str, diagnostics: list[T.Diagnostic]):
        where = diagnostics[0].range if diagnostics else T.Range(T.Position(0, 0), T.Position(0, 0))
        return await asyncio.wait_for(self.client.text_document_code_action_async(T.CodeActionParams(
            T.TextDocumentIdentifier(uri=uri), where, T.CodeActionContext(diagnostics=diagnostics))), WAIT_S)

    async def complete(self, uri: str, line: int, character: int):
        return await asyncio.wait_for(self.client.text_document_completion_async(T.CompletionParams(
            T.TextDocumentIdentifier(uri=uri), T.Position(line, character))), WAIT_S)

    async def semantic_tokens(self, uri: str) -> list[int]:
        result = await asyncio.wait_for(self.client.text_document_semantic_tokens_full_async(
            T.SemanticTokensParams(T.TextDocumentIdentifier(uri=uri))), WAIT_S)
        return result.data


def run(scenario):
    """Run an async scenario to its end (the tests stay plain functions)."""
    return asyncio.run(scenario())
