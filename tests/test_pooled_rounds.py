"""tests/bench/pooled_rounds.py pools several server-bench runs and fits the ratio's slope over
the weeks of history, with a level of its own for each run, alone and with the host's speed
(the bare endpoint's CPU a request) beside it.  bench_server.py --json writes what it reads."""
from __future__ import annotations

import importlib.util
import random
import sys

import pytest

from conftest import ROOT

BENCH = ROOT / "tests" / "bench"


def script(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def pooled():
    return script("pooled_rounds")


def run(level: float, slope: float, per_ms: float, bare_ms: list[float], noise: list[float]) -> list[dict]:
    """Six rounds whose ratio is level + slope × weeks + per_ms × the bare endpoint's ms + noise."""
    out = []
    for i, (ms, e) in enumerate(zip(bare_ms, noise)):
        wk = (20 * i, 20 * i + 10)
        ratio = level + slope * sum(wk) / 2 + per_ms * ms + e
        out.append({"weeks": wk, "bare_rps": 500.0, "tt_rps": 500.0 * ratio,
                    "bare_cpu": ms * 0.8 / 1000, "bare_pg": ms * 0.2 / 1000})
    return out


def test_the_hosts_speed_in_the_fit_gives_the_slope_history_has(pooled):
    """The host speeds up through each run (the bare endpoint's CPU a request falls), which
    lowers the ratio: weeks alone take that for history's; with the host in the fit the
    slope comes back as made."""
    rng = random.Random(14)
    runs = [run(0.70 + 0.05 * k, -0.0001, 0.044, [4.0 - 0.3 * i + rng.uniform(-0.2, 0.2) for i in range(6)],
                [rng.gauss(0, 0.002) for _ in range(6)]) for k in range(5)]
    (alone, _se), = pooled.fit(runs, [pooled.weeks])
    (slope, se), (host, _host_se) = pooled.fit(runs, [pooled.weeks, pooled.bare_cpu_ms])
    assert slope == pytest.approx(-0.0001, abs=3 * se)
    assert host == pytest.approx(0.044, rel=0.1)
    assert alone < -0.0004                  # the host's speeding up, read as a fall
    assert 0 < se < 0.0001


def test_each_run_keeps_a_level_of_its_own(pooled):
    """Runs at different levels (hosts at different moments) do not make a slope: a fall is
    read within runs only."""
    flat = [run(level, 0.0, 0.0, [3.0] * 3 + [3.5] * 3, [0.001, -0.001, 0.0, 0.001, -0.001, 0.0])
            for level in (0.60, 0.80)]
    flat[1] = flat[1][::-1]                 # a later run, higher, its rounds listed in reverse
    for r in flat[1]:
        r["weeks"] = (r["weeks"][0] + 500, r["weeks"][1] + 500)
    (slope, se), = pooled.fit(flat, [pooled.weeks])
    assert abs(slope) < 2 * se + 1e-12


def test_too_few_rounds_for_the_fit_are_refused(pooled):
    one = run(0.7, 0.0, 0.0, [3.0, 3.1], [0.0, 0.001])
    with pytest.raises(ValueError, match="no degree of freedom"):
        pooled.fit([one], [pooled.weeks, pooled.bare_cpu_ms])


def test_bench_server_writes_what_the_pooling_reads(pooled, tmp_path):
    bench = script("bench_server")
    rng = random.Random(3)
    paths = []
    for k in range(3):
        rounds = run(0.72, 0.0, 0.0, [rng.uniform(2.5, 3.5) for _ in range(6)],
                     [rng.uniform(-0.01, 0.01) for _ in range(6)])
        for r in rounds:
            r.update(p99_ms=9.0, bare_p99_ms=8.0, errors=0, samples_ms=[1.0] * 1000)
        paths.append(tmp_path / f"run{k}.json")
        bench.write_rounds(str(paths[-1]), rounds, {"gunicorn": "shipped", "json": str(paths[-1])})
    stored = pooled.load(str(paths[0]))
    assert len(stored) == 6 and "samples_ms" not in stored[0]
    assert stored[0]["weeks"] == [0, 10]
    lines = pooled.report([pooled.load(str(p)) for p in paths], bench.verdicts)
    assert lines[0] == "18 rounds of 3 runs"
    assert lines[1].startswith("  (1) ratio on weeks alone: ")
    assert lines[2].startswith("  (2) with the bare endpoint's CPU a request: ")
    assert "  throughput ≥ 60% of bare in every round: met in 3 of 3 runs" in lines, lines
    assert lines[-1].startswith("  all three: ")


def test_a_host_that_did_not_change_speed_is_said_so(pooled):
    steady = [run(0.7, 0.0, 0.0, [3.0] * 6, [0.002, -0.001, 0.0, 0.001, -0.002, 0.001]) for _ in range(2)]
    lines = pooled.report(steady)
    assert lines[2] == "  (2) not fitted: the covariates do not vary within the runs"
