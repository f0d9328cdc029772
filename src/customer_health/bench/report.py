"""docs/benchmarks.md: the machine, the versions and one table per measured size."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

GB = 1024**3
PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb", "pyarrow")


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and the versions that matter for the figures."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / GB, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {name: metadata.version(name) for name in PACKAGES},
    }


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s"


def _gb(value: int | None) -> str:
    return "-" if value is None else f"{value / GB:.2f} GB"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.1f}x"


def _goal(measured: float | None, target: float | None, fmt: str) -> str:
    if target is None:
        return "-"
    if measured is None:
        return f"not measured (goal {fmt.format(target)})"
    verdict = "met" if measured <= target else "missed"
    return f"{verdict} (goal {fmt.format(target)})"


def _size_header(result: dict[str, Any]) -> list[str]:
    """A size's heading and the line on its data, memory limit and threads."""
    floor = result["floor"]
    return [
        f"### {result['name']}: {result['accounts']:,} accounts x {result['days']} days",
        "",
        f"Measured {result['measured_at']}; raw extract {floor['rows']:,} rows in "
        f"{floor['files']} files ({floor['bytes_on_disk'] / 1024**2:,.0f} MB of Parquet). "
        f"DuckDB memory limit {result.get('memory_limit') or 'as in the profile'}, "
        f"{result.get('threads') or 'default'} threads.{_delivery(result)}",
        "",
    ]


def _delivery(result: dict[str, Any]) -> str:
    """The sentence on the appended day: its date, and whether it is a month-end."""
    incr = result.get("incremental") or {}
    if "delivery_is_month_end" not in incr:
        return ""
    kind = (
        "a month-end, so the monthly models may recompute"
        if incr["delivery_is_month_end"]
        else "not a month-end"
    )
    return (
        f" History from {result['start_date']}; the appended day is "
        f"{incr['delivery_date']} ({kind})."
    )


def failure_section(result: dict[str, Any]) -> list[str]:
    """The Markdown for a size whose full build failed: what failed, after how long."""
    failed, floor = result["failed"], result["floor"]
    lines = [
        *_size_header(result),
        f"**The {failed['step']} build failed** after {_secs(failed['seconds'])} "
        f"(peak RSS {_gb(failed['peak_rss_bytes'])}): {failed['error']}",
        "",
        f"Failed nodes: {', '.join(failed['failed_nodes']) or '-'}. "
        f"Floor: {_secs(floor['seconds'])}.",
    ]
    return [*lines, ""]


