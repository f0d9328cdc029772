"""The pinned engine and profile settings the scores depend on."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[3]


def pinned(package: str) -> str:
    for line in (PROJECT_DIR / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_installed_duckdb_is_the_pinned_version() -> None:
    assert duckdb.__version__ == pinned("duckdb")


def test_try_cast_over_file_reads_gives_null_for_unreadable_text(tmp_path: Path) -> None:
    """Staging relies on try_cast over Parquet and CSV reads: bad text -> null, never an error."""
    values = ["2024-03-05T14:22:10Z", "2024-13-45T25:61:00Z", "n/a", "12,5", "42", None]
    pq.write_table(pa.table({"value": pa.array(values, pa.string())}), tmp_path / "v.parquet")
    (tmp_path / "v.csv").write_text("value\n" + "\n".join(v or "" for v in values) + "\n")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for reader in (
            f"read_parquet('{tmp_path / 'v.parquet'}')",
            f"read_csv('{tmp_path / 'v.csv'}', all_varchar = true)",
        ):
            rows = con.execute(
                f"select try_cast(value as timestamptz) is not null, "
                f"try_cast(value as bigint) from {reader}"
            ).fetchall()
            assert rows == [
                (True, None),
                (False, None),
                (False, None),
                (False, None),
                (False, 42),
                (False, None),
            ], reader


def test_offsets_are_honoured_only_through_timestamptz() -> None:
    """Why staging parses through timestamptz: a plain timestamp cast drops the offset."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        via_tz, naive = con.execute(
            "select cast(cast('2024-03-05T19:52:10+05:30' as timestamptz) as timestamp), "
            "cast('2024-03-05T19:52:10+05:30' as timestamp)"
        ).fetchone() or (None, None)
    assert str(via_tz) == "2024-03-05 14:22:10"
    assert str(naive) == "2024-03-05 19:52:10"


def test_duckdb_profile_pins_utc() -> None:
    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    output = profile["customer_health"]["outputs"]["duckdb"]
    assert output["settings"]["TimeZone"] == "UTC"


def test_spark_profile_is_a_local_session_pinned_to_utc() -> None:
    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    output = profile["customer_health"]["outputs"]["spark"]
    assert (output["type"], output["method"]) == ("spark", "session")
    assert output["server_side_parameters"]["spark.sql.session.timeZone"] == "UTC"


def test_installed_spark_is_the_pinned_version() -> None:
    import pyspark

    pins = dict(
        line.split("==")
        for line in (PROJECT_DIR / "requirements-spark.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["pyspark"] == pyspark.__version__
    assert pyspark.__version__.startswith("4.")
