"""The VS Code extension's TextMate grammar, without VS Code: generated from the keyword table
(a stale committed copy fails), and run here the way a TextMate engine runs a flat pattern list
(at each place the earliest match wins, the first pattern on a tie), it colours what the real
parse calls keywords, texts, numbers and comments in every shipped rule file, in English and
in Chinese."""
from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT, RULES

GRAMMAR = ROOT / "scripts" / "vscode" / "syntaxes" / "trimtab.tmLanguage.json"
EXPECTED = {"keyword": "keyword.", "string": "string.", "comment": "comment.", "number": "constant.numeric"}


def test_the_committed_grammar_is_the_generated_one():
    from trimtab.dsl.editor.textmate import text
    assert GRAMMAR.read_text(encoding="utf-8") == text(), \
        "stale: run `.venv/bin/python -m trimtab.dsl.editor.textmate`"


def scopes(line: str, patterns) -> list[tuple[int, int, str]]:
    """(start, end, scope) of what the flat pattern list matches on one line."""
    compiled = [(re.compile(p["match"]), p) for p in patterns]
    out, pos = [], 0
    while pos < len(line):
        best = None
        for regex, p in compiled:
            m = regex.search(line, pos)
            if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                best = (m, p)
        if best is None:
            break
        m, p = best
        if "name" in p:
            out.append((m.start(), m.end(), p["name"]))
        for group, cap in p.get("captures", {}).items():
            if m.group(int(group)) is not None:
                out.append((m.start(int(group)), m.end(int(group)), cap["name"]))
        pos = m.end()
    return out


def shipped_texts():
    from trimtab.dsl.formatter import format_text
    for path in sorted(RULES.glob("*.rules")):
        text = path.read_text(encoding="utf-8")
        yield path.name, text
        yield f"{path.name} (zh)", format_text(text, "zh")
        yield f"{path.name} (en)", format_text(text, "en")


@pytest.mark.parametrize("name,text", list(shipped_texts()), ids=lambda v: v if len(v) < 40 else "")
def test_the_grammar_colours_what_the_parse_reads(name, text):
    from trimtab.dsl.editor.highlight import spans
    patterns = json.loads(GRAMMAR.read_text(encoding="utf-8"))["patterns"]
    lines = text.split("\n")
    coloured = {i: scopes(line, patterns) for i, line in enumerate(lines)}
    wrong = []
    for s in spans(text):
        want = EXPECTED.get(s.kind)
        if want is None:
            continue
        got = [scope for start, end, scope in coloured[s.line]
               if start <= s.column and s.column + len(s.text) <= end]
        if not any(g.startswith(want) for g in got):
            wrong.append(f"{s.line + 1}:{s.column + 1} {s.text!r} is {s.kind}, coloured {got or 'nothing'}")
    assert spans(text), f"{name} does not parse"
    assert not wrong, f"{name}:\n" + "\n".join(wrong[:20])


def test_a_chinese_keyword_inside_a_name_is_not_coloured():
    patterns = json.loads(GRAMMAR.read_text(encoding="utf-8"))["patterns"]
    found = scopes("    通知 目标的负责人", patterns)      # 的 (of) inside a name stays a name
    assert [(s, e) for s, e, scope in found if scope.startswith("keyword")] == [(4, 6)]
