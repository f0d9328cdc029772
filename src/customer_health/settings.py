"""Every environment variable the project reads, with its default, in one place.

The Python package reads the environment only here (``Settings.from_env``). The dbt side
(profiles.yml, dbt_project.yml and two macros) and the Makefile keep their own copies of the
defaults, because dbt and make cannot import Python; a test holds them equal to ``ENV_VARS``.

Relative paths are relative to the directory the command runs in (the dbt project, when run
through ``make``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATABASE_NAME = "customer_health.duckdb"
PROJECT_NAME = "customer_health"
DEFAULT_HUBSPOT_API_BASE = "https://api.hubapi.com"


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its default and who reads it."""

    name: str
    default: str | None
    description: str
    # Where else the default is written down (kept equal by a test): "profiles.yml",
    # "dbt_project.yml", "macros", "Makefile".
    also_in: tuple[str, ...] = ()


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar(
        "HEALTH_PROJECT_DIR",
        None,
        "the dbt project directory (default: the nearest folder upwards from the current "
        "directory holding dbt_project.yml, else the source checkout of this package)",
    ),
    EnvVar(
        "HEALTH_RAW_DIR",
        "data/raw",
        "the raw extract: one folder of Parquet or CSV files per table",
        ("macros", "Makefile"),
    ),
    EnvVar(
        "HEALTH_DB_PATH",
        f"data/build/{DATABASE_NAME}",
        "the build database that only dbt writes",
        ("profiles.yml", "Makefile"),
    ),
    EnvVar(
        "HEALTH_SERVING_DIR",
        "data/serving",
        "the served release: database, Parquet files, release.json and the report",
        ("Makefile",),
    ),
    EnvVar(
        "HEALTH_SYNC_STATE_PATH",
        "data/crm_sync_state.duckdb",
        "the CRM sync's state and audit tables",
    ),
    EnvVar(
        "HEALTH_SPARK_DIR",
        "data/spark",
        "the local Spark target's tables and metastore",
        ("profiles.yml", "Makefile"),
    ),
    EnvVar(
        "HEALTH_TARGET",
        "duckdb",
        "the dbt target: duckdb (embedded, default) or spark",
        ("profiles.yml",),
    ),
    EnvVar(
        "HEALTH_THREADS",
        "2",
        "dbt threads (and Spark's local cores)",
        ("profiles.yml",),
    ),
    EnvVar(
        "HEALTH_DUCKDB_MEMORY_LIMIT",
        "8GB",
        "DuckDB's memory_limit for the build",
        ("profiles.yml",),
    ),
    EnvVar(
        "HEALTH_SPARK_DRIVER_MEMORY",
        "4g",
        "spark.driver.memory of the local Spark target (read by profiles.yml only)",
        ("profiles.yml",),
    ),
    EnvVar(
        "HEALTH_SPARK_SHUFFLE_PARTITIONS",
        "4",
        "spark.sql.shuffle.partitions of the local Spark target (read by profiles.yml only)",
        ("profiles.yml",),
    ),
    EnvVar(
        "HEALTH_DECISION_TREE_VARIANT",
        "python",
        "on DuckDB, which decision-tree model runs: python (the Python model) or sql "
        "(its compiled-SQL twin); read by dbt only",
        ("dbt_project.yml",),
    ),
    EnvVar(
        "HEALTH_REGISTER_RAW_TABLES",
        "true",
        "on Spark, whether dbt registers the raw Parquet folders as tables before each run "
        "(false when the warehouse already has them); read by dbt only",
        ("macros",),
    ),
    EnvVar(
        "DBT_TARGET_PATH",
        "target",
        "dbt's target directory: the manifest and run results every gate reads",
    ),
    EnvVar(
        "DBT_PROFILES_DIR",
        ".",
        "where dbt finds profiles.yml; the commands and the Makefile set it to the project "
        "directory (profiles.yml falls back to . for the Spark log configuration)",
        ("profiles.yml",),
    ),
    EnvVar(
        "HUBSPOT_ACCESS_TOKEN",
        None,
        "the HubSpot private-app token of the CRM sync (sent as a Bearer header, never printed)",
    ),
    EnvVar(
        "HUBSPOT_API_BASE",
        DEFAULT_HUBSPOT_API_BASE,
        "the HubSpot API base URL",
    ),
)
DEFAULTS: dict[str, str | None] = {var.name: var.default for var in ENV_VARS}


