"""File destination: the payload as CSV or JSONL, for CRMs that import files.

Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as
a formula. Following OWASP's CSV-injection guidance, such a text cell is written with a
single quote in front (`'=HYPERLINK(...)`), in both formats. A number property's value that
is a number (`-13.5`) is written as it is.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from customer_health.crm_sync.payload import PayloadModel, Record

FORMATS = ("csv", "jsonl")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def file_format(path: Path, requested: str | None) -> str:
    """The requested format, or the one the file name ends with."""
    chosen = requested or path.suffix.lstrip(".").lower()
    if chosen not in FORMATS:
        raise ValueError(f"cannot tell the file format of {path}: pass --format csv or jsonl")
    return chosen


def neutralise(value: str, is_number: bool = False) -> str:
    """A cell a spreadsheet shows as text: a quote before a leading formula character,
    except in a number property's numeric value."""
    if is_number and NUMBER.fullmatch(value):
        return value
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def flat_row(model: PayloadModel, record: Record) -> dict[str, str]:
    """One record as a flat row: the external id, then the properties, in model order,
    each neutralised against formula injection."""
    values = {model.external_id.name: record.record_id, **record.properties}
    return {
        prop.name: neutralise(values[prop.name], prop.type == "number")
        for prop in model.properties
        if prop.name in values
    }


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
