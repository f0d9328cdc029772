"""Output layout: ``<out>/<table>/part-NNNNN.parquet``, ``_defects/defects.parquet``,
``_truth/latent_health.parquet`` (on request) and ``_manifest.json``. Every column of the raw
tables is written as Parquet ``string``.

A directory belongs to the generator when its ``_manifest.json`` parses and names the
generator. A run writes only into a missing or empty directory or one of the generator's,
and there it deletes only files a run of the generator wrote (each path is checked against
the manifest and the generator's file names first). Any other non-empty directory holds
someone's own data: a run refuses it unless forced.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from customer_health.generator import __version__
from customer_health.generator.contract import TABLE_NAMES, TABLES_BY_NAME
from customer_health.generator.dirty import DEFECT_SCHEMA
from customer_health.generator.fmt import Formatter, ids

DEFECTS_DIR = "_defects"
DEFECTS_FILE = "defects.parquet"
DEFECTS = PurePosixPath(DEFECTS_DIR, DEFECTS_FILE)
# The simulation's latent health, written on request; ``_`` folders are not raw tables.
TRUTH_DIR = "_truth"
TRUTH_FILE = "latent_health.parquet"
TRUTH = PurePosixPath(TRUTH_DIR, TRUTH_FILE)
TRUTH_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("date", pa.string()),
        ("latent_health", pa.float64()),
        ("smoothed_health", pa.float64()),
    ]
)
MANIFEST = "_manifest.json"
COMPRESSION = "zstd"
# The name every manifest of the generator carries in its "generator" field.
GENERATOR = "healthgen"
# part-NNNNN.parquet (the extract) and part-YYYYMMDD-NNNNN.parquet (a next-day delivery).
PART_NAME = re.compile(r"part-(?:(\d{8})-)?(\d{5})\.parquet")


class Ownership(Enum):
    """What an output directory holds, as far as the generator is concerned."""

    MISSING = "missing"
    EMPTY = "empty"
    GENERATED = "a complete extract of the generator"
    UNFINISHED = "an unfinished run of the generator"
    FOREIGN = "files the generator did not write"
    NOT_A_DIRECTORY = "not a directory"


class ForeignDataError(Exception):
    """The output holds data the generator did not write, so a run leaves it alone."""


def table_schema(table: str) -> pa.Schema:
    """All-text schema of a raw table, in contract column order."""
    return pa.schema([(name, pa.string()) for name in TABLES_BY_NAME[table].column_names])


def part_name(part: int, day: dt.date | None = None) -> str:
    """File name of a part; a next-day part (``day``) sorts after the extract's parts."""
    return f"part-{part:05d}.parquet" if day is None else f"part-{day:%Y%m%d}-{part:05d}.parquet"


def read_marker(out: Path) -> dict[str, Any] | None:
    """The generator's manifest in ``out``: a regular file that parses and names it."""
    path = out / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("generator") == GENERATOR:
        return data
    return None


def ownership(out: Path) -> Ownership:
    """Whether ``out`` is missing, empty, the generator's, or someone else's."""
    if not out.exists() and not out.is_symlink():
        return Ownership.MISSING
    if not out.is_dir():
        return Ownership.NOT_A_DIRECTORY
    if next(out.iterdir(), None) is None:
        return Ownership.EMPTY
    marker = read_marker(out)
    if marker is None:
        return Ownership.FOREIGN
    # A run writes its manifest with "complete": false first and the finished one last;
    # manifests of earlier versions, written only at the end, have no such field.
    return Ownership.GENERATED if marker.get("complete", True) is True else Ownership.UNFINISHED


def claim(out: Path, force: bool = False) -> Ownership:
    """Raise ``ForeignDataError`` unless a run may write into ``out``; returns what it holds."""
    state = ownership(out)
    if state is Ownership.NOT_A_DIRECTORY:
        raise ForeignDataError(f"{out} exists and is not a directory")
    if state is Ownership.FOREIGN and not force:
        raise ForeignDataError(
            f"{out} is not empty and was not written by the generator (it holds no "
            f"{MANIFEST} of the generator's), so it is taken as your own data and left "
            "untouched. Choose a new or empty directory, or give --force to replace the "
            "Parquet files of its table folders with demo data."
        )
    return state


def _is_generator_name(rel: PurePosixPath, marker: dict[str, Any]) -> bool:
    """Whether a run described by ``marker`` wrote the file ``rel`` (relative to its out)."""
    finished = marker.get("complete", True) is True
    if rel == DEFECTS:
        return not finished or marker.get("dirty") is True
    if rel == TRUTH:
        return not finished or marker.get("truth") is True
    if len(rel.parts) != 2 or rel.parts[0] not in TABLE_NAMES:
        return False
    match = PART_NAME.fullmatch(rel.parts[1])
    if match is None:
        return False
    if not finished:
        # An interrupted run wrote some of its parts and has no counts yet.
        return True
    table = rel.parts[0]
    counts = marker.get("part_counts")
    count = counts.get(table) if isinstance(counts, dict) else None
    if not isinstance(count, int) or int(match.group(2)) >= count:
        return False
    appended = marker.get("appended_tables")
    if isinstance(appended, list) and table in appended:
        delivery = marker.get("delivery_date")
        return isinstance(delivery, str) and match.group(1) == delivery.replace("-", "")
    return match.group(1) is None


