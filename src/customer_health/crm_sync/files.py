"""File destination: the payload as CSV or JSONL, for CRMs that import files."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from customer_health.crm_sync.payload import PayloadModel, Record

FORMATS = ("csv", "jsonl")


def file_format(path: Path, requested: str | None) -> str:
    """The requested format, or the one the file name ends with."""
    chosen = requested or path.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise ValueError(f"cannot tell the file format of {path}: pass --format csv or jsonl")
    return chosen


def flat_row(model: PayloadModel, record: Record) -> dict[str, str]:
    """One record as a flat row: the external id, then the properties, in model order."""
    return {model.external_id.name: record.record_id, **record.properties}


def write_payload(path: Path, fmt: str, model: PayloadModel, records: Sequence[Record]) -> None:
    """Write the records atomically: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [prop.name for prop in model.properties]
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            if fmt == "csv":
                writer = csv.DictWriter(out, fieldnames=columns)
                writer.writeheader()
                for record in records:
                    writer.writerow(flat_row(model, record))
            else:
                for record in records:
                    out.write(json.dumps(flat_row(model, record), ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
