"""The benchmark script, end to end on a small size: full build, appended day, comparison."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from customer_health.bench import report
from customer_health.bench.presets import PRESETS
from customer_health.bench.warehouse import Relation, differing_rows

REPO = Path(__file__).resolve().parents[3]
BENCH = ["-m", "customer_health", "bench"]

pytestmark = pytest.mark.functional


def run_bench(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *BENCH, "--accounts", "60", "--days", "120", "--cache"]
    return subprocess.run(
        [*command, str(cache), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )


def test_bench_appends_a_day_and_the_incremental_marts_equal_a_full_refresh(
    tmp_path: Path,
) -> None:
    done = run_bench(tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads((tmp_path / "results" / "60x120.json").read_text())
    full, incremental, floor = result["full"], result["incremental"], result["floor"]

    # The appended day is the day after the extract and was scored for every active account.
    assert incremental["delivery_date"] == "2024-04-30"
    fct = "fct_account_health_daily"
    assert incremental["account_days"] > 0
    assert incremental["mart_rows"][fct] == full["mart_rows"][fct] + incremental["account_days"]
    assert full["account_days"] == full["mart_rows"][fct]
    # Every mart table equals a full refresh of the same raw files.
    assert result["comparison"], "no comparison was made"
    assert set(result["comparison"]) >= {fct, "dim_account_health", "sync_crm_account_health"}
    assert all(rows == 0 for rows in result["comparison"].values()), result["comparison"]

    # The floor read every raw row once.
    manifest = json.loads((tmp_path / "60x120" / "raw" / "_manifest.json").read_text())
    assert floor["rows"] == sum(manifest["row_counts"].values())
    assert 0 < floor["seconds"] < full["seconds"]
    # Measurements are real: the build's process tree held more than the interpreter alone.
    assert full["peak_rss_bytes"] > 100 * 1024**2
    assert full["slowest_models"]
    assert incremental["slowest_models"]

    # The cache is reused: the extract is not generated again.
    stamp = (tmp_path / "60x120" / "raw" / "_manifest.json").stat().st_mtime_ns
    again = run_bench(tmp_path, "--no-incremental")
    assert again.returncode == 0, again.stderr[-4000:]
    assert (tmp_path / "60x120" / "raw" / "_manifest.json").stat().st_mtime_ns == stamp
    assert "generating" not in again.stderr


def test_comparison_counts_rows_that_differ_both_ways(tmp_path: Path) -> None:
    for name, rows in (
        ("a", [(1, "x"), (2, "y"), (2, "y")]),
        ("b", [(1, "x"), (2, "y"), (3, "z")]),
    ):
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        con.execute("create schema marts")
        con.execute("create table marts.t (k integer, v varchar)")
        con.executemany("insert into marts.t values (?, ?)", rows)
        con.close()
    rel = [Relation("t", "marts", "table")]
    # (2, 'y') once more on the left, (3, 'z') only on the right
    assert differing_rows(tmp_path / "a.duckdb", tmp_path / "b.duckdb", rel) == {"t": 2}
    assert differing_rows(tmp_path / "a.duckdb", tmp_path / "a.duckdb", rel) == {"t": 0}


def test_report_marks_goals_met_and_missed() -> None:
    def run(seconds: float, rss_gb: float) -> dict[str, object]:
        return {
            "seconds": seconds,
            "peak_rss_bytes": int(rss_gb * 1024**3),
            "account_days": 1000,
            "mart_rows": {"fct_account_health_daily": 1000},
            "slowest_models": [["int_usage_signals_daily", 12.5]],
        }

    result = {
        "name": "M",
        "accounts": 10_000,
        "days": 730,
        "measured_at": "2026-11-22 10:00 UTC",
        "machine": report.machine(),
        "targets": {"full_build_s": 180, "incremental_s": 20, "peak_rss_gb": 4, "floor_ratio": 5},
        "floor": {"seconds": 10.0, "rows": 5, "files": 3, "bytes_on_disk": 2048, "values": 9},
        "full": run(150.0, 3.0),
        "incremental": run(25.0, 1.0),
        "comparison": {"fct_account_health_daily": 0},
    }
    text = report.render([result], "intro")
    assert "full met (goal 180 s)" in text
    assert "incremental missed (goal 20 s)" in text
    assert "met (goal 4 GB)" in text
    assert "15.0x" in text
    assert "missed (goal 5x)" in text
    assert "all 1 mart tables equal a full refresh" in text
    assert PRESETS["L"].accounts == 100_000
    assert PRESETS["L"].days == 730


def test_a_failed_build_is_recorded_and_reported(tmp_path: Path) -> None:
    """A memory limit far too small: the build fails, and the result says where and why."""
    done = run_bench(tmp_path, "--no-incremental", "--memory-limit", "24MB")
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads((tmp_path / "results" / "60x120.json").read_text())
    assert result["full"] is None
    failed = result["failed"]
    assert failed["step"] == "full"
    assert failed["failed_nodes"]
    assert "Out of Memory" in failed["error"]
    assert failed["seconds"] > 0
    text = report.render([result], "intro")
    assert "**The full build failed**" in text
    assert "| 60x120 | 60 x 120 | failed after" in text