def _default(name: str) -> str:
    value = DEFAULTS[name]
    if value is None:
        raise KeyError(f"{name} has no default")
    return value


def project_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$HEALTH_PROJECT_DIR, else the project found from the current directory."""
    env = os.environ if environ is None else environ
    given = env.get("HEALTH_PROJECT_DIR")
    return Path(given) if given else find_project_dir(Path.cwd())


def find_project_dir(start: Path, package_file: Path = Path(__file__)) -> Path:
    """The dbt project: the nearest folder from ``start`` upwards with this project's
    dbt_project.yml, else the source checkout this package was installed from."""
    for folder in (start, *start.parents):
        if _is_project(folder):
            return folder
    checkout = package_file.resolve().parents[2]
    if _is_project(checkout):
        return checkout
    return start


def _is_project(folder: Path) -> bool:
    path = folder / "dbt_project.yml"
    if not path.is_file():
        return False
    return any(
        line.strip() in (f"name: {PROJECT_NAME}", f"name: '{PROJECT_NAME}'")
        for line in path.read_text(encoding="utf-8").splitlines()
    )


@dataclass(frozen=True)
class Settings:
    """The environment, read once: paths, engine and credentials."""

    project_dir: Path
    raw_dir: Path
    build_db: Path
    serving_dir: Path
    sync_state_db: Path
    spark_dir: Path
    target: str
    threads: int
    duckdb_memory_limit: str
    target_path: Path
    hubspot_token: str | None
    hubspot_api_base: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name) or _default(name)

        threads = get("HEALTH_THREADS")
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"HEALTH_THREADS must be a whole number >= 1, not {threads!r}")
        return cls(
            project_dir=project_dir(env),
            raw_dir=Path(get("HEALTH_RAW_DIR")),
            build_db=Path(get("HEALTH_DB_PATH")),
            serving_dir=Path(get("HEALTH_SERVING_DIR")),
            sync_state_db=Path(get("HEALTH_SYNC_STATE_PATH")),
            spark_dir=Path(get("HEALTH_SPARK_DIR")),
            target=get("HEALTH_TARGET"),
            threads=int(threads),
            duckdb_memory_limit=get("HEALTH_DUCKDB_MEMORY_LIMIT"),
            target_path=Path(get("DBT_TARGET_PATH")),
            hubspot_token=env.get("HUBSPOT_ACCESS_TOKEN") or None,
            hubspot_api_base=get("HUBSPOT_API_BASE"),
        )

    @property
    def serving_db(self) -> Path:
        """The served database BI tools open read-only."""
        return self.serving_dir / DATABASE_NAME

    @property
    def report_dir(self) -> Path:
        """Where the static HTML report is written."""
        return self.serving_dir / "report"

    def resolve(self, path: Path) -> Path:
        """``path`` as seen from the project directory (absolute paths unchanged)."""
        return path if path.is_absolute() else self.project_dir / path

    def dbt_env(self, **overrides: str) -> dict[str, str]:
        """The environment of a dbt subprocess: this one, with the project's profile."""
        env = dict(os.environ)
        env.setdefault("DBT_PROFILES_DIR", str(self.project_dir))
        env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        env.update(overrides)
        return env


def load() -> Settings:
    """The settings of the current environment."""
    return Settings.from_env()


def spark_local_ip_default() -> None:
    """A local Spark binds to loopback unless SPARK_LOCAL_IP says otherwise."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
