"""Drive the dbt project on generated raw data with dbtRunner, for functional tests."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dbt.cli.main import dbtRunner, dbtRunnerResult

from customer_health.generator.contract import TABLES
from customer_health.generator.generator import STREAMED, Config, generate

PROJECT_DIR = Path(__file__).resolve().parents[2]

# The `healthgen_extract` fixture: keyword arguments -> directory of a generated extract.
HealthgenExtract = Callable[..., Path]


@dataclass
class DbtProject:
    """The project pointed at one raw directory and one DuckDB file."""

    raw_dir: Path
    db_path: Path
    work_dir: Path
    project_dir: Path = PROJECT_DIR
    results: list[dbtRunnerResult] = field(default_factory=list)

    def invoke(
        self,
        *args: str,
        dbt_vars: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        callbacks: list[Callable[[Any], None]] | None = None,
        unit_tests: bool = False,
    ) -> dbtRunnerResult:
        """Run a dbt command on this project. A `build` or `test` leaves the unit tests out
        unless `unit_tests`: they test the SQL with fixed inputs, not the data, so they run
        once on DuckDB, in the `clean_build` fixture (test_scoring checks it ran them all)."""
        if args and args[0] in ("build", "test") and not unit_tests:
            args = (*args, "--exclude-resource-type", "unit_test")
        env = {
            "HEALTH_RAW_DIR": str(self.raw_dir),
            "HEALTH_DB_PATH": str(self.db_path),
            # Tests read dbt.log across builds: one file, never rolled over at dbt's 10 MB.
            "DBT_LOG_FILE_MAX_BYTES": "0",
            **(env or {}),
        }
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            cli_args = [
                *args,
                "--project-dir",
                str(self.project_dir),
                "--profiles-dir",
                str(self.project_dir),
                "--target-path",
                str(self.work_dir / "target"),
                "--log-path",
                str(self.work_dir / "logs"),
                "--no-partial-parse",
                "--quiet",
            ]
            if dbt_vars:
                cli_args += ["--vars", json.dumps(dbt_vars)]
            result = dbtRunner(callbacks=callbacks or []).invoke(cli_args)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.results.append(result)
        return result

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        # Same configuration as dbt-duckdb's connection, which stays open in this process.
        with duckdb.connect(str(self.db_path)) as con:
            return con.execute(sql, params or []).fetchall()

    def query_arrow(self, sql: str) -> pa.Table:
        with duckdb.connect(str(self.db_path)) as con:
            return con.execute(sql).to_arrow_table()

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.work_dir / "target" / "manifest.json").read_text())


def statuses(result: dbtRunnerResult) -> dict[str, str]:
    """Node name -> status ('pass', 'warn', 'fail', 'error', 'success', 'skipped').

    Exposures are listed in a build's results as 'no-op' (nothing runs for them) and are
    left out.
    """
    assert result.result is not None, result.exception
    return {
        item.node.name: str(item.status)
        for item in result.result.results
        if str(item.node.resource_type) != "exposure"
    }


def broken_rules(
    project: DbtProject, result: dbtRunnerResult, test_name: str
) -> dict[tuple[str, str], int]:
    """(column, rule) -> failing rows, as the column_values test `test_name` of the build
    `result` finds them on the project's database now (its compiled query run again)."""
    assert result.result is not None, result.exception
    compiled = next(
        item.node.compiled_code for item in result.result.results if item.node.name == test_name
    )
    return {(column, rule): rows for column, rule, rows in project.query(compiled)}


def raw_row_counts(raw_dir: Path) -> dict[str, int]:
    """Rows per raw table, read straight from the Parquet files."""
    counts = {}
    with duckdb.connect() as con:
        for table_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir()):
            if table_dir.name.startswith("_"):
                continue
            sql = f"select count(*) from read_parquet('{table_dir}/*.parquet')"
            row = con.execute(sql).fetchone()
            counts[table_dir.name] = row[0] if row else 0
    return counts


def project_for(tmp: Path, raw_dir: Path) -> DbtProject:
    return DbtProject(raw_dir=raw_dir, db_path=tmp / "warehouse.duckdb", work_dir=tmp)


