"""Publish a tested build: the serving DuckDB file, Parquet exports and the release record.

Layout of the serving directory:

    customer_health.duckdb    the served marts (and the config seeds); BI tools open it
                              read-only. Replaced by a rename, never written in place.
    parquet -> .releases/<release_id>/parquet
                              one Parquet file per table, <schema>/<table>.parquet; the
                              link is swapped by a rename too, so a reader resolving it
                              sees one release's files.
    release.json              what is served: release id, time, row counts.
    .releases/<release_id>/   the last few releases' Parquet files; `parquet/_release.json`
                              marks a release that was committed to be served, and
                              `.customer-health-release` marks the folder as this project's
                              from the moment it is created.
    .customer-health-serving  marks the directory as one this command publishes to.
    .publish-pending.json     only while a release is being switched in (see below).

A publish never opens the serving file: it writes a new database next to it and renames it
over the old one. A reader holding the old file open keeps reading the old release (the
file lives on until it closes it) and its lock cannot make the publish fail.

Crash safety. The switch from one release to the next renames three names (the database,
the Parquet link, release.json). Its commit point is `.publish-pending.json`, written (by a
rename) once the new database and Parquet files are complete: a publish stopped before it
leaves only temporary files and an unfinished release folder, which the next publish
removes; a publish stopped after it is finished by the next publish, which renames the rest
from the record. So at the start of every publish, and at the end of it, the database,
release.json and the link name the same release.

Ownership. Only paths this project wrote are deleted or replaced: the serving directory
must be empty or carry the marker (or a release.json) of a publish; release folders are
pruned only when their name is a release id and they hold a release marker; temporary files
are removed only when their name is one a publish gives them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from customer_health.serving.links import check_link, is_temporary_link, swap_symlink
from customer_health.settings import DATABASE_NAME

SERVED_SCHEMAS = ("marts", "config")
# Served beside those schemas: the decision tree the scores were computed with (its DSL
# text), so a report can show the questions behind a decision path.
SERVED_TABLES = ("intermediate.int_decision_tree_definition",)
KEEP_RELEASES = 3

# Release gates. These marts hold a row per scored account (per day, per account, per week):
# when one of them builds empty, the build lost its input even if every test passed, and the
# release is refused. The other marts may be empty on a quiet or young portfolio (alerts, band
# transitions, quarantine reasons, the back-test), so they are not gated.
NEVER_EMPTY_MARTS = (
    "marts.fct_account_health_daily",
    "marts.dim_account_health",
    "marts.sync_crm_account_health",
    "marts.rpt_portfolio_health_weekly",
)
# The largest share of its rows one of those marts may lose from one release to the next.
# Only they are held to it: the others change size for good reasons (fewer quarantine
# reasons after a fix at the source, fewer open alerts, a back-test month more or less).
DEFAULT_MAX_SHRINK = 0.2
AS_OF_TABLE = "marts.fct_account_health_daily"

# What proves that a path under the serving directory is this project's.
SERVING_MARKER = ".customer-health-serving"
RELEASE_OWNER_MARKER = ".customer-health-release"
RELEASE_RECORD = "_release.json"
PENDING_SWITCH = ".publish-pending.json"
RELEASE_ID = re.compile(r"\d{8}T\d{12}Z(?:-[0-9A-Za-z]{1,8})?")


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

    @property
    def marker(self) -> Path:
        return self.root / SERVING_MARKER

    @property
    def pending(self) -> Path:
        return self.root / PENDING_SWITCH

    def release_dir(self, release_id: str) -> Path:
        return self.releases / release_id

    def temporary_database(self, release_id: str) -> Path:
        """Where a release's database is written before it is renamed into place."""
        return self.root / f".{DATABASE_NAME}.{release_id}.tmp"

    def parquet_target(self, release_id: str) -> str:
        """The Parquet link's target for a release, relative to the serving directory."""
        return f"{self.releases.name}/{release_id}/parquet"


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

    @classmethod
    def from_json(cls, text: str) -> Release:
        """The release a record written by `to_json` describes; ValueError when it is not
        one (or its id is not a release id)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a release record is a JSON object")
        release_id = data.get("release_id")
        if not isinstance(release_id, str) or not RELEASE_ID.fullmatch(release_id):
            raise ValueError(f"{release_id!r} is not a release id")
        tables = data.get("tables") or {}
        if not isinstance(tables, dict):
            raise ValueError("the tables of a release record are an object")
        git = data.get("git_commit")
        as_of = data.get("as_of_date")
        return cls(
            release_id=release_id,
            published_at=str(data.get("published_at", "")),
            dbt_invocation_id=str(data.get("dbt_invocation_id", "")),
            git_commit=str(git) if git is not None else None,
            as_of_date=str(as_of) if as_of is not None else None,
            tables={str(name): int(rows) for name, rows in tables.items()},
        )


@dataclass(frozen=True)
class ReleaseGates:
    """How a new release must compare with the one served before it may replace it."""

    max_shrink: float = DEFAULT_MAX_SHRINK
    allow_shrink: bool = False
    allow_earlier_as_of: bool = False


# The scheduled run's selector (selectors.yml), and the dbt options that select nodes.
DAILY_SELECTOR = "daily"
SELECTION_OPTIONS = ("--selector", "--select", "-s", "--models", "-m", "--exclude")


def build_selection(dbt_args: Sequence[str]) -> list[str]:
    """The daily selector, unless the given dbt arguments select nodes themselves."""
    chosen = any(
        arg in SELECTION_OPTIONS or arg.split("=", 1)[0] in SELECTION_OPTIONS for arg in dbt_args
    )
    return [] if chosen else ["--selector", DAILY_SELECTOR]


def run_dbt_build(
    dbt: Path,
    project_dir: Path,
    target_path: Path,
    env: Mapping[str, str],
    dbt_args: Sequence[str],
) -> int:
    """`dbt build` in its own process (``env`` names the build database), by default of the
    daily selector; its output goes to ours."""
    command = [
        str(dbt),
        "build",
        "--project-dir",
        str(project_dir),
        "--target-path",
        str(target_path),
        *build_selection(dbt_args),
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


def atomic_temporary(path: Path) -> Path:
    """Where `write_atomically` writes `path` before renaming it into place."""
    return path.with_name(f".{path.name.lstrip('.')}.{os.getpid()}.tmp")


def is_atomic_temporary(path: Path, target: Path) -> bool:
    """Whether `path` is a file `write_atomically(target, ...)` left before its rename."""
    pattern = rf"\.{re.escape(target.name.lstrip('.'))}\.\d+\.tmp"
    return (
        path.parent == target.parent
        and re.fullmatch(pattern, path.name) is not None
        and path.is_file()
        and not path.is_symlink()
    )


def write_atomically(path: Path, text: str) -> None:
    temporary = atomic_temporary(path)
    temporary.write_text(text, encoding="utf-8")
    fsync_path(temporary)
    os.replace(temporary, path)


def read_release(path: Path) -> Release | None:
    """The release record at `path`; None when there is none or it is not one."""
    try:
        return Release.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return None


# --- what is ours ---------------------------------------------------------------------------


def release_record(release_dir: Path) -> Path:
    """The record that marks a release folder as committed to be served."""
    return release_dir / "parquet" / RELEASE_RECORD


def is_release_dir(path: Path) -> bool:
    """A release folder this project made: named by a release id, a real directory, holding
    its owner marker or its release record (or nothing: created, then stopped)."""
    if not RELEASE_ID.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
        return False
    return (
        (path / RELEASE_OWNER_MARKER).is_file()
        or is_complete_release(path)
        or not any(path.iterdir())
    )


def is_complete_release(path: Path) -> bool:
    """A release folder committed to be served: its record names it."""
    if not RELEASE_ID.fullmatch(path.name) or path.is_symlink() or not path.is_dir():
        return False
    record = read_release(release_record(path))
    return record is not None and record.release_id == path.name


def is_leftover(paths: ServingPaths, path: Path) -> bool:
    """A temporary file of a publish that was stopped: the database being written (and its
    write-ahead log), a record or link not yet renamed into place."""
    database = rf"\.{re.escape(DATABASE_NAME)}\.(?P<release>[^/]+)\.tmp(?:\.wal)?"
    match = re.fullmatch(database, path.name)
    if match and RELEASE_ID.fullmatch(match["release"]):
        return path.parent == paths.root and path.is_file() and not path.is_symlink()
    return (
        is_atomic_temporary(path, paths.release_file)
        or is_atomic_temporary(path, paths.pending)
        or is_temporary_link(path, paths.parquet)
    )


def served_release_ids(paths: ServingPaths) -> set[str]:
    """The releases release.json and the Parquet link name."""
    names = set()
    record = read_release(paths.release_file)
    if record is not None:
        names.add(record.release_id)
    if paths.parquet.is_symlink():
        parts = Path(os.readlink(paths.parquet)).parts
        if len(parts) == 3 and parts[0] == paths.releases.name:
            names.add(parts[1])
    return names


def check_serving_dir(paths: ServingPaths) -> None:
    """Refuse a serving directory that holds files a publish did not write.

    Ours: missing, empty (but for the publish lock), or holding the serving marker or a
    release.json of a publish."""
    root = paths.root
    if not root.exists():
        if root.is_symlink():
            raise PublishRefusedError([f"{root} is a link to nothing: not a serving directory"])
        return
    if not root.is_dir():
        raise PublishRefusedError([f"{root} is not a directory"])
    if paths.marker.is_file() or read_release(paths.release_file) is not None:
        return
    foreign = sorted(path.name for path in root.iterdir() if path.name != paths.lock.name)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise PublishRefusedError(
            [
                f"{root} is not a serving directory of customer-health publish (it has no "
                f"{SERVING_MARKER} and no release.json of a release) and is not empty "
                f"({shown}): publish into an empty or new directory"
            ]
        )


def remove_release_dir(path: Path) -> None:
    """Delete a release folder of ours. Its record goes first (the release stops counting as
    served) and its owner marker last, so a removal stopped halfway leaves a folder the next
    publish still recognises as an unfinished release of its own."""
    owner = path / RELEASE_OWNER_MARKER
    if not owner.exists() and any(path.iterdir()):
        owner.write_text("A release folder of customer-health publish.\n", encoding="utf-8")
    release_record(path).unlink(missing_ok=True)
    for child in sorted(path.iterdir()):
        if child.name == RELEASE_OWNER_MARKER:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    owner.unlink(missing_ok=True)
    path.rmdir()


def prune_releases(paths: ServingPaths, keep: int, current: str) -> list[str]:
    """Delete all but the newest `keep` releases (never the current one). Only folders of
    ours count: named by a release id and holding their release record."""
    if not paths.releases.is_dir():
        return []
    releases = sorted(p.name for p in paths.releases.iterdir() if is_complete_release(p))
    removed = []
    for name in releases[: max(len(releases) - keep, 0)]:
        if name != current:
            remove_release_dir(paths.releases / name)
            removed.append(name)
    return removed


# --- the switch and its repair ------------------------------------------------------------


def switch_release(paths: ServingPaths, release: Release) -> None:
    """Serve a committed release (recorded in the pending switch): its record, the database,
    the Parquet link, release.json, then the pending record is removed. Each step is skipped
    when already done, so a switch stopped anywhere is finished by running it again."""
    text = release.to_json()
    record = release_record(paths.release_dir(release.release_id))
    if read_text(record) != text:
        write_atomically(record, text)
    new_db = paths.temporary_database(release.release_id)
    if new_db.exists():
        os.replace(new_db, paths.database)
    target = paths.parquet_target(release.release_id)
    if not (paths.parquet.is_symlink() and os.readlink(paths.parquet) == target):
        swap_symlink(paths.parquet, target)
    if read_text(paths.release_file) != text:
        write_atomically(paths.release_file, text)
    fsync_path(paths.root)
    paths.pending.unlink()
    fsync_path(paths.root)


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def finish_pending_switch(paths: ServingPaths) -> str | None:
    """Finish the switch a stopped publish had committed to; returns its release id (None
    when no switch was pending)."""
    if not paths.pending.exists():
        return None
    release = read_release(paths.pending)
    if release is None:
        # Not a record of ours: the switch cannot have started.
        paths.pending.unlink()
        return None
    release_dir = paths.release_dir(release.release_id)
    if not (is_release_dir(release_dir) and (release_dir / "parquet").is_dir()):
        if paths.temporary_database(release.release_id).exists():
            # The database was not switched yet: drop the switch, the rest is a leftover.
            paths.pending.unlink()
            return None
        raise PublishRefusedError(
            [
                f"the switch to release {release.release_id} was stopped after its database was "
                f"served, and its folder {release_dir} is gone: restore it or publish into a "
                "new serving directory"
            ]
        )
    switch_release(paths, release)
    return release.release_id


def remove_leftovers(paths: ServingPaths) -> list[str]:
    """Delete what stopped publishes left: temporary files of a publish's own naming and
    release folders of ours that were never committed. Returns what was removed, relative
    to the serving directory."""
    removed = []
    for path in sorted(paths.root.iterdir()):
        if is_leftover(paths, path):
            path.unlink()
            removed.append(path.name)
    if paths.releases.is_dir():
        served = served_release_ids(paths)
        for path in sorted(paths.releases.iterdir()):
            if path.name in served or not is_release_dir(path) or is_complete_release(path):
                continue
            remove_release_dir(path)
            removed.append(f"{paths.releases.name}/{path.name}")
    return removed


def prepare(paths: ServingPaths) -> list[str]:
    """Make the serving directory ready for a publish: refuse one that is not ours, finish a
    stopped switch and remove what stopped publishes left. Returns what was done."""
    check_serving_dir(paths)
    try:
        check_link(paths.parquet)
    except FileExistsError as exists:
        raise PublishRefusedError([str(exists)]) from exists
    if not paths.root.is_dir():
        return []
    done = []
    finished = finish_pending_switch(paths)
    if finished is not None:
        done.append(f"finished the stopped switch to release {finished}")
    removed = remove_leftovers(paths)
    if removed:
        done.append(f"removed what stopped publishes left: {', '.join(removed)}")
    return done


# --- the release gates --------------------------------------------------------------------


def served_release(paths: ServingPaths) -> Release | None:
    """The release served now (None when nothing is)."""
    if not paths.release_file.exists():
        return None
    release = read_release(paths.release_file)
    if release is None:
        raise PublishRefusedError(
            [
                f"{paths.release_file} is not a release record: the new release cannot be "
                "compared with the served one"
            ]
        )
    return release


def inspect_build(
    build_db: Path, schemas: Sequence[str], tables: Sequence[str]
) -> tuple[dict[str, int], str | None]:
    """Rows per table ("schema.table") the release would serve, and the scores' as-of date
    (null before the marts exist), read from the build database."""
    with duckdb.connect(str(build_db), read_only=True) as con:
        row = con.execute("select current_database()").fetchone()
        catalog = str(row[0]) if row else ""
        served = served_tables(con, catalog, schemas, tables)
        if not served:
            raise PublishRefusedError([f"the build database has no table in {', '.join(schemas)}"])
        counts = {}
        for schema, table in served:
            rows = con.execute(
                f"select count(*) from {identifier(schema)}.{identifier(table)}"
            ).fetchone()
            counts[f"{schema}.{table}"] = int(rows[0]) if rows else 0
        try:
            as_of = con.execute(f"select max(score_date) from {AS_OF_TABLE}").fetchone()
        except duckdb.CatalogException:
            as_of = None
    return counts, str(as_of[0]) if as_of and as_of[0] is not None else None


def as_date(text: str) -> date:
    return datetime.fromisoformat(text).date()


def gate_problems(
    counts: Mapping[str, int],
    as_of_date: str | None,
    served: Release | None,
    schemas: Sequence[str],
    gates: ReleaseGates,
) -> list[str]:
    """Why a build may not replace the served release (empty: it may).

    A served mart of NEVER_EMPTY_MARTS must have rows. Against the served release (none on
    the first publish): none of them may lose more than `max_shrink` of its rows, and no
    served table may disappear (unless
    `allow_shrink`), and the as-of date may not move backwards (unless
    `allow_earlier_as_of`)."""
    problems = []
    for name in NEVER_EMPTY_MARTS:
        if name.split(".", 1)[0] not in schemas:
            continue
        if name not in counts:
            problems.append(f"{name} is missing from the build database")
        elif counts[name] == 0:
            problems.append(f"{name} is empty: it must never be served empty")
    if served is None:
        return problems
    if not gates.allow_shrink:
        for name, before in sorted(served.tables.items()):
            # A served table the build no longer has counts as shrunk to nothing, whichever
            # it is (a BI tool reading it would break).
            if name not in NEVER_EMPTY_MARTS and name in counts:
                continue
            after = counts.get(name, 0)
            if before <= 0 or (before - after) / before <= gates.max_shrink:
                continue
            now = f"{after:,} rows" if name in counts else "no table"
            problems.append(
                f"{name} shrinks from {before:,} rows to {now} "
                f"({(before - after) / before:.0%} fewer, more than the "
                f"{gates.max_shrink:.0%} allowed)"
            )
    if not gates.allow_earlier_as_of and served.as_of_date is not None:
        if as_of_date is None:
            problems.append(
                f"the build has no as-of date; the served release is as of {served.as_of_date}"
            )
        elif as_date(as_of_date) < as_date(served.as_of_date):
            problems.append(
                f"the as-of date moves backwards: {as_of_date}, "
                f"the served release is as of {served.as_of_date}"
            )
    return problems


# --- publish ------------------------------------------------------------------------------


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


def remove_unfinished(paths: ServingPaths, release_id: str) -> None:
    """Delete a release that was not committed: its database file and its folder."""
    new_db = paths.temporary_database(release_id)
    new_db.unlink(missing_ok=True)
    new_db.with_name(new_db.name + ".wal").unlink(missing_ok=True)
    release_dir = paths.release_dir(release_id)
    if release_dir.is_dir():
        remove_release_dir(release_dir)


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
    gates: ReleaseGates = ReleaseGates(),
    now: datetime | None = None,
) -> Release:
    """Publish the build database as a new release (run results already checked; the
    caller holds the publish lock). PublishRefusedError, with every reason, leaves the
    served files as they were."""
    prepare(paths)
    counts, as_of_date = inspect_build(build_db, schemas, tables)
    problems = gate_problems(counts, as_of_date, served_release(paths), schemas, gates)
    if problems:
        raise PublishRefusedError(problems)
    published = now or datetime.now(UTC)
    invocation = str(run_results.get("metadata", {}).get("invocation_id", ""))
    suffix = re.sub(r"[^0-9A-Za-z]", "", invocation)[:8]
    release_id = published.strftime("%Y%m%dT%H%M%S%fZ") + (f"-{suffix}" if suffix else "")
    release_dir = paths.release_dir(release_id)
    if release_dir.exists() or release_dir.is_symlink():
        raise PublishRefusedError([f"release {release_id} exists already"])
    fields: dict[str, object] = {
        "release_id": release_id,
        "published_at": published.replace(tzinfo=None).isoformat(),
        "dbt_invocation_id": invocation,
        "git_commit": git_commit(project_dir),
        "as_of_date": as_of_date,
    }
    paths.root.mkdir(parents=True, exist_ok=True)
    if not paths.marker.exists():
        paths.marker.write_text(
            "customer-health publish serves its releases from this directory.\n",
            encoding="utf-8",
        )
    paths.releases.mkdir(exist_ok=True)
    release_dir.mkdir()
    new_db = paths.temporary_database(release_id)
    try:
        (release_dir / RELEASE_OWNER_MARKER).write_text(
            "A release folder of customer-health publish.\n", encoding="utf-8"
        )
        counts = write_database(build_db, new_db, schemas, tables, manifest, fields)
        export_parquet(new_db, counts, release_dir / "parquet")
        fsync_path(new_db)
    except BaseException:
        remove_unfinished(paths, release_id)
        raise
    release = Release(
        release_id=release_id,
        published_at=str(fields["published_at"]),
        dbt_invocation_id=invocation,
        git_commit=fields["git_commit"] if isinstance(fields["git_commit"], str) else None,
        as_of_date=as_of_date,
        tables=counts,
    )
    # The commit point: from here on the release is served, by this publish or the next.
    write_atomically(paths.pending, release.to_json())
    switch_release(paths, release)
    prune_releases(paths, keep, release_id)
    return release
