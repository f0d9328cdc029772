"""Command line of the churn model: `train` a scorecard file, `propose-weights` from a build.

`train` fits the scorecard outside dbt exactly as the DuckDB build's Python model
rpt_churn_model_scorecard does (customer_health.churn_model.dbt_model, same settings from
the same vars), and writes it as Parquet for engines without Python models: set var
churn_model_scorecard_file to the file and models/marts/churn_model/from_file/ applies it.
It reads the observation mart (marts.fct_churn_model_observations) and the score dates
(intermediate.int_score_dates, whose month-ends are the version dates) from a DuckDB build,
read-only, or from a Spark build through its metastore, as compare-engines reads the marts.
int_score_dates is a table on every engine, so the versions are the ones the build would
train. The settings are the project's vars (dbt_project.yml), overridden by --vars as dbt's
--vars override them.

`propose-weights` turns the latest `churn_model` version of a DuckDB build into category
weights for the health score, in the format of seeds/health_score_weights.csv: one `all,all`
set of the categories, multiples of 0.05 summing to 1. A category's importance is the sum,
over its signals (seeds/health_scoring_rules.csv), of the spread of the signal's points: the
standard deviation of the points across its bins, weighted by the bins' training shares.
Features that are no category's signal (the rules score, key events, ARR, ...) count for
none. The proposal is for review: it goes to a new file, never into seeds/.

Exit codes: 0 done (also when too few churns are known for a version: the file then holds
no version, which the marts report as no model); 2 refused (bad arguments or vars, a missing
build table, an output file this command did not write, no trained version).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeGuard

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from customer_health import settings
from customer_health.compare_engines import Mart, spark_tables

OBSERVATIONS = Mart(name="fct_churn_model_observations", schema="marts", key=[])
SCORE_DATES = Mart(name="int_score_dates", schema="intermediate", key=[])
SCORECARD = Mart(name="rpt_churn_model_scorecard", schema="marts", key=[])
# Key-value metadata of every scorecard file `train` writes: the only files it replaces.
FILE_MARKER = {b"customer_health": b"churn_model_scorecard"}
# The proposed weights: multiples of this step, as one set for every segment and stage.
WEIGHT_STEP = Decimal("0.05")
DEFAULT_SET = ("all", "all")
WEIGHTS_SEED = Path("seeds") / "health_score_weights.csv"
RULES_SEED = Path("seeds") / "health_scoring_rules.csv"


class RefusedError(Exception):
    """A user error: the message is printed as one line and the command exits 2."""


# --- vars and settings -------------------------------------------------------------------


def project_vars(project_dir: Path, overrides: str | None = None) -> dict[str, Any]:
    """The vars of dbt_project.yml (project-scoped ones over global ones), then --vars."""
    path = project_dir / "dbt_project.yml"
    if not path.is_file():
        raise RefusedError(f"no dbt_project.yml in {project_dir} (give --project-dir)")
    project = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    declared = (project.get("vars") or {}) if isinstance(project, dict) else None
    if not isinstance(declared, dict):
        raise RefusedError(f"{path}: `vars` is not a mapping")
    values = dict(declared)
    scoped = declared.get(project.get("name"))
    if isinstance(scoped, dict):
        values.update(scoped)
    if overrides:
        try:
            given = yaml.safe_load(overrides)
        except yaml.YAMLError as exc:
            raise RefusedError(f"--vars is not valid JSON or YAML: {exc}".splitlines()[0]) from exc
        if not isinstance(given, dict):
            raise RefusedError(
                f"--vars must be a mapping of var names to values, got {overrides!r}"
            )
        values.update(given)
    return values


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite int or float (YAML's booleans, .nan and .inf are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(values: Mapping[str, Any], name: str, least: int) -> int:
    value = values.get(name)
    if not _is_number(value) or value != int(value) or value < least:
        raise RefusedError(
            f"var {name!r} must be a whole number of at least {least}, got {value!r}"
        )
    return int(value)


def training_settings(values: Mapping[str, Any]) -> tuple[list[str], str]:
    """The features and the settings JSON the dbt model's config holds, from the vars."""
    features = values.get("churn_model_features")
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(name, str) and name for name in features)
        or len(set(features)) != len(features)
    ):
        raise RefusedError(
            f"var 'churn_model_features' must be a list of distinct column names, got {features!r}"
        )
    penalties = values.get("churn_model_penalties")
    if (
        not isinstance(penalties, list)
        or not penalties
        or not all(_is_number(value) and value > 0 for value in penalties)
    ):
        raise RefusedError(
            f"var 'churn_model_penalties' must be a list of positive numbers, got {penalties!r}"
        )
    share = values.get("churn_model_validation_share")
    if not _is_number(share) or not 0 < share < 1:
        raise RefusedError(f"var 'churn_model_validation_share' must be in (0, 1), got {share!r}")
    config = {
        "horizon_days": _whole(values, "backtest_horizon_days", 1),
        "min_churned": _whole(values, "churn_model_min_churned", 1),
        "max_bins": _whole(values, "churn_model_max_bins", 2),
        "penalties": penalties,
        "validation_share": share,
    }
    return list(features), json.dumps(config)