def size_section(result: dict[str, Any]) -> list[str]:
    """The Markdown for one measured size."""
    if result.get("failed") and not result.get("full"):
        return failure_section(result)
    full, incr, floor = result["full"], result.get("incremental"), result["floor"]
    targets = result["targets"]
    ratio = full["seconds"] / floor["seconds"] if floor["seconds"] else None
    peak_gb = max(full["peak_rss_bytes"], incr["peak_rss_bytes"] if incr else 0) / GB
    incr_days = f"{incr['account_days']:,}" if incr else "-"
    incr_rate = f"{incr['account_days'] / incr['seconds']:,.0f}" if incr else "-"
    lines = [
        *_size_header(result),
        "| | full build | incremental day | goal |",
        "|---|---:|---:|---|",
        f"| wall time | {_secs(full['seconds'])} | "
        f"{_secs(incr['seconds']) if incr else '-'} | full "
        f"{_goal(full['seconds'], targets['full_build_s'], '{:.0f} s')}; incremental "
        f"{_goal(incr['seconds'] if incr else None, targets['incremental_s'], '{:.0f} s')} |",
        f"| peak RSS (process tree) | {_gb(full['peak_rss_bytes'])} | "
        f"{_gb(incr['peak_rss_bytes']) if incr else '-'} | "
        f"{_goal(peak_gb, targets['peak_rss_gb'], '{:.0f} GB')} |",
        f"| peak spill (DuckDB's temporary files) | {_gb(full.get('peak_spill_bytes'))} | "
        f"{_gb(incr.get('peak_spill_bytes')) if incr else '-'} | |",
        f"| account-days scored | {full['account_days']:,} | {incr_days} | |",
        f"| account-days per second | {full['account_days'] / full['seconds']:,.0f} | "
        f"{incr_rate} | |",
        f"| floor (one pass over the raw files) | {_secs(floor['seconds'])} | | |",
        f"| typed floor (the pass casting every column to its contract type) | "
        f"{_secs(floor.get('typed_seconds'))} | | |",
        f"| full build / floor | {_ratio(full['seconds'], floor['seconds'])} | | "
        f"{_goal(ratio, targets['floor_ratio'], '{:.0f}x')} |",
        f"| full build / typed floor | {_ratio(full['seconds'], floor.get('typed_seconds'))} | | |",
    ]
    if result.get("failed"):
        failed = result["failed"]
        lines += [
            "",
            f"**The {failed['step']} build failed** after {_secs(failed['seconds'])}: "
            f"{failed['error']}",
        ]
    if result.get("comparison") is not None:
        diffs = result["comparison"]
        bad = {k: v for k, v in diffs.items() if v}
        verdict = (
            f"all {len(diffs)} mart tables equal a full refresh"
            if not bad
            else "DIFFERENT from a full refresh: "
            + ", ".join(f"{k} ({v} rows)" for k, v in sorted(bad.items()))
        )
        lines += ["", f"Incremental correctness: {verdict}."]
    after = "the incremental day" if incr else "the full build"
    lines += ["", f"Rows per mart after {after}:", ""]
    lines += ["| mart | rows |", "|---|---:|"]
    counts = (incr or full)["mart_rows"]
    lines += [f"| {name} | {rows:,} |" for name, rows in sorted(counts.items())]
    for label, run in (("full build", full), ("incremental day", incr)):
        if not run:
            continue
        lines += ["", f"Slowest models, {label}:", "", "| model | seconds |", "|---|---:|"]
        lines += [f"| {name} | {secs:.1f} |" for name, secs in run["slowest_models"]]
    return [*lines, ""]


def render(results: list[dict[str, Any]], intro: str) -> str:
    """The whole document."""
    env = results[0]["machine"] if results else machine()
    pkgs = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
    lines = [
        "# Benchmarks",
        "",
        intro.strip(),
        "",
        "## Machine",
        "",
        f"- CPU: {env['cpu']}, {env['cores']} cores; memory {env['memory_gb']} GB; {env['os']}",
        f"- Python {env['python']}; {pkgs}",
        "",
        "## Summary",
        "",
        "| size | accounts x days | full build | incremental day | peak RSS | peak spill "
        "| full / floor | full / typed floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if not r.get("full"):
            failed = r["failed"]
            lines.append(
                f"| {r['name']} | {r['accounts']:,} x {r['days']} | failed after "
                f"{_secs(failed['seconds'])} | - | {_gb(failed['peak_rss_bytes'])} | - | - | - |"
            )
            continue
        incr = r.get("incremental")
        peak = max(r["full"]["peak_rss_bytes"], incr["peak_rss_bytes"] if incr else 0)
        spill = max(
            r["full"].get("peak_spill_bytes") or 0,
            (incr.get("peak_spill_bytes") or 0) if incr else 0,
        )
        lines.append(
            f"| {r['name']} | {r['accounts']:,} x {r['days']} | {_secs(r['full']['seconds'])} | "
            f"{_secs(incr['seconds']) if incr else '-'} | {_gb(peak)} | {_gb(spill)} "
            f"| {_ratio(r['full']['seconds'], r['floor']['seconds'])} "
            f"| {_ratio(r['full']['seconds'], r['floor'].get('typed_seconds'))} |"
        )
    lines += ["", "## Sizes", ""]
    for r in results:
        lines += size_section(r)
    return "\n".join(lines).rstrip() + "\n"


def load_results(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """Saved results of the named sizes that exist, in the order given."""
    out = []
    for name in names:
        path = folder / f"{name}.json"
        if path.is_file():
            out.append(json.loads(path.read_text(encoding="utf-8")))
    return out


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
