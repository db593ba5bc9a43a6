"""Seeded, realistic-looking recorded facts for replay tests and benchmarks."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

REGIONS = ["east", "south", "north", "west", "central"]


def _d(x: float, places: int = 2) -> Decimal:
    return Decimal(str(round(x, places)))


def weekly_records(count: int, reps: int = 50, seed: int = 7) -> list[dict]:
    """`count` weekly_metrics records, week by week for `reps` reps, in time order."""
    rng = random.Random(seed)
    start = dt.date(2025, 1, 6)
    out = []
    for i in range(count):
        week, rep = divmod(i, reps)
        out.append({"form": "weekly_metrics", "facts": {
            "rep": f"rep{rep:03d}", "region": REGIONS[rep % len(REGIONS)],
            "week_start": (start + dt.timedelta(weeks=week)).isoformat(),
            "effective_visits": rng.randint(4, 16), "meeting_conversion": _d(rng.uniform(0.1, 0.4)),
            "new_opportunity_amount": rng.randint(0, 2_000_000),
            "new_opportunities": rng.randint(1, 8), "stage_advances": rng.choice([0, 0, 1, 2, 3]),
            "pipeline_coverage": _d(rng.uniform(0.55, 1.1)),
            "weighted_pipeline": rng.randint(0, 3_000_000),
            "conversion_rate": _d(rng.uniform(0.1, 0.4)), "new_customers": rng.randint(0, 6),
            "new_visit_records": rng.choice([0, 1, 2, 3, 5, 8]),
            "contract_amount": rng.randint(100_000, 1_000_000),
            "negative_feedback": rng.choice([0, 0, 0, 1, 2, 3]),
        }})
    return out
