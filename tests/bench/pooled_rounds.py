#!/usr/bin/env python3
"""Several runs of tests/bench/bench_server.py pooled: does the ratio fall as history grows once
the host's own speed is in the fit?

`bench_server.py --check` judges "not falling" on one run, its last round against its first.
But within a run the ratio (trimtab's rate ÷ the bare endpoint's) moves with the host as well
as with the weeks of history. When the host slows, the per-request work both servers share (the
kernel's sockets, gunicorn, the clients) takes longer for both alike, and that lifts the
ratio toward 1. On the AMD EPYC host of 2026-12-03 19:00–19:25 UTC the ratio rose by 4.4 points
for each millisecond of the bare endpoint's CPU a request (docs/performance.md). So one run's
first and last rounds compare two states of the host as much as two depths of history.

This reads the rounds that `bench_server.py --json FILE` wrote, one file a run, and fits by
least squares, with a level of its own for each run (only changes within a run count):

    ratio = the run's level + slope × weeks of history                                (1)
    ratio = the run's level + slope × weeks + c × the bare endpoint's CPU a request   (2)

(the bare endpoint's CPU: its workers' and PostgreSQL's, ms a request; the host's speed as it
was in that round). It prints both slopes, in points per 100 weeks, with their standard errors,
then each round's mean ratio, and how many runs met each of the bench's three targets.

Not a target and not a judge: the issue's target stays as `--check` judges it. This tells the
next engineer whether a run's fall is history or the host.

    python tests/bench/pooled_rounds.py RUN.json [RUN.json ...]
"""
from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path


def ratio(r: dict) -> float:
    return r["tt_rps"] / r["bare_rps"]


def weeks(r: dict) -> float:
    """The middle of the weeks of history the round's throughput ran at."""
    return sum(r["weeks"]) / 2


def bare_cpu_ms(r: dict) -> float:
    """The bare endpoint's CPU a request in the round, its workers' and PostgreSQL's, in ms."""
    return (r["bare_cpu"] + r["bare_pg"]) * 1000


def fit(runs: list[list[dict]], covariates) -> list[tuple[float, float]]:
    """Least squares of the rounds' ratio on `covariates` (functions of a round) with a level of
    its own for each run → (coefficient, standard error) of each covariate.  The run levels
    are taken out by centring every variable within its run (Frisch–Waugh–Lovell)."""
    rows = []
    for rounds in runs:
        values = [[ratio(r)] + [f(r) for f in covariates] for r in rounds]
        means = [statistics.fmean(column) for column in zip(*values)]
        rows += [[v - m for v, m in zip(row, means)] for row in values]
    k = len(covariates)
    dof = len(rows) - len(runs) - k
    if dof < 1:
        raise ValueError(f"{len(rows)} rounds in {len(runs)} runs leave no degree of freedom for {k} covariates")
    xtx = [[sum(row[1 + i] * row[1 + j] for row in rows) for j in range(k)] for i in range(k)]
    xty = [sum(row[1 + i] * row[0] for row in rows) for i in range(k)]
    inverse = _inverse(xtx)
    beta = [sum(inverse[i][j] * xty[j] for j in range(k)) for i in range(k)]
    residuals = [row[0] - sum(b * row[1 + i] for i, b in enumerate(beta)) for row in rows]
    s2 = sum(e * e for e in residuals) / dof
    return [(beta[i], math.sqrt(s2 * inverse[i][i])) for i in range(k)]


def _inverse(m: list[list[float]]) -> list[list[float]]:
    """A small symmetric matrix's inverse, by Gauss–Jordan elimination."""
    n = len(m)
    a = [list(row) + [float(i == j) for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda i: abs(a[i][col]))
        if abs(a[pivot][col]) < 1e-12:
            raise ValueError("the covariates do not vary within the runs")
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [v / p for v in a[col]]
        for i in range(n):
            if i != col:
                factor = a[i][col]
                a[i] = [v - factor * w for v, w in zip(a[i], a[col])]
    return [row[n:] for row in a]


def report(runs: list[list[dict]], judge=None) -> list[str]:
    """The lines printed for `runs` (each a run's rounds); `judge`: bench_server.verdicts."""
    n = sum(len(rounds) for rounds in runs)
    out = [f"{n} rounds of {len(runs)} runs"]
    (slope, se), = fit(runs, [weeks])
    out.append(f"  (1) ratio on weeks alone: {slope * 1e4:+.2f} ± {se * 1e4:.2f} points per 100 weeks")
    try:
        (slope, se), (host, host_se) = fit(runs, [weeks, bare_cpu_ms])
        out.append(f"  (2) with the bare endpoint's CPU a request: {slope * 1e4:+.2f} ± {se * 1e4:.2f} points "
                   f"per 100 weeks; {host * 100:+.2f} ± {host_se * 100:.2f} points a ms of the bare endpoint's CPU")
    except ValueError as e:
        out.append(f"  (2) not fitted: {e}")
    depth = max(len(rounds) for rounds in runs)
    means = [statistics.fmean(ratio(rounds[i]) for rounds in runs if len(rounds) > i) for i in range(depth)]
    out.append("  mean ratio by round: " + " / ".join(f"{m:.1%}" for m in means))
    if judge is not None:
        held = [judge(rounds) for rounds in runs]
        for name, (_ok, line) in held[0].items():     # each target as its verdict's line words it
            out.append(f"  {line.split(': ')[0]}: met in {sum(v[name][0] for v in held)} of {len(runs)} runs")
        out.append(f"  all three: {sum(all(ok for ok, _ in v.values()) for v in held)} of {len(runs)} runs")
    return out


def load(path: str) -> list[dict]:
    return json.loads(Path(path).read_text())["rounds"]


def main(argv=None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_server import verdicts
    print("\n".join(report([load(p) for p in paths], verdicts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
