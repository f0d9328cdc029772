"""The floor: the least any build must do, one DuckDB pass over every raw file."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Floor:
    """Seconds to read every raw file once, touching every column, and what was read."""

    seconds: float
    rows: int
    values: int
    files: int
    bytes_on_disk: int


def _columns(paths: list[Path]) -> list[str]:
    return [str(name) for name in pq.read_schema(paths[0]).names]


def floor_query(files: dict[str, list[Path]]) -> str:
    """One query that reads each table's files once and touches every value of every column.

    ``length`` of each text value is summed, so no column can be skipped; the per-table
    aggregates are joined into one row so the tables are scanned in one statement.
    """
    selects = []
    for i, (table, paths) in enumerate(sorted(files.items())):
        if not paths:
            continue
        columns = _columns(paths)
        listed = ", ".join(f"'{p}'" for p in paths)
        touched = " + ".join(f"coalesce(sum(length({c})), 0)" for c in columns)
        selects.append(
            f"(select count(*) as rows_{i}, {touched} as chars_{i} "
            f"from read_parquet([{listed}], union_by_name = true)) as {table}"
        )
    return "select * from " + " cross join ".join(selects)


def measure_floor(files: dict[str, list[Path]], memory_limit: str) -> Floor:
    """Run the floor query on an in-memory DuckDB with the build's memory limit.

    DuckDB's own threads stay at its default (one per core), as in the build: dbt's
    ``threads`` only sets how many queries run at once.
    """
    query = floor_query(files)
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        began = time.perf_counter()
        row = con.execute(query).fetchone()
        seconds = time.perf_counter() - began
    finally:
        con.close()
    assert row is not None
    counts = [int(v) for v in row[0::2]]
    values = 0
    for paths in files.values():
        if paths:
            width = len(_columns(paths))
            values += width * sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    return Floor(
        seconds=seconds,
        rows=sum(counts),
        values=values,
        files=sum(len(p) for p in files.values()),
        bytes_on_disk=sum(p.stat().st_size for paths in files.values() for p in paths),
    )