# --- reading a build -----------------------------------------------------------------------


def duckdb_tables(path: Path, relations: Iterable[Mart]) -> dict[str, pa.Table]:
    """Relations of a DuckDB build, read-only, as Arrow tables."""
    if not path.exists():
        raise RefusedError(f"{path} does not exist")
    if not path.is_file():
        raise RefusedError(f"{path} is not a DuckDB file")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise RefusedError(f"cannot open {path} read-only: {exc}".splitlines()[0]) from exc
    tables = {}
    with con:
        for relation in relations:
            found = con.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = ? and table_name = ?",
                [relation.schema, relation.name],
            ).fetchone()
            if not found or not found[0]:
                raise RefusedError(
                    f"{path} has no {relation.schema}.{relation.name}: build the project first"
                )
            tables[relation.name] = con.table(f"{relation.schema}.{relation.name}").to_arrow_table()
    return tables


def spark_build_tables(spark_dir: Path, relations: list[Mart]) -> dict[str, pa.Table]:
    """Relations of a Spark build, read through its metastore, as Arrow tables."""
    if not (spark_dir / "metastore_db").is_dir():
        raise RefusedError(
            f"{spark_dir} holds no Spark metastore (metastore_db): build on Spark first"
        )
    try:
        from pyspark.errors import AnalysisException
    except ImportError as exc:
        raise RefusedError(
            "reading a Spark build needs pyspark: pip install 'customer-health[spark]'"
        ) from exc
    try:
        return spark_tables(spark_dir, relations)
    except AnalysisException as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RefusedError(f"cannot read the Spark build in {spark_dir}: {first_line}") from exc


