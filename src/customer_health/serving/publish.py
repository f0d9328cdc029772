"""Publish a tested build: the serving DuckDB file, Parquet exports and the release record.

Layout of the serving directory:

    customer_health.duckdb    the served marts (and the config seeds); BI tools open it
                              read-only. Replaced by a rename, never written in place.
    parquet -> .releases/<release_id>/parquet
                              one Parquet file per table, <schema>/<table>.parquet; the
                              link is swapped by a rename too, so a reader resolving it
                              sees one release's files.
    release.json              what is served: release id, time, row counts.
    .releases/<release_id>/   the last few releases' Parquet files.

A publish never opens the serving file: it writes a new database next to it and renames it
over the old one. A reader holding the old file open keeps reading the old release (the
file lives on until it closes it) and its lock cannot make the publish fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from customer_health.serving.links import check_link, swap_symlink
from customer_health.settings import DATABASE_NAME

SERVED_SCHEMAS = ("marts", "config")
# Served beside those schemas: the decision tree the scores were computed with (its DSL
# text), so a report can show the questions behind a decision path.
SERVED_TABLES = ("intermediate.int_decision_tree_definition",)
KEEP_RELEASES = 3


class PublishRefusedError(Exception):
    """The build does not vouch for a new release: the serving files stay as they are."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class ServingPaths:
    """Where a serving directory keeps its files."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / DATABASE_NAME

    @property
    def parquet(self) -> Path:
        return self.root / "parquet"

    @property
    def releases(self) -> Path:
        return self.root / ".releases"

    @property
    def release_file(self) -> Path:
        return self.root / "release.json"

    @property
    def lock(self) -> Path:
        return self.root / ".publish.lock"


@dataclass(frozen=True)
class Release:
    """One published state of the marts."""

    release_id: str
    published_at: str
    dbt_invocation_id: str
    git_commit: str | None
    as_of_date: str | None
    tables: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def run_dbt_build(
    dbt: Path,
    project_dir: Path,
    target_path: Path,
    env: Mapping[str, str],
    dbt_args: Sequence[str],
) -> int:
    """`dbt build` in its own process (``env`` names the build database); its output goes
    to ours."""
    command = [
        str(dbt),
        "build",
        "--project-dir",
        str(project_dir),
        "--target-path",
        str(target_path),
        *dbt_args,
    ]
    return subprocess.run(command, env=env, check=False).returncode


def descriptions(manifest: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Table and column descriptions from the manifest, keyed by (schema, table)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in {"model", "seed"}:
            continue
        key = (node.get("schema", ""), node.get("alias") or node.get("name", ""))
        found[key] = {
            "description": node.get("description") or "",
            "columns": {
                name: column.get("description") or ""
                for name, column in node.get("columns", {}).items()
            },
        }
    return found


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def served_tables(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    schemas: Iterable[str],
    tables: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """(schema, table) of every table and view of the served schemas, and of the named
    "schema.table"s that exist, sorted."""
    rows = con.execute(
        """
        select table_schema, table_name
        from information_schema.tables
        where table_catalog = ?
            and (
                list_contains(?, table_schema)
                or list_contains(?, table_schema || '.' || table_name)
            )
        order by table_schema, table_name
        """,
        [catalog, list(schemas), list(tables)],
    ).fetchall()
    return [(str(schema), str(table)) for schema, table in rows]


def write_database(
    build_db: Path,
    new_db: Path,
    schemas: Sequence[str],
    tables: Sequence[str],
    manifest: Mapping[str, Any],
    release_fields: Mapping[str, object],
) -> dict[str, int]:
    """Copy the served schemas and tables of the build database into a new database file, with the
    models' descriptions as comments and a one-row `main.release_info`. Returns the rows
    per table ("schema.table")."""
    docs = descriptions(manifest)
    counts: dict[str, int] = {}
    with duckdb.connect(str(new_db)) as con:
        con.execute(f"attach {sql_string(str(build_db))} as build (read_only)")
        served = served_tables(con, "build", schemas, tables)
        if not served:
            raise PublishRefusedError([f"the build database has no table in {', '.join(schemas)}"])
        for schema, table in served:
            target = f"{identifier(schema)}.{identifier(table)}"
            con.execute(f"create schema if not exists {identifier(schema)}")
            con.execute(f"create table {target} as select * from build.{target}")
            row = con.execute(f"select count(*) from {target}").fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
            doc = docs.get((schema, table))
            if doc is None:
                continue
            if doc["description"]:
                con.execute(f"comment on table {target} is {sql_string(doc['description'])}")
            for column, text in doc["columns"].items():
                if text:
                    con.execute(
                        f"comment on column {target}.{identifier(column)} is {sql_string(text)}"
                    )
        con.execute("detach build")
        con.execute(
            """
            create table main.release_info as
            select ? as release_id, cast(? as timestamp) as published_at,
                ? as dbt_invocation_id, ? as git_commit, cast(? as date) as as_of_date
            """,
            [
                release_fields["release_id"],
                release_fields["published_at"],
                release_fields["dbt_invocation_id"],
                release_fields["git_commit"],
                release_fields["as_of_date"],
            ],
        )
        con.execute("comment on table main.release_info is 'The release this file holds.'")
        con.execute("checkpoint")
    wal = new_db.with_name(new_db.name + ".wal")
    if wal.exists():
        raise PublishRefusedError([f"{new_db} still has a write-ahead log after its checkpoint"])
    return counts


def export_parquet(database: Path, tables: Iterable[str], out_dir: Path) -> list[Path]:
    """Each "schema.table" of the database as out_dir/<schema>/<table>.parquet."""
    written = []
    with duckdb.connect(str(database), read_only=True) as con:
        for name in tables:
            schema, table = name.split(".", 1)
            path = out_dir / schema / f"{table}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"copy {identifier(schema)}.{identifier(table)} to {sql_string(str(path))} "
                "(format parquet, compression zstd)"
            )
            written.append(path)
    return written


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    fsync_path(temporary)
    os.replace(temporary, path)


def prune_releases(paths: ServingPaths, keep: int, current: str) -> list[str]:
    """Delete all but the newest `keep` release directories (never the current one)."""
    if not paths.releases.is_dir():
        return []
    releases = sorted(p.name for p in paths.releases.iterdir() if p.is_dir())
    removed = []
    for name in releases[: max(len(releases) - keep, 0)]:
        if name != current:
            shutil.rmtree(paths.releases / name)
            removed.append(name)
    return removed


def git_commit(project_dir: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(project_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def build_as_of_date(build_db: Path) -> str | None:
    """The as-of date of the scores in the build database (null before the marts exist)."""
    with duckdb.connect(str(build_db), read_only=True) as con:
        try:
            row = con.execute(
                "select max(score_date) from marts.fct_account_health_daily"
            ).fetchone()
        except duckdb.CatalogException:
            return None
    return str(row[0]) if row and row[0] is not None else None


def publish(
    build_db: Path,
    paths: ServingPaths,
    run_results: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    project_dir: Path,
    schemas: Sequence[str] = SERVED_SCHEMAS,
    tables: Sequence[str] = SERVED_TABLES,
    keep: int = KEEP_RELEASES,
    now: datetime | None = None,
) -> Release:
    """Publish the build database as a new release (run results already checked)."""
    published = now or datetime.now(UTC)
    invocation = str(run_results.get("metadata", {}).get("invocation_id", ""))
    release_id = published.strftime("%Y%m%dT%H%M%S%fZ") + (
        f"-{invocation[:8]}" if invocation else ""
    )
    fields: dict[str, object] = {
        "release_id": release_id,
        "published_at": published.replace(tzinfo=None).isoformat(),
        "dbt_invocation_id": invocation,
        "git_commit": git_commit(project_dir),
        "as_of_date": build_as_of_date(build_db),
    }
    # Checked before anything is replaced: a real directory where the Parquet link belongs
    # would stop the switch halfway, after the database.
    try:
        check_link(paths.parquet)
    except FileExistsError as exists:
        raise PublishRefusedError([str(exists)]) from exists
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.releases.mkdir(exist_ok=True)
    release_dir = paths.releases / release_id
    release_dir.mkdir()
    new_db = paths.root / f".{DATABASE_NAME}.{release_id}.tmp"
    try:
        counts = write_database(build_db, new_db, schemas, tables, manifest, fields)
        parquet_dir = release_dir / "parquet"
        export_parquet(new_db, counts, parquet_dir)
        release = Release(
            release_id=release_id,
            published_at=str(fields["published_at"]),
            dbt_invocation_id=invocation,
            git_commit=fields["git_commit"] if isinstance(fields["git_commit"], str) else None,
            as_of_date=fields["as_of_date"] if isinstance(fields["as_of_date"], str) else None,
            tables=counts,
        )
        (parquet_dir / "_release.json").write_text(release.to_json(), encoding="utf-8")
        fsync_path(new_db)
    except BaseException:
        new_db.unlink(missing_ok=True)
        shutil.rmtree(release_dir, ignore_errors=True)
        raise
    # The switch: the database, then the Parquet link, then the record of both.
    os.replace(new_db, paths.database)
    swap_symlink(paths.parquet, f"{paths.releases.name}/{release_id}/parquet")
    write_atomically(paths.release_file, release.to_json())
    fsync_path(paths.root)
    prune_releases(paths, keep, release_id)
    return release
