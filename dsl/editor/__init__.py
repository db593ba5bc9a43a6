"""Editor support: what an editor needs from the language — the whole rule set's diagnostics
with open files laid over the disk, completion, semantic tokens from the real parse, and the
TextMate grammar generated from the keyword table.

Only server.py speaks the Language Server Protocol (and imports pygls); the other modules are
plain functions on text, so a browser editor can use them through HTTP as well.
"""
