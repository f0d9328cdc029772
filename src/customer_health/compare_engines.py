"""Compare every mart of a Spark build with the same marts of a DuckDB build.

Both builds must have run on the same raw files. For each mart of the project (the models
under models/marts, from dbt's manifest) the comparison checks, by the mart's primary key
(its `unique` or `unique_combination_of_columns` test):

- the same column names on both engines;
- the same keys: none only on one side, none duplicated;
- for every key, equal values: numbers within ``--tolerance`` (0.01), everything else
  (bands, outcomes, paths, trends, dates, flags) exactly, null only where the other is null.

It prints one line per mart and, for a mart that differs, the columns and a few keys that
differ. Exit code 0 when every mart matches, 1 when any differs, 2 on bad input.

    customer-health compare-engines --duckdb data/build/customer_health.duckdb \\
        --spark-dir data/spark --manifest target/spark/manifest.json
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from customer_health import settings
from customer_health.dbt_artifacts import read_artifact

# Key tests in the manifest, by generic test name -> how to read the key columns.
KEY_TESTS = ("unique", "unique_combination_of_columns")
NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)
EXAMPLES = 5


@dataclass
class Mart:
    """A mart of the project: its relation and its primary key."""

    name: str
    schema: str
    key: list[str]


@dataclass
class MartComparison:
    """What differs in one mart between the two engines."""

    mart: Mart
    duckdb_rows: int = 0
    spark_rows: int = 0
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    duplicate_keys: dict[str, int] = field(default_factory=dict)
    only_in: dict[str, int] = field(default_factory=dict)
    differing_columns: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    # The largest absolute difference of any numeric column over the shared keys.
    max_numeric_difference: float = 0.0

    @property
    def matches(self) -> bool:
        return not (
            self.missing_columns
            or any(self.duplicate_keys.values())
            or any(self.only_in.values())
            or self.differing_columns
        )


def marts_from_manifest(manifest: dict[str, Any]) -> list[Mart]:
    """Every enabled model under models/marts, with the key its uniqueness test declares."""
    keys: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        attached = node.get("attached_node")
        if node["resource_type"] != "test" or metadata.get("name") not in KEY_TESTS:
            continue
        if not attached:
            continue
        kwargs = metadata.get("kwargs", {})
        if metadata["name"] == "unique":
            key = [kwargs["column_name"]]
        else:
            key = list(kwargs["combination_of_columns"])
        keys.setdefault(attached, key)
    marts = []
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] != "model" or not node["original_file_path"].startswith(
            "models/marts/"
        ):
            continue
        if unique_id not in keys:
            raise SystemExit(f"compare_engines: mart {node['name']} has no primary-key test")
        marts.append(Mart(name=node["name"], schema=node["schema"], key=keys[unique_id]))
    return marts


def spark_tables(spark_dir: Path, marts: list[Mart]) -> dict[str, pa.Table]:
    """The marts of the Spark build, read through its metastore, as Arrow tables."""
    from pyspark.sql import SparkSession

    spark_dir = spark_dir.resolve()
    log_config = settings.load().project_dir / "spark" / "log4j2.properties"
    settings.spark_local_ip_default()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("compare_engines")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(spark_dir / "warehouse"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=false",
        )
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config}")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .enableHiveSupport()
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        return {mart.name: session.table(f"{mart.schema}.{mart.name}").toArrow() for mart in marts}
    finally:
        session.stop()


def _column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = con.execute(f"describe {relation}").fetchall()
    return {name: str(kind) for name, kind, *_ in rows}


def _is_numeric(kind: str) -> bool:
    return kind.upper().startswith(NUMERIC_TYPES)


def compare_mart(
    con: duckdb.DuckDBPyConnection, mart: Mart, spark_relation: str, tolerance: float
) -> MartComparison:
    """Compare `duck.<schema>.<mart>` with the registered Spark table, by key."""
    result = MartComparison(mart=mart)
    duck_relation = f"duck.{mart.schema}.{mart.name}"
    duck_types = _column_types(con, duck_relation)
    spark_types = _column_types(con, spark_relation)
    for side, mine, other in (
        ("duckdb", duck_types, spark_types),
        ("spark", spark_types, duck_types),
    ):
        missing = sorted(set(other) - set(mine))
        if missing:
            result.missing_columns[side] = missing
    key = mart.key
    key_list = ", ".join(key)
    key_on_both = not set(key) - (set(duck_types) & set(spark_types))
    distinct_keys = f"count(distinct ({key_list}))" if key_on_both else "count(*)"
    for side, relation in (("duckdb", duck_relation), ("spark", spark_relation)):
        rows, distinct = con.execute(
            f"select count(*), {distinct_keys} from {relation}"
        ).fetchone() or (0, 0)
        setattr(result, f"{side}_rows", rows)
        result.duplicate_keys[side] = rows - distinct
    if not key_on_both:
        return result  # nothing to join on: the missing key columns are the finding
    join_on = " and ".join(f"d.{column} is not distinct from s.{column}" for column in key)
    joined = f"{duck_relation} as d full outer join {spark_relation} as s on {join_on}"
    only_duckdb = " and ".join(f"s.{column} is null" for column in key)
    only_spark = " and ".join(f"d.{column} is null" for column in key)
    both = f"not ({only_duckdb}) and not ({only_spark})"
    result.only_in = {
        side: con.execute(f"select count(*) from {joined} where {condition}").fetchone()[0]  # type: ignore[index]
        for side, condition in (("duckdb", only_duckdb), ("spark", only_spark))
    }
    shared = [c for c in duck_types if c in spark_types and c not in key]
    conditions = {}
    numeric = []
    for column in shared:
        if _is_numeric(duck_types[column]) and _is_numeric(spark_types[column]):
            numeric.append(column)
            conditions[column] = (
                f"((d.{column} is null) <> (s.{column} is null)"
                f" or abs(cast(d.{column} as double) - cast(s.{column} as double)) > {tolerance})"
            )
        else:
            conditions[column] = (
                f"cast(d.{column} as varchar) is distinct from cast(s.{column} as varchar)"
            )
    if not conditions:
        return result
    differences = [
        f"max(abs(cast(d.{column} as double) - cast(s.{column} as double)))" for column in numeric
    ]
    counts = con.execute(
        "select "
        + ", ".join(
            [f"count(*) filter (where {condition})" for condition in conditions.values()]
            + [f"greatest({', '.join(differences)})" if differences else "0"]
        )
        + f" from {joined} where {both}"
    ).fetchone()
    assert counts is not None
    *column_counts, largest = counts
    result.max_numeric_difference = float(largest or 0.0)
    result.differing_columns = {
        column: count for column, count in zip(conditions, column_counts, strict=True) if count
    }
    for column in result.differing_columns:
        rows = con.execute(
            f"select {', '.join('d.' + c for c in key)}, cast(d.{column} as varchar),"
            f" cast(s.{column} as varchar) from {joined} where {both} and {conditions[column]}"
            f" order by all limit {EXAMPLES}"
        ).fetchall()
        for *key_values, duck_value, spark_value in rows:
            where = ", ".join(f"{c}={v}" for c, v in zip(key, key_values, strict=True))
            result.examples.append(f"{column} at {where}: duckdb={duck_value} spark={spark_value}")
    return result


def compare(
    duckdb_path: Path, spark: dict[str, pa.Table], marts: list[Mart], tolerance: float
) -> list[MartComparison]:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{duckdb_path}' as duck (read_only)")
        results = []
        for mart in marts:
            relation = f"spark_{mart.name}"
            con.register(relation, spark[mart.name])
            results.append(compare_mart(con, mart, relation, tolerance))
        return results
    finally:
        con.close()


def report(results: list[MartComparison], console: Console) -> None:
    table = Table(title="DuckDB vs Spark, mart by mart")
    for heading in ("mart", "key", "rows duckdb", "rows spark", "max |diff|", "result"):
        table.add_column(heading)
    for result in results:
        problems = []
        for side, columns in result.missing_columns.items():
            problems.append(f"columns missing on {side}: {', '.join(columns)}")
        for side, count in result.duplicate_keys.items():
            if count:
                problems.append(f"{count} duplicate keys on {side}")
        for side, count in result.only_in.items():
            if count:
                problems.append(f"{count} keys only on {side}")
        for column, count in result.differing_columns.items():
            problems.append(f"{column}: {count} rows differ")
        table.add_row(
            result.mart.name,
            ", ".join(result.mart.key),
            str(result.duckdb_rows),
            str(result.spark_rows),
            f"{result.max_numeric_difference:.2g}",
            "[green]equal[/green]" if result.matches else "[red]" + "; ".join(problems) + "[/red]",
        )
    console.print(table)
    for result in results:
        for example in result.examples:
            console.print(f"  {result.mart.name}: {example}")


def main(argv: Sequence[str] | None = None, prog: str = "customer-health compare-engines") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb", type=Path, required=True, help="the DuckDB warehouse file")
    parser.add_argument(
        "--spark-dir", type=Path, required=True, help="HEALTH_SPARK_DIR of the Spark build"
    )
    parser.add_argument(
        "--manifest", type=Path, required=True, help="manifest.json of the Spark build"
    )
    parser.add_argument("--tolerance", type=float, default=0.01, help="for numeric columns")
    args = parser.parse_args(argv)
    console = Console(width=160)
    for path in (args.duckdb, args.spark_dir, args.manifest):
        if not path.exists():
            console.print(f"compare_engines: {path} does not exist")
            return 2
    marts = marts_from_manifest(read_artifact(args.manifest))
    results = compare(args.duckdb, spark_tables(args.spark_dir, marts), marts, args.tolerance)
    report(results, console)
    differing = [r.mart.name for r in results if not r.matches]
    if differing:
        console.print(f"{len(differing)} of {len(results)} marts differ: {', '.join(differing)}")
        return 1
    console.print(f"All {len(results)} marts are equal (numbers within {args.tolerance}).")
    return 0