def copy_of(project: DbtProject, tmp: Path) -> DbtProject:
    """The same project on a copy of its warehouse (a test may change the copy)."""
    tmp.mkdir(parents=True, exist_ok=True)
    # dbt's connection stays open in this process: write its log into the file first
    project.query("checkpoint")
    shutil.copy2(project.db_path, tmp / "warehouse.duckdb")
    return project_for(tmp, project.raw_dir)


PROJECT_FILES = (
    "dbt_project.yml",
    "profiles.yml",
    "selectors.yml",
    "models",
    "macros",
    "seeds",
    "tests",
    "analyses",
)


def copy_project(destination: Path) -> Path:
    """A copy of the dbt project (no data, no build output) whose files a test may change."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("python"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def table_rows(project: DbtProject, relation: str) -> list[tuple[Any, ...]]:
    """Every row of a relation, sorted, for comparing two builds."""
    return sorted(project.query(f"select * from {relation}"), key=repr)


# Raw table -> its source, and its primary-key columns, from the contract.
TABLE_SOURCES = {table.name: table.source for table in TABLES}
PRIMARY_KEYS = {table.name: list(table.key) for table in TABLES}


def write_rows(path: Path, rows: list[dict[str, str | None]]) -> None:
    """A raw Parquet file of text columns, as the loader writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0])
    table = pa.table({c: pa.array([r[c] for r in rows], type=pa.string()) for c in columns})
    pq.write_table(table, path)


def rewrite_typed(path: Path, select: str) -> None:
    """Rewrite a raw Parquet file with typed columns, as a warehouse export holds them:
    `select` reads `{file}` and casts (DuckDB SQL, UTC)."""
    typed = path.with_suffix(".typed")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"copy ({select.format(file=path)}) to '{typed}' (format parquet)")
    typed.replace(path)


def write_csv(table_dir: Path) -> None:
    """Replace each Parquet file of a raw table folder by a CSV file with a header."""
    with duckdb.connect() as con:
        for part in sorted(table_dir.glob("*.parquet")):
            con.execute(
                f"copy (select * from read_parquet('{part}')) to '{part.with_suffix('.csv')}'"
                " (header, delimiter ',')"
            )
            part.unlink()


def first_raw_row(raw: Path, table: str) -> dict[str, str | None]:
    files = sorted((raw / table).glob("*.parquet"))
    row: dict[str, str | None] = pq.read_table(files[0]).slice(0, 1).to_pylist()[0]
    return row


def deliver_next_day(cache: Path, raw: Path) -> None:
    """The generator's next-day delivery: new part files, or new snapshots."""
    for table_dir in sorted(p for p in (cache / "next").iterdir() if p.is_dir()):
        target = raw / table_dir.name
        if table_dir.name not in STREAMED and target.exists():
            shutil.rmtree(target)
        target.mkdir(exist_ok=True)
        for part in table_dir.glob("*.parquet"):
            shutil.copy2(part, target / part.name)


def next_day_delivery(tmp: Path, *, accounts: int, days: int, seed: int) -> Path:
    """The generator's delivery of day `days + 1` for the clean extract of `days` days
    (generated under `tmp`), for `deliver_next_day`."""
    generate(
        Config(accounts=accounts, days=days, seed=seed, out=tmp / "raw", next_day_out=tmp / "next")
    )
    return tmp


def extract_with_next_day(
    tmp: Path, *, accounts: int, days: int, seed: int, dirty_rate: float = 0.02
) -> tuple[Path, Path]:
    """A generated extract with injected defects and the generator's next-day delivery.

    Returns (cache, raw): `cache/next` holds the next day for `deliver_next_day`, and `raw`
    is a copy of the extract that a test may add files to.
    """
    cache = tmp / "extract"
    generate(
        Config(
            accounts=accounts,
            days=days,
            seed=seed,
            out=cache / "raw",
            dirty=True,
            dirty_rate=dirty_rate,
            next_day_out=cache / "next",
        )
    )
    raw = tmp / "raw"
    shutil.copytree(cache / "raw", raw)
    return cache, raw
