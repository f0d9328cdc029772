"""The floors: the least any build must do with the raw files.

- The floor: one DuckDB pass that reads every raw file and touches every value.
- The typed floor: the same pass, also casting every column of a typed kind (integers,
  decimals, dates, timestamps, booleans) to its contract type, which staging must do at the
  least; ids, text and enums stay text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from customer_health.generator.contract import TABLES_BY_NAME, ColumnKind, Table

# The DuckDB type each contract kind is cast to; kinds not listed stay text.
CAST_TYPES: dict[ColumnKind, str] = {
    "int": "bigint",
    "decimal": "decimal(18, 6)",
    "date": "date",
    "timestamp": "timestamptz",
    "bool": "boolean",
}


@dataclass(frozen=True)
class Floor:
    """Seconds to read every raw file once touching every value (``seconds``), and to do so
    casting each typed column to its contract type (``typed_seconds``); what was read, and
    how many values cast (``typed_values``)."""

    seconds: float
    rows: int
    values: int
    files: int
    bytes_on_disk: int
    typed_seconds: float | None = None
    typed_values: int | None = None


def _columns(paths: list[Path]) -> list[str]:
    return [str(name) for name in pq.read_schema(paths[0]).names]


def cast_type(table: Table | None, column: str) -> str | None:
    """The type the typed floor casts ``column`` of ``table`` to; None for text kinds and
    for columns the contract does not declare."""
    if table is None:
        return None
    kinds = {c.name: c.kind for c in table.columns}
    kind = kinds.get(column)
    return CAST_TYPES.get(kind) if kind is not None else None


def floor_query(files: dict[str, list[Path]], tables: Mapping[str, Table] | None = None) -> str:
    """One query that reads each table's files once and touches every value of every column.

    Per table it gives the row count, the summed length of the values read as text (so no
    column can be skipped) and, with ``tables`` (the contract), the count of values that
    cast to their column's type: each typed column is cast instead of measured. The
    per-table aggregates are joined into one row so the tables are scanned in one statement.
    """
    selects = []
    for i, (table, paths) in enumerate(sorted(files.items())):
        if not paths:
            continue
        contract = tables.get(table) if tables is not None else None
        lengths, casts = [], []
        for column in _columns(paths):
            target = cast_type(contract, column)
            if target is None:
                lengths.append(f"coalesce(sum(length({column})), 0)")
            else:
                casts.append(f"count(try_cast({column} as {target}))")
        listed = ", ".join(f"'{p}'" for p in paths)
        selects.append(
            f"(select count(*) as rows_{i}, {' + '.join(lengths) or '0'} as chars_{i}, "
            f"{' + '.join(casts) or '0'} as typed_{i} "
            f"from read_parquet([{listed}], union_by_name = true)) as {table}"
        )
    return "select * from " + " cross join ".join(selects)


def _run(query: str, memory_limit: str) -> tuple[float, list[int]]:
    """Seconds the query took on a new in-memory DuckDB, and its one row."""
    con = duckdb.connect(config={"memory_limit": memory_limit})
    try:
        began = time.perf_counter()
        row = con.execute(query).fetchone()
        seconds = time.perf_counter() - began
    finally:
        con.close()
    assert row is not None
    return seconds, [int(v) for v in row]


def measure_floor(
    files: dict[str, list[Path]],
    memory_limit: str,
    tables: Mapping[str, Table] = TABLES_BY_NAME,
) -> Floor:
    """Run the floor and the typed floor on an in-memory DuckDB with the build's memory
    limit.

    DuckDB's own threads stay at its default (one per core), as in the build: dbt's
    ``threads`` only sets how many queries run at once.
    """
    seconds, row = _run(floor_query(files), memory_limit)
    typed_seconds, typed_row = _run(floor_query(files, tables), memory_limit)
    values = 0
    for paths in files.values():
        if paths:
            width = len(_columns(paths))
            values += width * sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    return Floor(
        seconds=seconds,
        rows=sum(row[0::3]),
        values=values,
        files=sum(len(p) for p in files.values()),
        bytes_on_disk=sum(p.stat().st_size for paths in files.values() for p in paths),
        typed_seconds=typed_seconds,
        typed_values=sum(typed_row[2::3]),
    )
