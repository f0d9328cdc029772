"""Run a command and measure its wall time, the peak memory of its process tree and the most
bytes it had spilled to disk at once."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.1


@dataclass(frozen=True)
class Measured:
    """What one command cost."""

    seconds: float
    peak_rss_bytes: int
    returncode: int
    peak_spill_bytes: int = 0


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def folder_bytes(folder: Path | None) -> int:
    """Bytes of the files under ``folder`` (0 when it is absent or None)."""
    if folder is None:
        return 0
    total = 0
    try:
        entries = list(folder.rglob("*"))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_file():
                total += entry.stat().st_size
        except OSError:
            continue
    return total


class PeakSampler:
    """Samples a process tree's resident memory in the background, and the size of a spill
    folder when one is given; keeps the peak of each."""

    def __init__(
        self, pid: int, interval: float = SAMPLE_SECONDS, spill_dir: Path | None = None
    ) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval
        self._spill_dir = spill_dir
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0
        self.peak_spill = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self._proc))
            self.peak_spill = max(self.peak_spill, folder_bytes(self._spill_dir))
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
    spill_dir: Path | None = None,
) -> Measured:
    """Run ``command`` with its output to ``log_path``; time it and sample its memory and
    the size of ``spill_dir`` (DuckDB's temporary folder: ``<database file>.tmp``)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
        with PeakSampler(proc.pid, spill_dir=spill_dir) as sampler:
            returncode = proc.wait()
    return Measured(time.perf_counter() - began, sampler.peak, returncode, sampler.peak_spill)
