"""The benchmark script, end to end on a small size: full build, appended day, comparison."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_health.bench import rawdata, report
from customer_health.bench.floor import floor_query, measure_floor
from customer_health.bench.presets import PRESETS, Preset, is_month_end
from customer_health.bench.warehouse import Relation, differing_rows
from customer_health.generator.contract import TABLES_BY_NAME
from customer_health.generator.generator import Config

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

    # The appended day is the day after the extract and was scored for every active account;
    # the history starts on the generator's first day, so that day is a month-end.
    assert incremental["delivery_date"] == "2024-04-30"
    assert result["start_date"] == "2024-01-01"
    assert incremental["delivery_is_month_end"] is True
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
    # The typed floor cast the typed columns: nearly every value is of its type (the
    # generator's defects are a small share), and none of the text columns was counted.
    assert 0 < floor["typed_seconds"] < full["seconds"]
    assert 0 < floor["typed_values"] < floor["values"]
    assert full["peak_spill_bytes"] >= 0
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
    def run(seconds: float, rss_gb: float, spill_gb: float | None = None) -> dict[str, object]:
        return {
            "seconds": seconds,
            "peak_rss_bytes": int(rss_gb * 1024**3),
            "peak_spill_bytes": None if spill_gb is None else int(spill_gb * 1024**3),
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
        "floor": {
            "seconds": 10.0,
            "typed_seconds": 25.0,
            "rows": 5,
            "files": 3,
            "bytes_on_disk": 2048,
            "values": 9,
        },
        "full": run(150.0, 3.0, 0.5),
        "incremental": {
            **run(25.0, 1.0),
            "delivery_date": "2026-01-09",
            "delivery_is_month_end": False,
        },
        "comparison": {"fct_account_health_daily": 0},
        "start_date": "2024-01-10",
    }
    text = report.render([result], "intro")
    assert "History from 2024-01-10; the appended day is 2026-01-09 (not a month-end)." in text
    assert "full met (goal 180 s)" in text
    assert "incremental missed (goal 20 s)" in text
    assert "met (goal 4 GB)" in text
    assert "15.0x" in text
    assert "missed (goal 5x)" in text
    # the typed floor and the full build's ratio to it; the spill each build peaked at
    assert "| typed floor (the pass casting every column to its contract type) | 25.0 s |" in text
    assert "| full build / typed floor | 6.0x |" in text
    assert "| peak spill (DuckDB's temporary files) | 0.50 GB | - |" in text
    assert "| 0.50 GB | 15.0x | 6.0x |" in text
    assert "all 1 mart tables equal a full refresh" in text
    assert PRESETS["L"].accounts == 100_000
    assert PRESETS["L"].days == 730


def test_the_delivered_day_follows_the_history_and_month_ends_are_named(tmp_path: Path) -> None:
    def delivered(preset: Preset) -> dt.date:
        size = Config(preset.accounts, preset.days, preset.seed, tmp_path, preset.start_date)
        return size.next_date

    moved = dataclasses.replace(PRESETS["M"], start_date=dt.date(2024, 1, 10))
    assert delivered(PRESETS["M"]) == dt.date(2025, 12, 31)
    assert delivered(moved) == dt.date(2026, 1, 9)
    assert is_month_end(dt.date(2025, 12, 31))
    assert is_month_end(dt.date(2024, 2, 29))
    assert not is_month_end(dt.date(2024, 2, 28))
    assert not is_month_end(dt.date(2026, 1, 9))


def test_a_cached_extract_of_another_first_day_is_not_reused(tmp_path: Path) -> None:
    size = {"accounts": 60, "days": 120, "seed": 42, "dirty": False}
    for folder in ("raw", "next"):
        (tmp_path / folder).mkdir()
        manifest = {**size, "start_date": "2024-01-01"}
        (tmp_path / folder / "_manifest.json").write_text(json.dumps(manifest))
    assert rawdata.is_cached(tmp_path, 60, 120, 42, dt.date(2024, 1, 1))
    assert not rawdata.is_cached(tmp_path, 60, 120, 42, dt.date(2024, 1, 10))
    assert not rawdata.is_cached(tmp_path, 60, 121, 42, dt.date(2024, 1, 1))


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


def test_the_typed_floor_casts_each_typed_column_to_its_contract_type(tmp_path: Path) -> None:
    """Values the cast takes count; ids stay text and are not counted. The cast is DuckDB's
    plain try_cast, the least any typing costs: staging's strict checks (no rounding of
    `12.6` to an integer, exact formats) cost more, which is what the ratio shows."""
    folder = tmp_path / "user_activity_daily"
    folder.mkdir()
    path = folder / "part-00000.parquet"
    pq.write_table(
        pa.table(
            {
                "user_id": ["u1", "u2", "u3"],
                "account_id": ["a1", "a1", "a2"],
                "activity_date": ["2024-01-05", "2024-13-01", "2024-01-06"],
                "sessions": ["3", "three", None],
                "active_minutes": ["10", "x", "7"],
                "key_events": ["1", "2", "3"],
                "_loaded_at": ["2024-01-06T01:00:00Z", "2024-01-06", "soon"],
            }
        ),
        path,
    )
    files = {"user_activity_daily": [path]}
    query = floor_query(files, TABLES_BY_NAME)
    assert "try_cast(sessions as bigint)" in query
    assert "try_cast(_loaded_at as timestamptz)" in query
    assert "try_cast(user_id" not in query
    with duckdb.connect() as con:
        rows, chars, typed = con.execute(query).fetchone() or ()
    assert rows == 3
    # the ids' text: u1 u2 u3 a1 a1 a2
    assert chars == 12
    # dates 2 + sessions 1 + minutes 2 + key events 3 + load times 2
    assert typed == 10
    floor = measure_floor(files, "1GB")
    assert floor.rows == 3
    assert floor.typed_values == 10
    assert floor.typed_seconds is not None
    assert floor.typed_seconds > 0
