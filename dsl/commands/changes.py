"""trimtab diff and replay: what a change of the rules does, in words and on recorded facts."""
from __future__ import annotations

import json
import sys

from .common import EXIT_ERRORS, EXIT_OK, load_or_report, read_records


def cmd_diff(args) -> int:
    """What changed between two revisions, in plain words."""
    from ..diff import diff
    old = load_or_report(args, args.rev1)
    new = load_or_report(args, args.rev2) if old is not None else None
    if old is None or new is None:
        return EXIT_ERRORS
    changes = diff(old, new)
    if args.json:
        print(json.dumps({"old_version": old.version, "new_version": new.version,
                          "changes": [c.to_json(args.lang) for c in changes]},
                         ensure_ascii=False, indent=2))
    else:
        print(f"{args.rev1} ({old.version[:12]}) → {args.rev2} ({new.version[:12]}): "
              f"{len(changes)} change(s)")
        for c in changes:
            print(f"  {c.words(args.lang)}")
    return EXIT_OK


class _Progress:
    """A one-line progress bar on stderr for long replays."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled and total >= 1000

    def __call__(self, done: int):
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(self.total, 1))
        end = "\n" if done >= self.total else ""
        print(f"\rreplaying [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,}",
              end=end, file=sys.stderr, flush=True)


def cmd_replay(args) -> int:
    """Recorded facts through two revisions: the decisions that change."""
    from ..replay import replay
    try:
        records = read_records(args.facts)
    except (OSError, ValueError) as err:
        print(f"cannot read facts: {err}", file=sys.stderr)
        return EXIT_ERRORS
    old = load_or_report(args, args.rev1)
    new = load_or_report(args, args.rev2) if old is not None else None
    if old is None or new is None:
        return EXIT_ERRORS
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    report = replay(old, new, records, examples=args.examples, group_by=args.group_by,
                    progress=_Progress(len(records), show),
                    progress_every=max(1, len(records) // 100))
    if args.json:
        print(json.dumps(report.to_json(old, new, args.lang), ensure_ascii=False, indent=2,
                         default=str))
        return EXIT_OK
    print(f"{args.rev1} ({old.version[:12]}) → {args.rev2} ({new.version[:12]})")
    print(f"{report.records:,} records, {report.decisions:,} decisions compared, "
          f"{report.changed:,} changed")
    for rule, n in report.by_rule.most_common():
        print(f"  {rule}: {n:,}")
    if report.by_group:
        print("by " + (args.group_by or "team/region") + ":")
        for group, n in report.by_group.most_common(20):
            print(f"  {group}: {n:,}")
    for (rule, a, b), n in report.by_transition.most_common(20):
        print(f"  {rule}: {a} → {b} × {n:,}")
    for skipped, n in report.skipped.items():
        print(f"skipped {n:,} record(s): {skipped}", file=sys.stderr)
    if report.errors:
        total = sum(report.errors.values())
        print(f"{total:,} decision(s) could not be evaluated:", file=sys.stderr)
        for (rule, code), n in report.errors.most_common(10):
            print(f"  {rule}: {code} × {n:,}", file=sys.stderr)
    for i, ex in enumerate(report.examples, 1):
        data = report.example_json(ex, old, new, args.lang)
        print(f"\nexample {i}: record {ex.index}, {ex.rule} ({ex.group}): {data['old']} → {data['new']}")
        for key, label in (("old_trace", args.rev1), ("new_trace", args.rev2)):
            print(f"  {label}:")
            for line in data.get(key, []):
                print(f"    {line}")
    return EXIT_OK
