"""A decision's details are built once, on the first asking (Decision.details): a fired alert's
stored document, its headline in two languages and a notification's several reads all take
the same dict, where each used to build it again (issue 14: about five times a fired alert)."""
from __future__ import annotations

from serverkit import week


class Counting:
    """A kind's hooks, counting the details it builds."""

    def __init__(self, hooks):
        self.hooks, self.built = hooks, 0

    def __getattr__(self, name):
        return getattr(self.hooks, name)

    def details(self, *args):
        self.built += 1
        return self.hooks.details(*args)


def test_a_fired_alert_builds_its_details_once(shipped, monkeypatch):
    facts = dict(week(5, 2, 0.5), contract_amount=100000, negative_feedback=4)
    decisions = shipped.evaluate("weekly_metrics", facts, [], trace=True, as_of="2026-05-11")
    fired = next(d for d in decisions if d.kind == "alert" and d.value)
    counting = Counting(fired.compiled.hooks)
    monkeypatch.setattr(fired.compiled, "hooks", counting)
    first = fired.details
    doc = fired.to_json("zh", with_trace=False)         # its document and headline
    assert fired.details is first and fired.headline("en") and fired.explain("zh")
    assert counting.built == 1
    # what the document and the headline say comes from those very details
    assert doc["matched"] == first["matched"] and doc["explanation"] == fired.headline("zh")


def test_each_decision_has_its_own_details(shipped):
    quiet, fired = week(1, 5, 0.9), dict(week(5, 2, 0.5), contract_amount=100000, negative_feedback=4)
    a = {d.rule: d for d in shipped.evaluate("weekly_metrics", quiet, [], as_of="2026-05-11")}
    b = {d.rule: d for d in shipped.evaluate("weekly_metrics", fired, [], as_of="2026-05-11")}
    changed = [rule for rule in a if a[rule].details != b[rule].details]
    assert changed and all(a[rule].details is not b[rule].details for rule in a)
