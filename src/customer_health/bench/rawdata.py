"""The raw extract a benchmark builds from: generated once, then linked into a run folder.

The cache holds ``raw/`` (the extract) and ``next/`` (the delivery of the following day,
from the generator's ``--next-day-out``). A run gets its own folder of symbolic links, so
appending the new day never changes the cache.

The bench deletes only what it created: a folder it makes holds ``_bench.json`` naming the
bench, and a folder without it is refused, never removed; a table folder of a run is
emptied only when it holds nothing but the bench's links.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from customer_health.generator.contract import TABLE_NAMES
from customer_health.generator.generator import STREAMED

MANIFEST = "_manifest.json"
# The file that marks a folder the bench created (and so may delete).
BENCH_MARKER = "_bench.json"
BENCH = "customer-health bench"


class NotBenchFolderError(Exception):
    """A folder the bench would delete holds something the bench did not create."""


def make_folder(path: Path) -> None:
    """Create the new folder ``path`` and mark it as the bench's."""
    path.mkdir(parents=True)
    marker = {"created_by": BENCH}
    (path / BENCH_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def is_bench_folder(path: Path) -> bool:
    """Whether ``path`` is a real folder whose marker parses and names the bench."""
    marker = path / BENCH_MARKER
    if path.is_symlink() or not path.is_dir() or marker.is_symlink() or not marker.is_file():
        return False
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("created_by") == BENCH


def _refuse(path: Path) -> NotBenchFolderError:
    return NotBenchFolderError(
        f"{path} was not created by the benchmark (it has no {BENCH_MARKER} of the "
        "bench's), so it is left untouched: remove it yourself or choose another --cache"
    )


def remove_folder(path: Path) -> None:
    """Delete a folder the bench created; nothing to do when it is missing.

    Raises ``NotBenchFolderError`` for anything else at ``path``.
    """
    if not path.exists() and not path.is_symlink():
        return
    if not is_bench_folder(path):
        raise _refuse(path)
    shutil.rmtree(path)


def _remove_links(folder: Path) -> None:
    """Empty and remove a run's table folder, which holds only the bench's links."""
    if folder.is_symlink() or not folder.is_dir():
        raise _refuse(folder)
    entries = list(folder.iterdir())
    if not all(entry.is_symlink() for entry in entries):
        raise _refuse(folder)
    for entry in entries:
        entry.unlink()
    folder.rmdir()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The generator's manifest in ``folder``, or None when the extract is missing."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def is_cached(cache: Path, accounts: int, days: int, seed: int, start_date: dt.date) -> bool:
    """Whether ``cache`` holds a complete extract and next-day delivery of this size, from
    this first day."""
    raw, nxt = read_manifest(cache / "raw"), read_manifest(cache / "next")
    if raw is None or nxt is None:
        return False
    wanted = {
        "accounts": accounts,
        "days": days,
        "seed": seed,
        "start_date": start_date.isoformat(),
        "dirty": False,
    }
    return all(raw.get(k) == v and nxt.get(k) == v for k, v in wanted.items())


def run_generator(
    out: Path, accounts: int, days: int, seed: int, log_path: Path, *options: str
) -> None:
    """Run ``customer-health generate`` into ``out`` (with extra ``options``), its output to
    ``log_path``; raises ``CalledProcessError`` when it fails."""
    command = [
        sys.executable,
        "-m",
        "customer_health",
        "generate",
        "--accounts",
        str(accounts),
        "--days",
        str(days),
        "--seed",
        str(seed),
        "--out",
        str(out),
        *options,
    ]
    with log_path.open("w", encoding="utf-8") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)


def generate(
    cache: Path, accounts: int, days: int, seed: int, start_date: dt.date, log_path: Path
) -> None:
    """Generate the extract (from ``start_date``) and the next day's delivery into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    run_generator(
        cache / "raw",
        accounts,
        days,
        seed,
        log_path,
        "--start-date",
        start_date.isoformat(),
        "--next-day-out",
        str(cache / "next"),
    )


def _link_parts(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for part in sorted(source.glob("*.parquet")):
        (target / part.name).symlink_to(part.resolve())


def link_extract(cache: Path, run_raw: Path) -> None:
    """Fill ``run_raw``, in a run folder of the bench, with links to the cached extract
    (replacing what was there)."""
    if not is_bench_folder(run_raw.parent):
        raise _refuse(run_raw.parent)
    if run_raw.is_symlink():
        run_raw.unlink()
    elif run_raw.exists():
        shutil.rmtree(run_raw)
    run_raw.mkdir()
    for table in TABLE_NAMES:
        _link_parts(cache / "raw" / table, run_raw / table)
    (run_raw / MANIFEST).symlink_to((cache / "raw" / MANIFEST).resolve())


def append_next_day(cache: Path, run_raw: Path) -> str:
    """Deliver the next day into ``run_raw``, as a daily load would; returns its date.

    The streamed tables get that day's rows as new part files next to the old ones; every
    other table is replaced by its new snapshot.
    """
    nxt = cache / "next"
    manifest = read_manifest(nxt)
    if manifest is None:
        raise FileNotFoundError(f"no next-day delivery in {nxt}")
    for table in TABLE_NAMES:
        if table in STREAMED:
            for part in sorted((nxt / table).glob("*.parquet")):
                (run_raw / table / part.name).symlink_to(part.resolve())
        else:
            _remove_links(run_raw / table)
            _link_parts(nxt / table, run_raw / table)
    return str(manifest["delivery_date"])


def raw_files(run_raw: Path) -> dict[str, list[Path]]:
    """The Parquet files of each raw table in a run folder."""
    return {table: sorted((run_raw / table).glob("*.parquet")) for table in TABLE_NAMES}
