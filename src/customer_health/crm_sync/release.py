"""Where the payload is read from: the published release, the database BI tools read.

`customer-health publish` copies a build into the serving directory only when its tests
passed, and records it in `release.json` (`release_id`, `dbt_invocation_id`, `as_of_date`,
`tables`). The sync sends that release, and refuses when the latest dbt build in the target
directory is not the published one (its publish was refused, or it was never published):
the manifest and run results it checks would then describe another build than the scores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer_health.dbt_artifacts import read_run_results
from customer_health.serving.publish import ServingPaths

PUBLISH_HINT = "run `customer-health publish`"


class ReleaseError(Exception):
    """No published release vouches for the scores the sync would send."""


@dataclass(frozen=True)
class ServedRelease:
    """The release recorded in a serving directory's release.json."""

    release_id: str
    dbt_invocation_id: str
    as_of_date: str | None
    database: Path
    tables: dict[str, int] = field(default_factory=dict)


def read_release(serving_dir: Path) -> ServedRelease:
    """The release served from `serving_dir`; ReleaseError when there is none or its
    record cannot be read."""
    paths = ServingPaths(serving_dir)
    path = paths.release_file
    if not path.is_file():
        raise ReleaseError(
            f"no published release in {serving_dir} (no {path.name}): {PUBLISH_HINT}"
        )
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReleaseError(f"cannot read the release record {path}: {reason}") from None
    if not isinstance(data, dict):
        raise ReleaseError(f"the release record {path} is not a JSON object")
    release_id = data.get("release_id")
    invocation = data.get("dbt_invocation_id")
    if not isinstance(release_id, str) or not release_id:
        raise ReleaseError(f"the release record {path} has no release_id")
    if not isinstance(invocation, str) or not invocation:
        raise ReleaseError(f"the release record {path} has no dbt_invocation_id")
    as_of = data.get("as_of_date")
    tables = data.get("tables")
    return ServedRelease(
        release_id=release_id,
        dbt_invocation_id=invocation,
        as_of_date=as_of if isinstance(as_of, str) else None,
        database=paths.database,
        tables=(
            {str(name): int(rows) for name, rows in tables.items() if isinstance(rows, int)}
            if isinstance(tables, dict)
            else {}
        ),
    )


def invocation_id(run_results: Mapping[str, Any]) -> str | None:
    """The dbt invocation that wrote these run results."""
    metadata = run_results.get("metadata")
    value = metadata.get("invocation_id") if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) and value else None


def check_published(release: ServedRelease, run_results: Mapping[str, Any]) -> None:
    """ReleaseError unless the run results are those of the build the release published."""
    latest = invocation_id(run_results)
    if latest != release.dbt_invocation_id:
        raise ReleaseError(
            f"the latest dbt build (invocation {latest or 'unknown'}) was not published: the "
            f"served release {release.release_id} comes from invocation "
            f"{release.dbt_invocation_id}; {PUBLISH_HINT} and sync once it has published"
        )


def payload_source(
    target_dir: Path,
    serving_dir: Path,
    database: Path | None = None,
    build_db: Path | None = None,
) -> tuple[ServedRelease, Path]:
    """The published release and the database to read the payload from: the served one, or
    `database` when given. Either way the latest build must be the published one.

    An explicit `database` must exist (it is only ever opened read-only, never created) and
    must not be the build database, whose scores no publish has vouched for."""
    release = read_release(serving_dir)
    check_published(release, read_run_results(target_dir))
    if database is None:
        if not release.database.is_file():
            raise ReleaseError(
                f"the release {release.release_id} has no database at {release.database}: "
                f"{PUBLISH_HINT}"
            )
        return release, release.database
    if not database.is_file():
        raise ReleaseError(f"--db {database} does not exist; the sync only reads a database")
    if build_db is not None and build_db.is_file() and os.path.samefile(database, build_db):
        raise ReleaseError(
            f"--db {database} is the build database, which BI tools do not read; leave out "
            "--db to send the published release"
        )
    return release, database
