"""What a build left behind: dbt's run results, the marts' row counts, and comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from customer_health.dbt_artifacts import read_manifest, read_run_results

SCORES_MART = "fct_account_health_daily"


@dataclass(frozen=True)
class Relation:
    """A model built as a table: its name, schema and materialization."""

    name: str
    schema: str
    materialized: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def slowest_models(target: Path, limit: int = 8) -> list[tuple[str, float]]:
    """The models that took longest in the last invocation, from run_results.json."""
    results = read_run_results(target)
    timed = [
        (r["unique_id"].split(".")[-1], float(r["execution_time"]))
        for r in results["results"]
        if r["unique_id"].startswith("model.")
    ]
    return sorted(timed, key=lambda item: item[1], reverse=True)[:limit]


def failed_nodes(target: Path) -> list[str]:
    """Nodes of the last invocation whose status is error or fail."""
    results = read_run_results(target)
    return [r["unique_id"] for r in results["results"] if r["status"] in ("error", "fail")]


def failure_messages(target: Path) -> list[str]:
    """What each error or failure of the last invocation says, headline first, on one line.

    dbt's messages open with "Runtime Error in model ..." and give the engine's error on the
    next line, so the first two non-empty lines are kept.
    """
    results = read_run_results(target)
    out = []
    for r in results["results"]:
        if r["status"] in ("error", "fail"):
            lines = [line.strip() for line in (r.get("message") or "").splitlines()]
            out.append(": ".join([line for line in lines if line][:2]))
    return out


def built_relations(target: Path, folder: str | None = None) -> list[Relation]:
    """Models materialized as tables (or incrementally), optionally under models/<folder>."""
    manifest = read_manifest(target)
    out = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not node["config"].get("enabled", True):
            continue
        materialized = node["config"]["materialized"]
        if materialized not in ("table", "incremental"):
            continue
        if folder is not None and (len(node["fqn"]) < 2 or node["fqn"][1] != folder):
            continue
        out.append(Relation(node["name"], node["schema"], materialized))
    return sorted(out, key=lambda r: r.qualified)


def row_counts(db_path: Path, relations: list[Relation]) -> dict[str, int]:
    """Rows of each relation, read from the warehouse file read-only."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        counts = {}
        for rel in relations:
            row = con.execute(f"select count(*) from {rel.qualified}").fetchone()
            counts[rel.name] = int(row[0]) if row else 0
        return counts
    finally:
        con.close()


def rows_on(db_path: Path, score_date: str) -> int:
    """Account-days scored for one day."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        row = con.execute(
            f"select count(*) from marts.{SCORES_MART} where score_date = cast(? as date)",
            [score_date],
        ).fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def differing_rows(left: Path, right: Path, relations: list[Relation]) -> dict[str, int]:
    """Per relation, rows in one warehouse and not the other (both ways, as multisets)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        out = {}
        for rel in relations:
            a, b = f"l.{rel.qualified}", f"r.{rel.qualified}"
            row = con.execute(
                f"""select
                    (select count(*) from (select * from {a} except all select * from {b}))
                    + (select count(*) from (select * from {b} except all select * from {a}))"""
            ).fetchone()
            out[rel.name] = int(row[0]) if row else -1
        return out
    finally:
        con.close()
