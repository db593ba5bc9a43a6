"""The documentation: README.md as a short front door, the reference pages under docs/.

Every relative link resolves (to a file, and to a heading when it names one), README.md stays
short, no page points outside the repository, and the README's first rule does what the README
shows when the commands it gives are run."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SCHEMAS

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 160                  # the issue asks for about 150

FENCE = re.compile(r"^(```|~~~)")
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
OUTSIDE = re.compile(r"\.\./shared|(?<![\w.~-])/work(?![\w-])")


def prose_lines(text: str):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def links(page: Path):
    """(line number, target) of every Markdown link outside code."""
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        for match in LINK.finditer(CODE_SPAN.sub("", line)):
            yield number, match.group(1)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)     # a link keeps its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    problems = []
    for number, target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):       # http:, https:, mailto:
            continue
        where = f"{page.relative_to(ROOT)}:{number}: {target}"
        path, _, anchor = target.partition("#")
        if path.startswith("/"):
            problems.append(f"{where}: an absolute path, not a link inside the repository")
            continue
        dest = (page.parent / path).resolve() if path else page
        if not dest.is_relative_to(ROOT):
            problems.append(f"{where}: points outside the repository")
        elif not dest.exists():
            problems.append(f"{where}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{where}: no heading with the anchor #{anchor} in {dest.name}")
    return problems


def test_there_are_reference_pages():
    names = {page.name for page in PAGES}
    assert {"language.md", "server.md", "notifications.md", "plugin.md", "rulesets.md",
            "testing.md", "performance.md", "dependencies.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_something_that_exists(page):
    assert broken_links(page) == []


def test_the_readme_links_to_every_reference_page():
    targets = {target.partition("#")[0] for _, target in links(README)}
    assert {f"docs/{page.name}" for page in PAGES[1:]} <= targets


def test_the_link_check_finds_a_broken_link_and_a_missing_anchor(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Webhooks: `POST /hooks/<form>`\n",
                                            encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/a.md) [ok](docs/a.md#webhooks-post-hooksform)\n"
                    "[gone](docs/b.md) [no anchor](docs/a.md#webhooks)\n"
                    "`[in code](docs/c.md)`\n```\n[in a fence](docs/d.md)\n```\n",
                    encoding="utf-8")
    assert [p.split(": ", 1)[0] for p in broken_links(page)] == ["README.md:2", "README.md:2"]
    assert "docs/b.md: no such file" in broken_links(page)[0]
    assert "#webhooks" in broken_links(page)[1]


def test_the_readme_is_a_short_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_points_outside_the_repository(page):
    hits = [f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
            for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
            if OUTSIDE.search(line)]
    assert hits == []


def test_the_outside_pattern_catches_what_it_must():
    for bad in ("see ../shared/design/style.md", "`/work/shared/bench/peers`", "in /work."):
        assert OUTSIDE.search(bad), bad
    for good in ("network/work", "homework", "the /v1/workflows route", "work/ here"):
        assert not OUTSIDE.search(good), good


# ---------------------------------------------------------------- the README's first rule
def first_rule_section() -> tuple[str, list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## A first rule\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", section, re.S | re.M)
    return section, blocks


def trimtab_as_shown(command: str, cwd: Path) -> subprocess.CompletedProcess:
    prefix = ".venv/bin/trimtab "
    assert command.startswith(prefix), command
    return subprocess.run([sys.executable, "-m", "trimtab.server.cli.main", *command[len(prefix):].split()],
                          cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)})


def sessions(block: str) -> list[tuple[str, str]]:
    """(command, the output shown under it) for each `$ ` line of a block."""
    runs = []
    for line in block.splitlines():
        if line.startswith("$ "):
            runs.append((line[2:], ""))
        else:
            command, shown = runs[-1]
            runs[-1] = (command, shown + line + "\n")
    return runs


@pytest.fixture
def first_rule_dir(tmp_path):
    _, blocks = first_rule_section()
    rule, facts = blocks[0], blocks[1]
    (tmp_path / "first.rules").write_text(rule, encoding="utf-8")
    (tmp_path / "facts.json").write_text(facts, encoding="utf-8")
    shutil.copytree(SCHEMAS, tmp_path / "form_schemas")       # "found beside it"
    return tmp_path


def test_the_first_rule_checks_and_evaluates_as_the_readme_shows(first_rule_dir):
    _, blocks = first_rule_section()
    runs = sessions(blocks[2])
    assert [command.split()[1] for command, _ in runs] == ["check", "eval"]
    for command, shown in runs:
        result = trimtab_as_shown(command, first_rule_dir)
        assert result.returncode == 0, result.stderr
        assert result.stdout == shown, command


def test_the_misspelt_first_rule_is_refused_as_the_readme_shows(first_rule_dir):
    section, blocks = first_rule_section()
    misspelt = re.search(r"Misspell the field \(`([^`]+)`\)", section).group(1)
    rule = (first_rule_dir / "first.rules").read_text(encoding="utf-8")
    keyword = misspelt.split()[0]
    written = [line for line in rule.splitlines() if line.strip().startswith(keyword + " ")]
    assert len(written) == 1
    (first_rule_dir / "first.rules").write_text(
        rule.replace(written[0].strip(), misspelt), encoding="utf-8")
    check = next(command for command, _ in sessions(blocks[2]) if " check " in command)
    result = trimtab_as_shown(check, first_rule_dir)
    assert result.returncode == 1
    assert result.stderr == blocks[3]
