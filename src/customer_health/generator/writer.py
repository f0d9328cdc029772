"""Output layout: ``<out>/<table>/part-NNNNN.parquet``, ``_defects/defects.parquet`` and
``_manifest.json``. Every column is written as Parquet ``string``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from customer_health.generator.contract import TABLE_NAMES, TABLES_BY_NAME
from customer_health.generator.dirty import DEFECT_SCHEMA

DEFECTS_DIR = "_defects"
DEFECTS_FILE = "defects.parquet"
MANIFEST = "_manifest.json"
COMPRESSION = "zstd"


def table_schema(table: str) -> pa.Schema:
    """All-text schema of a raw table, in contract column order."""
    return pa.schema([(name, pa.string()) for name in TABLES_BY_NAME[table].column_names])


def prepare(out: Path) -> None:
    """Remove what a previous run wrote, so stale parts never mix in."""
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    for table in TABLE_NAMES:
        shutil.rmtree(out / table, ignore_errors=True)
    (out / DEFECTS_DIR / DEFECTS_FILE).unlink(missing_ok=True)


class PartWriter:
    """One part file of one table, written batch by batch (one row group per batch)."""

    def __init__(self, out: Path, table: str, part: int, name: str | None = None) -> None:
        self.path = out / table / (name or f"part-{part:05d}.parquet")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = table_schema(table)
        self._writer = pq.ParquetWriter(self.path, self.schema, compression=COMPRESSION)
        self.rows = 0

    def write(self, batch: pa.Table) -> None:
        if batch.num_rows == 0:
            return
        self._writer.write_table(batch.cast(self.schema))
        self.rows += batch.num_rows

    def close(self) -> None:
        if self.rows == 0:
            self._writer.write_table(self.schema.empty_table())
        self._writer.close()


class DefectWriter:
    """The defect log of a dirty run."""

    def __init__(self, out: Path) -> None:
        path = out / DEFECTS_DIR / DEFECTS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(path, DEFECT_SCHEMA, compression=COMPRESSION)
        self.rows = 0

    def write(self, batch: pa.Table) -> None:
        if batch.num_rows:
            self._writer.write_table(batch)
            self.rows += batch.num_rows

    def close(self) -> None:
        if self.rows == 0:
            self._writer.write_table(DEFECT_SCHEMA.empty_table())
        self._writer.close()


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Written last: its presence marks a complete extract."""
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
