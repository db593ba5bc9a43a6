"""Evaluation "as of" a date uses the rules in force on that date."""
from __future__ import annotations

from conftest import shared_sources
from trimtab.dsl.ruleset import load_sources

SOURCE = """
alert 应收超期 level orange
    effective 2025-01-01
    on receivables per account
    when days_outstanding > 90 days
    notify hrbp

alert 应收超期 level orange
    effective 2025-07-01
    on receivables per account
    when days_outstanding > 60 days
    notify hrbp

alert 新规 level red
    effective 2026-01-01
    on receivables per account
    when amount > 1万
    notify hrbp
"""

FACTS = {"account": "a", "rep": "r", "date": "2025-05-01", "amount": 50000, "days_outstanding": 75}


def test_each_date_gets_its_own_rules(schemas):
    rs = load_sources(shared_sources() + [("dated.rules", SOURCE)], schemas)

    def fired(as_of):
        return {d.rule: d.value for d in rs.evaluate("receivables", FACTS, as_of=as_of)}

    assert fired("2024-12-31") == {}                                # nothing in force yet
    assert fired("2025-05-01") == {"应收超期": False}               # 90 days then
    assert fired("2025-07-01") == {"应收超期": True}                # 60 days from July
    assert fired("2026-03-01") == {"应收超期": True, "新规": True}   # and the new rule
    assert rs.rule("应收超期", "2025-06-30").rule.effective == "2025-01-01"
    assert rs.rule("应收超期", "2025-07-01").rule.effective == "2025-07-01"