def month_ends(score_dates: pa.Table) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """The score dates that end a month: the dates a version is trained on."""
    days = score_dates.column("score_date").cast(pa.date32()).to_numpy().astype("datetime64[D]")
    last_days = (days.astype("datetime64[M]") + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.unique(days[days == last_days])


def churned_known(observations: pa.Table, score_dates: pa.Table, horizon_days: int) -> int:
    """Churned observations whose horizon had ended by the latest month-end scored."""
    ends = month_ends(score_dates)
    if not ends.size:
        return 0
    as_of = observations.column("as_of_date").cast(pa.date32()).to_numpy()
    known = as_of.astype("datetime64[D]") + np.timedelta64(horizon_days, "D") <= ends.max()
    churned = np.asarray(
        observations.column("is_churned").to_numpy(zero_copy_only=False), dtype=bool
    )
    return int(churned[known].sum())


def train_scorecard(
    observations: pa.Table, score_dates: pa.Table, features: Sequence[str], settings_json: str
) -> pa.Table:
    """The scorecard the dbt model trains from these tables (SCORECARD_SCHEMA)."""
    from customer_health.churn_model.dbt_model import scorecard_relation
    from customer_health.churn_model.scorecard import SCORECARD_SCHEMA

    with duckdb.connect() as con:
        relation = scorecard_relation(
            con,
            con.from_arrow(observations),
            con.from_arrow(score_dates),
            ",".join(features),
            settings_json,
        )
        table: pa.Table = relation.to_arrow_table()
    return table.cast(SCORECARD_SCHEMA)


# --- the scorecard file --------------------------------------------------------------------


def is_scorecard_file(path: Path) -> bool:
    """Whether `path` is a scorecard file this command wrote (schema and marker)."""
    from customer_health.churn_model.scorecard import SCORECARD_SCHEMA

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return False
    metadata = schema.metadata or {}
    marked = all(metadata.get(key) == value for key, value in FILE_MARKER.items())
    return marked and schema.remove_metadata().equals(SCORECARD_SCHEMA)


def check_replaceable(out: Path) -> None:
    """Refuse unless `out` is new or a scorecard file written by this command."""
    if out.suffix.lower() != ".parquet":
        raise RefusedError(f"{out}: the scorecard file's name must end in .parquet")
    if out.is_symlink():
        raise RefusedError(f"refusing to replace {out}: it is a symbolic link")
    if not out.exists():
        return
    if not out.is_file() or not is_scorecard_file(out):
        raise RefusedError(
            f"refusing to overwrite {out}: not a scorecard file written by churn-model train"
        )


def write_scorecard(table: pa.Table, out: Path) -> None:
    """Write the scorecard with its marker, atomically (a temporary file, then a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table.replace_schema_metadata(FILE_MARKER), temporary)
        check_replaceable(out)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


# --- propose-weights -----------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryProposal:
    """One category: its importance, strongest signal, current and proposed weights."""

    category_id: str
    importance: float
    strongest_signal: str | None
    current_weight: Decimal | None
    proposed_weight: Decimal


def latest_version(scorecard: pa.Table) -> tuple[Any, list[dict[str, Any]]]:
    """The latest churn_model version of a scorecard and its rows (no version: refused)."""
    from customer_health.churn_model.scorecard import FULL_MODEL

    rows = [row for row in scorecard.to_pylist() if row["model_name"] == FULL_MODEL]
    if not rows:
        raise RefusedError(
            f"the scorecard holds no {FULL_MODEL} version (too few churns known yet, or no "
            "model trained): nothing to propose"
        )
    version = max(row["model_version"] for row in rows)
    return version, [row for row in rows if row["model_version"] == version]


def feature_spreads(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Per feature, the training-share weighted standard deviation of its bins' points."""
    from customer_health.churn_model.scorecard import INTERCEPT

    bins: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row["feature_name"] == INTERCEPT:
            continue
        share = float(row["training_share"] or 0.0)
        bins.setdefault(row["feature_name"], []).append((share, float(row["points"] or 0.0)))
    spreads = {}
    for name, items in bins.items():
        shares = np.asarray([share for share, _ in items])
        points = np.asarray([value for _, value in items])
        total = shares.sum()
        if total <= 0:
            spreads[name] = 0.0
            continue
        mean = float(np.dot(shares, points) / total)
        spreads[name] = math.sqrt(float(np.dot(shares, (points - mean) ** 2) / total))
    return spreads


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise RefusedError(f"{path} does not exist (give --project-dir)")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def rounded_weights(
    importance: Mapping[str, float], step: Decimal = WEIGHT_STEP
) -> dict[str, Decimal]:
    """Importance shares as multiples of `step` summing to exactly 1 (largest remainders)."""
    units = int(1 / step)
    total = sum(importance.values())
    if not total > 0:
        raise RefusedError(
            "no category signal has points in the latest version: nothing to propose"
        )
    exact = {name: value / total * units for name, value in importance.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    order = list(importance)
    by_remainder = sorted(
        order,
        key=lambda name: (-(exact[name] - counts[name]), -importance[name], order.index(name)),
    )
    for name in by_remainder[: units - sum(counts.values())]:
        counts[name] += 1
    return {name: step * counts[name] for name in order}


def propose_weights(
    version_rows: Sequence[Mapping[str, Any]],
    rules: Sequence[Mapping[str, str]],
    current: Sequence[Mapping[str, str]],
) -> list[CategoryProposal]:
    """The proposed default weight set, a category per row (current weights' order first)."""
    current_weights = {
        row["category_id"]: Decimal(row["weight"])
        for row in current
        if (row["segment"], row["lifecycle_stage"]) == DEFAULT_SET
    }
    categories = list(current_weights)
    categories += [row["category_id"] for row in rules if row["category_id"] not in categories]
    categories = list(dict.fromkeys(categories))
    spreads = feature_spreads(version_rows)
    importance = dict.fromkeys(categories, 0.0)
    strongest: dict[str, tuple[float, str]] = {}
    for row in rules:
        category, signal = row["category_id"], row["signal_name"]
        spread = spreads.get(signal, 0.0)
        importance[category] += spread
        if spread > 0 and spread > strongest.get(category, (0.0, ""))[0]:
            strongest[category] = (spread, signal)
    proposed = rounded_weights(importance)
    return [
        CategoryProposal(
            category_id=category,
            importance=importance[category],
            strongest_signal=strongest[category][1] if category in strongest else None,
            current_weight=current_weights.get(category),
            proposed_weight=proposed[category],
        )
        for category in categories
    ]


def write_weights(proposals: Sequence[CategoryProposal], out: Path) -> None:
    """The proposal as a new CSV in the seed's format (an existing file is never replaced)."""
    try:
        handle = out.open("x", newline="", encoding="utf-8")
    except FileExistsError as exc:
        raise RefusedError(f"refusing to overwrite {out}: the proposal goes to a new file") from exc
    except OSError as exc:
        raise RefusedError(f"cannot create {out}: {exc.strerror}") from exc
    with handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["segment", "lifecycle_stage", "category_id", "weight"])
        for item in proposals:
            writer.writerow([*DEFAULT_SET, item.category_id, f"{item.proposed_weight:.2f}"])


def check_proposal_path(out: Path, project_dir: Path) -> None:
    if out.exists() or out.is_symlink():
        raise RefusedError(f"refusing to overwrite {out}: the proposal goes to a new file")
    seeds = (project_dir / "seeds").resolve()
    if out.resolve().is_relative_to(seeds):
        raise RefusedError(
            f"{out} is inside seeds/: the proposal is for review, write it elsewhere"
        )
    if not out.parent.is_dir():
        raise RefusedError(f"{out.parent} is not a directory")


# --- commands ------------------------------------------------------------------------------


def command_train(args: argparse.Namespace, out: Console) -> int:
    from customer_health.churn_model.scorecard import FULL_MODEL

    check_replaceable(args.out)
    values = project_vars(args.project_dir, args.vars)
    features, settings_json = training_settings(values)
    relations = [OBSERVATIONS, SCORE_DATES]
    if args.duckdb is not None:
        source = str(args.duckdb)
        tables = duckdb_tables(args.duckdb, relations)
    else:
        source = f"the Spark build in {args.spark_dir}"
        tables = spark_build_tables(args.spark_dir, relations)
    observations, score_dates = tables[OBSERVATIONS.name], tables[SCORE_DATES.name]
    try:
        scorecard = train_scorecard(observations, score_dates, features, settings_json)
    except ValueError as exc:
        raise RefusedError(str(exc)) from exc
    write_scorecard(scorecard, args.out)

    rows = scorecard.to_pylist()
    table = Table(title=f"Churn model scorecard trained on {source}")
    for heading in ("model", "versions", "first version", "latest version"):
        table.add_column(heading)
    for heading in ("training observations", "churned", "penalty C"):
        table.add_column(heading, justify="right")
    for name in dict.fromkeys(row["model_name"] for row in rows):
        versions = sorted({row["model_version"] for row in rows if row["model_name"] == name})
        latest = next(
            r for r in rows if r["model_name"] == name and r["model_version"] == versions[-1]
        )
        table.add_row(
            name,
            str(len(versions)),
            str(versions[0]),
            str(versions[-1]),
            f"{latest['training_observations']:,}",
            f"{latest['training_churned']:,}",
            f"{latest['penalty_c']:g}",
        )
    if rows:
        out.print(table)
    if not any(row["model_name"] == FULL_MODEL for row in rows):
        config = json.loads(settings_json)
        known = churned_known(observations, score_dates, config["horizon_days"])
        ends = month_ends(score_dates)
        by = f" by the latest month-end scored, {ends.max()}" if ends.size else ""
        out.print(
            Text(
                f"no version: {known:,} churned observations known{by}, "
                f"{config['min_churned']:,} needed",
                style="yellow",
            )
        )
    out.print(
        Text(
            f"wrote {args.out} ({scorecard.num_rows:,} rows); var churn_model_scorecard_file "
            "set to it makes every engine apply it"
        ),
        soft_wrap=True,
    )
    return 0


def command_propose_weights(args: argparse.Namespace, out: Console) -> int:
    check_proposal_path(args.out, args.project_dir)
    rules = read_csv(args.project_dir / RULES_SEED)
    current = read_csv(args.project_dir / WEIGHTS_SEED)
    scorecard = duckdb_tables(args.duckdb, [SCORECARD])[SCORECARD.name]
    version, version_rows = latest_version(scorecard)
    proposals = propose_weights(version_rows, rules, current)
    write_weights(proposals, args.out)

    first = version_rows[0]
    table = Table(
        title=f"Category weights proposed from churn_model version {version} "
        f"({first['training_observations']:,} observations, "
        f"{first['training_churned']:,} churned)"
    )
    table.add_column("category")
    table.add_column("importance", justify="right")
    table.add_column("strongest signal")
    table.add_column("current weight", justify="right")
    table.add_column("proposed weight", justify="right")
    for item in sorted(proposals, key=lambda item: -item.importance):
        table.add_row(
            item.category_id,
            f"{item.importance:.3f}",
            item.strongest_signal or "-",
            "-" if item.current_weight is None else f"{item.current_weight:.2f}",
            f"{item.proposed_weight:.2f}",
        )
    out.print(table)
    signals = {row["signal_name"] for row in rules}
    ignored = sorted(set(feature_spreads(version_rows)) - signals)
    if ignored:
        out.print(Text(f"not counted (no category's signal): {', '.join(ignored)}"), soft_wrap=True)
    out.print(
        Text(f"wrote {args.out}: review it, then copy the rows into {WEIGHTS_SEED} to use them"),
        soft_wrap=True,
    )
    return 0


def build_parser(prog: str) -> argparse.ArgumentParser:
    config = settings.load()
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train the scorecard from a build and write it as Parquet"
    )
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the scorecard file (.parquet); replaced only if this command wrote it",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--duckdb", type=Path, help="a DuckDB build, read-only")
    source.add_argument(
        "--spark-dir", type=Path, help="HEALTH_SPARK_DIR of a Spark build (read via its metastore)"
    )
    train.add_argument(
        "--project-dir",
        type=Path,
        default=config.project_dir,
        help="the dbt project whose vars give the settings (default: %(default)s)",
    )
    train.add_argument(
        "--vars",
        default=None,
        help="vars overriding dbt_project.yml's, as JSON or YAML (like dbt --vars)",
    )

    propose = commands.add_parser(
        "propose-weights",
        help="propose health-score category weights from the latest churn_model version",
    )
    propose.add_argument("--duckdb", type=Path, required=True, help="a DuckDB build, read-only")
    propose.add_argument(
        "--out", type=Path, required=True, help="the proposal, a CSV file that must not exist"
    )
    propose.add_argument(
        "--project-dir",
        type=Path,
        default=config.project_dir,
        help="the dbt project whose seeds give the signals and weights (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "customer-health churn-model") -> int:
    args = build_parser(prog).parse_args(argv)
    out = Console()
    if not out.is_terminal:
        # Piped or captured output: wide enough for the tables' dates and counts.
        out = Console(width=160)
    err = Console(stderr=True)
    command = command_train if args.command == "train" else command_propose_weights
    try:
        return command(args, out)
    except RefusedError as exc:
        err.print(Text(f"{prog} {args.command}: {exc}", style="red"), soft_wrap=True)
        return 2