def generator_files(out: Path) -> list[Path]:
    """The files in ``out`` that a run of the generator wrote, by its manifest.

    Only regular files (never links) in real table folders qualify, under the names the
    generator gives its parts and within the part counts its manifest records.
    """
    marker = read_marker(out)
    if marker is None:
        return []
    candidates = [PurePosixPath(t, p.name) for t in TABLE_NAMES for p in _entries(out / t)]
    candidates += [DEFECTS] if (out / DEFECTS_DIR).is_dir() else []
    candidates += [TRUTH] if (out / TRUTH_DIR).is_dir() else []
    return [
        out / rel
        for rel in candidates
        if _is_generator_name(rel, marker)
        and not (out / rel.parts[0]).is_symlink()
        and not (out / rel).is_symlink()
        and (out / rel).is_file()
    ]


def _entries(folder: Path) -> list[Path]:
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(folder.iterdir())


def _replaced_files(out: Path) -> list[Path]:
    """Forced into someone's directory: the Parquet files its table folders show the build."""
    found = [
        p
        for t in TABLE_NAMES
        for p in _entries(out / t)
        if p.name.endswith(".parquet") and (p.is_symlink() or p.is_file())
    ]
    # A table folder that is a link: the link goes, whatever it points to stays.
    found += [out / t for t in TABLE_NAMES if (out / t).is_symlink()]
    defects = out / DEFECTS
    found += [defects] if defects.is_symlink() or defects.is_file() else []
    manifest = out / MANIFEST
    found += [manifest] if manifest.is_symlink() or manifest.is_file() else []
    return found


def prepare(out: Path, force: bool = False) -> None:
    """Make ``out`` ready for a run: remove what a previous run wrote, so stale parts never
    mix in, and mark the directory as the generator's (an unfinished run until the manifest).

    Raises ``ForeignDataError`` for a directory of other data unless ``force``.
    """
    state = claim(out, force)
    out.mkdir(parents=True, exist_ok=True)
    if state in (Ownership.GENERATED, Ownership.UNFINISHED):
        doomed = generator_files(out)
    elif state is Ownership.FOREIGN:
        doomed = _replaced_files(out)
    else:
        doomed = []
    for path in doomed:
        path.unlink()
    # Folders left empty go too; a folder that still holds anything stays.
    for folder in [out / t for t in TABLE_NAMES] + [out / DEFECTS_DIR, out / TRUTH_DIR]:
        if not folder.is_symlink() and folder.is_dir() and next(folder.iterdir(), None) is None:
            folder.rmdir()
    unfinished = {"generator": GENERATOR, "generator_version": __version__, "complete": False}
    write_manifest(out, unfinished)


def _must_be_new(path: Path) -> None:
    if os.path.lexists(path):
        raise ForeignDataError(
            f"{path} exists and was not written by the generator: it is left untouched and "
            "the run stops. Move it away, or choose a new or empty directory."
        )


class PartWriter:
    """One part file of one table, written batch by batch (one row group per batch)."""

    def __init__(self, out: Path, table: str, part: int, name: str | None = None) -> None:
        self.path = out / table / (name or part_name(part))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _must_be_new(self.path)
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
        _must_be_new(path)
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


class TruthWriter:
    """The latent health of every account on every day it exists (``--truth``)."""

    def __init__(self, out: Path, start: dt.date) -> None:
        path = out / TRUTH_DIR / TRUTH_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        _must_be_new(path)
        self._writer = pq.ParquetWriter(path, TRUTH_SCHEMA, compression=COMPRESSION)
        self._format = Formatter(start)
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.rows = 0

    def add(
        self, first: int, day: int, acct: np.ndarray, health: np.ndarray, smoothed: np.ndarray
    ) -> None:
        """One day of one chunk: ``acct`` are indices within the chunk starting at ``first``."""
        self._parts.append((acct + first, np.full(len(acct), day), health, smoothed))

    def flush(self) -> None:
        """Write what was added as one row group, ordered by account and day."""
        if not self._parts:
            return
        acct, day, health, smoothed = (np.concatenate(c) for c in zip(*self._parts, strict=True))
        self._parts = []
        order = np.lexsort((day, acct))
        batch = pa.Table.from_arrays(
            [
                ids("acc_", acct[order] + 1, 6),
                self._format.dates(day[order]),
                pa.array(health[order], pa.float64()),
                pa.array(smoothed[order], pa.float64()),
            ],
            schema=TRUTH_SCHEMA,
        )
        self._writer.write_table(batch)
        self.rows += batch.num_rows

    def close(self) -> None:
        self.flush()
        if self.rows == 0:
            self._writer.write_table(TRUTH_SCHEMA.empty_table())
        self._writer.close()


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """The finished manifest is written last: with "complete": true it marks a whole extract."""
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
