"""The benchmark must keep running and keep agreeing with the hand-written code.

This is not a timed test (timings belong to `bash scripts/bench.sh`); it runs the quick mode
and checks that trimtab's answers equal the hand-written decimal Python on every input.
"""
from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import ROOT

# Every test here takes over ~3 s.  They run the benches but assert no time: what they check
# (figures measured, answers agreeing, verdicts said) holds on a busy machine too, so they run
# on both cores with the rest, not in the `serial` pass (scripts/test.sh), which keeps to
# tests that assert wall-clock latency.
pytestmark = [pytest.mark.slow]


def test_quick_benchmark_runs_and_agrees(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_dsl", ROOT / "tests" / "bench" / "bench_dsl.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    for decision in ("scoring", "alert", "split"):
        result = figures["decisions"][decision]
        assert result["disagreements"] == 0
        assert result["ns"]["valid"] > 0 and result["ns"]["checked"] > 0
        assert result["ns"]["python-decimal"] > 0
        from_json = figures["from_json"][decision]      # the decoder's facts decide alike
        assert from_json["disagreements"] == 0 and from_json["ns"]["trimtab json"] > 0
    assert figures["load"]["rules"] == 1000
    assert "targets:" in capsys.readouterr().out


def test_a_check_without_zen_engine_is_not_all_met(monkeypatch, capsys):
    """zen-engine's two targets cannot be judged without it: `--check` fails and says why,
    rather than calling the targets it measured "all"."""
    spec = importlib.util.spec_from_file_location("bench_dsl", ROOT / "tests" / "bench" / "bench_dsl.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setitem(__import__("sys").modules, "zen", None)     # `import zen` fails
    assert bench.main(["--quick", "--check"]) == 1
    out = capsys.readouterr().out
    assert "its targets are not measured" in out
    assert "NOT all met (zen-engine not measured)" in out


def test_replay_benchmark_runs(capsys):
    spec = importlib.util.spec_from_file_location("bench_replay", ROOT / "tests" / "bench" / "bench_replay.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--records", "2000"]) == 0
    out = capsys.readouterr().out
    assert "replay of 2,000 records" in out and "changed" in out


def test_server_benchmark_runs():
    """One tiny round under gunicorn on PostgreSQL: both servers answer every webhook and the
    report carries measured figures."""
    import re
    import subprocess
    import sys
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "bench" / "bench_server.py"), "--rounds", "1",
                        "--requests", "60", "--seconds", "1", "--rate", "40"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "errors 0" in r.stdout, r.stdout
    row = re.search(r"^\s+1\s+(\d+) \(([\d.]+)\+([\d.]+) ms\)\s+(\d+) \(([\d.]+)\+([\d.]+) ms\)", r.stdout, re.M)
    assert row and float(row.group(1)) > 0 and float(row.group(4)) > 0, r.stdout
    # the WAL each server's webhooks wrote: trimtab's stores a fact, its decisions and the
    # delivery, the bare endpoint's one row — both measured, trimtab's the larger
    wal = re.search(r"^\s+1\s.*\s([\d.]+) / ([\d.]+)$", r.stdout, re.M)
    assert wal and 0 < float(wal.group(1)) < float(wal.group(2)), r.stdout
    # where the time went: each server's wall time a request, measured, after the warm-up
    assert "200 untimed webhooks to each" in r.stdout, r.stdout
    where = r.stdout.split("where a request's time went", 1)[1]
    spent = re.search(r"^\s+1\s+([\d.]+) / ([\d.]+)\s+([\d.]+) / ([\d.]+)", where, re.M)
    assert spent and all(float(v) > 0 for v in spent.groups()), r.stdout
    # the three targets judged on this run, each said met or missed
    for target in ("throughput ≥ 60% of bare in every round: ", "p99 < 20 ms in every round: ",
                   "not falling as history grows"):
        assert re.search(re.escape(target) + r".*(met|MISSED)", r.stdout), r.stdout
    assert re.search(r"this run: [0-3] of 3 targets met", r.stdout), r.stdout
    # the WAL flush watched during both latency loops: a figure for each server
    stalls = r"flush in each round's latency loops, ms \(bare / trimtab\): \d+ / \d+$"
    assert re.search(stalls, r.stdout, re.M), r.stdout


def test_history_benchmark_runs():
    """One tiny round: a team at weeks 0–1 and a team filled to week 2, and the bare endpoint,
    in the same slices; every webhook answered and each group's figures measured."""
    import re
    import subprocess
    import sys
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "bench" / "bench_history.py"), "--depths", "0,2",
                        "--rounds", "1", "--requests", "100", "--slices", "2"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "errors 0" in r.stdout, r.stdout
    number = r"(\d+) \(([\d.]+)\+([\d.]+) ms\)"
    row = re.search(rf"^\s+1\s+{number}\s+{number}, ([\d.]+)%\s+{number}, ([\d.]+)%\s+([\d.]+)%$",
                    r.stdout, re.M)
    assert row, r.stdout
    bare, fresh, deep = (row.group(i) for i in (1, 4, 8))
    assert all(float(v) > 0 for v in (bare, fresh, deep)), r.stdout
    # the ratios printed are the requests a second measured, not constants
    assert abs(float(row.group(7)) - 100 * float(fresh) / float(bare)) < 1, r.stdout
    assert abs(float(row.group(12)) - 100 * float(deep) / float(fresh)) < 1, r.stdout
    assert "weeks 2–3 ÷ weeks 0–1: median" in r.stdout, r.stdout


def test_cpu_webhook_measures_a_variant_beside_today(capsys):
    """`cpu_webhook.py --variant SQL`: the same webhooks to today's schema and to a second
    database changed by SQL, in turns; both sides answer every webhook, the variant's change is
    made on its database only, and a ratio is printed from each pair of chunks."""
    import re
    import psycopg
    from serverkit import PG_ADMIN
    spec = importlib.util.spec_from_file_location("cpu_webhook", ROOT / "tests" / "bench" / "cpu_webhook.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--at", "0", "--weeks", "2", "--chunk", "100", "--keep",
                       "--variant", "DROP INDEX ix_decision_sets_form_id"]) == 0
    out = capsys.readouterr().out
    urls = re.search(r"^kept: (\S+), (\S+)$", out, re.M)
    assert urls, out
    names = [u.rsplit("/", 1)[1] for u in urls.groups()]
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        def indexes(name):
            with psycopg.connect(f"{base}/{name}") as own:
                return {r[0] for r in own.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'decision_sets'")}
        today, variant = (indexes(n) for n in names)
        assert "ix_decision_sets_form_id" in today and today - variant == {"ix_decision_sets_form_id"}
        for name in names:              # every webhook stored its decisions on both sides
            with psycopg.connect(f"{base}/{name}") as own:
                assert own.execute("SELECT count(DISTINCT fact_id) FROM decisions").fetchone()[0] == 200
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    number = r"PG ([\d.]+) / ([\d.]+) ms"
    today_pg = re.search(r"^today   weeks\s+0–2 .*?" + number, out, re.M)
    variant_pg = re.search(r"^variant weeks\s+0–2 .*?" + number, out, re.M)
    assert today_pg and variant_pg and "errors" not in out, out
    ratio = re.search(r"variant ÷ today, PostgreSQL's CPU a webhook, chunk pair by chunk pair: "
                      r"median ([\d.]+) \(from ([\d.]+) to ([\d.]+), 2 pairs\)", out)
    assert ratio, out
    low, high = float(ratio.group(2)), float(ratio.group(3))
    assert low <= float(ratio.group(1)) <= high and low > 0
