#!/usr/bin/env python3
"""Validate the score across the generator's worlds: `customer-health worlds`.

For each world (docs/generator-worlds.md) it generates an extract (cached under --cache),
builds the project into a new DuckDB file (``dbt build`` of the back-test and what it
reads, with their data tests) and reads the back-test: the health score's churn AUC, the
AUC of the raw baseline (the account's key events of the last 30 days), the lift of the
riskiest decile, churn per band, and the share of observations with product activity that
got no score. ``check`` says which of the project's claims a world breaks. With --docs the
table goes into docs/generator-worlds.md. Exit status 1 when a build fails or a world
breaks a claim.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
from rich.console import Console

from customer_health import settings
from customer_health.bench import rawdata, report, warehouse
from customer_health.bench.cli import dbt_env
from customer_health.bench.measure import run_measured
from customer_health.dbt_artifacts import RUN_RESULTS
from customer_health.generator.worlds import WORLDS

DOCS = Path("docs") / "generator-worlds.md"
DEFAULT_CACHE = Path("data") / "worlds"
SECTION = "## How the score does in each world"
# What the back-test build selects: the back-test marts, the availability report, the churn
# model's back-test and all they read (the decision tree too: the observations carry its
# outcome).
SELECT = (
    "+rpt_health_backtest_metrics",
    "+rpt_health_backtest_bands",
    "+rpt_signal_availability",
    "+rpt_churn_model_backtest",
    "+rpt_churn_model_versions",
)
BANDS = ("healthy", "needs_attention", "at_risk", "critical")
# The generator's latent health, under a world's extract (``--truth``).
TRUTH = Path("_truth") / "latent_health.parquet"

# The claims every world must meet (docs/generator-worlds.md).
MIN_AUC = 0.65
MAX_UNSCORED_ACTIVE_SHARE = 0.05
# Churn must rise from healthy to needs_attention to at_risk; a band needs this many
# observations for its churn rate to count.
MIN_BAND_OBSERVATIONS = 50
# The churn model, judged out of time on the month-ends a version was in force: its AUC at
# least MIN_MODEL_AUC and MODEL_MARGIN above the baseline's on the same observations, not
# below the rules score's; calibrated: the observation-weighted mean gap between predicted
# and observed churn over the deciles at most MAX_CALIBRATION_ERROR, no decile's gap above
# MAX_DECILE_GAP.
MIN_MODEL_AUC = 0.70
MODEL_MARGIN = 0.03
MAX_CALIBRATION_ERROR = 0.015
MAX_DECILE_GAP = 0.04

console = Console(stderr=True)


@dataclass
class ModelMetrics:
    """One model of the churn model's back-test, on the month-ends the churn model scored."""

    observations: int
    churned: int
    auc: float | None
    lift: float | None
    brier: float | None
    calibration_error: float | None
    max_decile_gap: float | None


@dataclass
class WorldResult:
    """One world's back-test, as the warehouse holds it."""

    world: str
    accounts: int
    days: int
    seed: int
    build_seconds: float
    observations: int
    churned: int
    score_auc: float | None
    baseline_auc: float | None
    score_lift: float | None
    baseline_lift: float | None
    unscored_active_share: float
    band_observations: dict[str, int] = field(default_factory=dict)
    band_churn_rates: dict[str, float | None] = field(default_factory=dict)
    categories_left_out: list[str] = field(default_factory=list)
    unavailable_signals: int = 0
    # The churn model's back-test (rpt_churn_model_backtest, segment all): per model
    # (churn_model, health_score, key_events_30d) observations, churned, AUC, lift, Brier,
    # calibration error and largest decile gap; and the versions trained.
    model_metrics: dict[str, ModelMetrics] = field(default_factory=dict)
    model_versions: int = 0


def read_result(
    db_path: Path, world: str, accounts: int, days: int, seed: int, seconds: float
) -> WorldResult:
    """The back-test figures of a built warehouse."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        metrics = {
            predictor: (observations, churned, auc, lift)
            for predictor, observations, churned, auc, lift in con.execute(
                """
                select predictor, observations, churned_observations, churn_auc, top_risk_lift
                from marts.rpt_health_backtest_metrics
                where period = 'overall' and segment = 'all'
                """
            ).fetchall()
        }
        active = con.execute(
            """
            select count(*), count(*) filter (where computed_health_score is null)
            from marts.fct_health_backtest_observations
            where active_users_30d > 0
            """
        ).fetchone()
        bands = con.execute(
            """
            select assessment_value, observations, churn_rate
            from marts.rpt_health_backtest_bands
            where period = 'overall' and segment = 'all' and assessment = 'score_band'
            """
        ).fetchall()
        left_out = con.execute(
            """
            select category_id from marts.rpt_signal_availability
            group by category_id, category_order having not bool_or(is_available)
            order by category_order
            """
        ).fetchall()
        unavailable = con.execute(
            "select count(*) from marts.rpt_signal_availability where not is_available"
        ).fetchone()
        model_metrics = {
            name: ModelMetrics(int(n), int(c), auc, lift, brier, error, gap)
            for name, n, c, auc, lift, brier, error, gap in con.execute(
                """
                select model_name, observations, churned_observations, churn_auc,
                    top_risk_lift, brier_score, calibration_error, max_decile_calibration_gap
                from marts.rpt_churn_model_backtest
                where segment = 'all'
                """
            ).fetchall()
        }
        versions = con.execute(
            "select count(*) from marts.rpt_churn_model_versions where version_status = 'trained'"
        ).fetchone()
    observations, churned, score_auc, score_lift = metrics.get("health_score", (0, 0, None, None))
    _, _, baseline_auc, baseline_lift = metrics.get("key_events_30d", (0, 0, None, None))
    active_rows, unscored_rows = active if active else (0, 0)
    return WorldResult(
        world=world,
        accounts=accounts,
        days=days,
        seed=seed,
        build_seconds=round(seconds, 1),
        observations=int(observations),
        churned=int(churned),
        score_auc=score_auc,
        baseline_auc=baseline_auc,
        score_lift=score_lift,
        baseline_lift=baseline_lift,
        unscored_active_share=(unscored_rows / active_rows) if active_rows else 0.0,
        band_observations={band: int(n) for band, n, _ in bands},
        band_churn_rates={band: rate for band, _, rate in bands},
        categories_left_out=[category for (category,) in left_out],
        unavailable_signals=int(unavailable[0]) if unavailable else 0,
        model_metrics=model_metrics,
        model_versions=int(versions[0]) if versions else 0,
    )


@dataclass(frozen=True)
class TrendNoise:
    """How the usage trend signal treats accounts whose latent health did not change."""

    steady_days: int
    steady_losing_share: float
    steady_mean_points_lost: float
    declining_days: int
    declining_losing_share: float


# An account-day is steady when the mean latent health of its last 30 days is within this
# of the 30 days before (the trend signal compares those two windows), and declining when it
# fell by more than DECLINE.
STEADY = 0.02
DECLINE = 0.1


def trend_noise(db_path: Path, truth: Path) -> TrendNoise:
    """Measure usage_trend_rate against the generator's latent health (``--truth``).

    On steady account-days a trend signal worth having keeps its full points; on declining
    ones it should lose them. Returns the share of each that lose points, and the points
    steady days lose on average (as a share of the rule's maximum).
    """
    with duckdb.connect(str(db_path), read_only=True) as con:
        row = con.execute(
            f"""
            with truth as (
                select account_id, cast(date as date) as day, latent_health
                from read_parquet('{truth.as_posix()}')
            ),
            windows as (
                select
                    account_id,
                    day,
                    avg(latent_health) over (
                        partition by account_id order by day
                        rows between 29 preceding and current row
                    ) as recent,
                    avg(latent_health) over (
                        partition by account_id order by day
                        rows between 59 preceding and 30 preceding
                    ) as prior,
                    count(*) over (
                        partition by account_id order by day
                        rows between 59 preceding and current row
                    ) as days
                from truth
            ),
            scored as (
                select
                    windows.recent - windows.prior as change,
                    scores.usage_trend_rate_points as points,
                    rules.max_points
                from windows
                inner join intermediate.int_category_scores_daily as scores
                    on windows.account_id = scores.account_id and windows.day = scores.score_date
                cross join (
                    select cast(max_points as double) as max_points
                    from config.health_scoring_rules where signal_name = 'usage_trend_rate'
                ) as rules
                where windows.days = 60 and scores.usage_trend_rate_points is not null
            )
            select
                count(*) filter (where abs(change) < {STEADY}),
                avg(case when points < max_points then 1.0 else 0.0 end)
                    filter (where abs(change) < {STEADY}),
                avg((max_points - points) / max_points) filter (where abs(change) < {STEADY}),
                count(*) filter (where change < -{DECLINE}),
                avg(case when points < max_points then 1.0 else 0.0 end)
                    filter (where change < -{DECLINE})
            from scored
            """
        ).fetchone()
    assert row is not None
    steady, steady_losing, points_lost, declining, declining_losing = row
    return TrendNoise(
        steady_days=int(steady),
        steady_losing_share=float(steady_losing or 0.0),
        steady_mean_points_lost=float(points_lost or 0.0),
        declining_days=int(declining),
        declining_losing_share=float(declining_losing or 0.0),
    )


def check(result: WorldResult) -> list[str]:
    """The claims the world breaks (empty when it meets them all)."""
    problems = []
    if result.score_auc is None or result.score_auc < MIN_AUC:
        problems.append(f"score churn AUC {result.score_auc} below {MIN_AUC}")
    if result.score_auc is not None and (
        result.baseline_auc is None or result.score_auc <= result.baseline_auc
    ):
        problems.append(
            f"score churn AUC {result.score_auc:.3f} not above the baseline's {result.baseline_auc}"
        )
    if result.unscored_active_share > MAX_UNSCORED_ACTIVE_SHARE:
        problems.append(
            f"{result.unscored_active_share:.1%} of observations with product activity "
            f"unscored (at most {MAX_UNSCORED_ACTIVE_SHARE:.0%})"
        )
    rising = BANDS[:3]
    for band in rising:
        if result.band_observations.get(band, 0) < MIN_BAND_OBSERVATIONS:
            problems.append(
                f"band {band} has {result.band_observations.get(band, 0)} observations "
                f"(fewer than {MIN_BAND_OBSERVATIONS}): churn per band cannot be judged"
            )
    rates = [result.band_churn_rates.get(band) for band in rising]
    if all(rate is not None for rate in rates) and not (rates[0] < rates[1] < rates[2]):  # type: ignore[operator]
        shown = ", ".join(f"{b} {r:.2%}" for b, r in zip(rising, rates, strict=True))
        problems.append(f"churn does not rise from healthy to at_risk: {shown}")
    problems.extend(check_model(result))
    return problems


def check_model(result: WorldResult) -> list[str]:
    """The churn model's claims the world breaks."""
    model = result.model_metrics.get("churn_model")
    baseline = result.model_metrics.get("key_events_30d")
    score = result.model_metrics.get("health_score")
    if model is None or model.auc is None:
        return ["no churn model was trained (or it has no AUC)"]
    problems = []
    floor = max(MIN_MODEL_AUC, (baseline.auc if baseline and baseline.auc else 0) + MODEL_MARGIN)
    if model.auc < floor:
        problems.append(
            f"churn model AUC {model.auc:.3f} below {floor:.3f} (max of {MIN_MODEL_AUC} and "
            f"the baseline's {baseline.auc if baseline else None} + {MODEL_MARGIN})"
        )
    if score is not None and score.auc is not None and model.auc < score.auc:
        problems.append(f"churn model AUC {model.auc:.3f} below the rules score's {score.auc:.3f}")
    if model.calibration_error is None or model.calibration_error > MAX_CALIBRATION_ERROR:
        problems.append(
            f"churn model calibration error {model.calibration_error} above {MAX_CALIBRATION_ERROR}"
        )
    if model.max_decile_gap is None or model.max_decile_gap > MAX_DECILE_GAP:
        problems.append(
            f"a churn model decile is off by {model.max_decile_gap} (more than {MAX_DECILE_GAP})"
        )
    return problems


def world_extract(
    cache: Path, world: str, accounts: int, days: int, seed: int, truth: bool = False
) -> Path:
    """The cached extract of a world at this size, generated when missing; with ``truth``
    it also holds the latent health (``_truth/latent_health.parquet``)."""
    folder = cache / world
    raw = folder / "raw"
    manifest = rawdata.read_manifest(raw)
    wanted = {"accounts": accounts, "days": days, "seed": seed, "world": world, "dirty": False}
    has_truth = (raw / TRUTH).is_file()
    if (
        manifest is not None
        and all(manifest.get(k) == v for k, v in wanted.items())
        and (has_truth or not truth)
    ):
        return raw
    rawdata.remove_folder(folder)
    rawdata.make_folder(folder)
    options = ["--world", world, *(["--truth"] if truth else [])]
    rawdata.run_generator(raw, accounts, days, seed, folder / "generate.log", *options)
    return raw


def validate_world(
    world: str,
    accounts: int,
    days: int,
    seed: int,
    cache: Path,
    project_dir: Path,
    threads: int,
    memory_limit: str,
    truth: bool = False,
    data_tests: bool = True,
) -> WorldResult:
    """Generate (or reuse) a world's extract, build its back-test and read the result.

    With ``data_tests`` the build runs the data tests of what it builds; without, only the
    seeds and models. Raises ``RuntimeError`` naming the failed nodes
    when the build fails.
    """
    raw = world_extract(cache, world, accounts, days, seed, truth)
    run = cache / world / "run"
    rawdata.remove_folder(run)
    rawdata.make_folder(run)
    db_path = run / "warehouse.duckdb"
    env = dbt_env(project_dir, db_path, raw, threads, memory_limit)
    target = run / "target"
    dbt = Path(sys.executable).parent / "dbt"
    tests = [
        "--exclude",
        "test_type:unit",
        # only the tests whose every parent is built (not a seed's tests on other marts)
        "--indirect-selection",
        "cautious",
    ]
    models_only = ["--exclude", "resource_type:test", "resource_type:unit_test"]
    command = [
        str(dbt),
        "build",
        "--select",
        *SELECT,
        *(tests if data_tests else models_only),
        "--target-path",
        str(target),
        "--log-path",
        str(run / "logs"),
    ]
    began = time.perf_counter()
    measured = run_measured(command, env, project_dir, run / "build.log")
    if measured.returncode != 0:
        failed = warehouse.failure_messages(target) if (target / RUN_RESULTS).is_file() else []
        raise RuntimeError(
            f"the {world} world's build failed (see {run / 'build.log'}): "
            + ("; ".join(failed) or f"exit {measured.returncode}")
        )
    return read_result(db_path, world, accounts, days, seed, time.perf_counter() - began)


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _lift(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def model_table(results: Sequence[WorldResult]) -> str:
    """The churn model table of docs/generator-worlds.md."""
    lines = [
        "| world | versions | account-months judged | churned "
        "| model AUC | rules score AUC | baseline AUC | model lift "
        "| model Brier | baseline Brier | calibration error | largest decile gap |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        model = r.model_metrics.get("churn_model")
        score = r.model_metrics.get("health_score")
        baseline = r.model_metrics.get("key_events_30d")
        if model is None:
            lines.append(f"| `{r.world}` | 0 | - | - | - | - | - | - | - | - | - | - |")
            continue
        lines.append(
            f"| `{r.world}` | {r.model_versions} | {model.observations:,} | {model.churned:,} "
            f"| {_auc(model.auc)} | {_auc(score.auc if score else None)} "
            f"| {_auc(baseline.auc if baseline else None)} | {_lift(model.lift)} "
            f"| {_number(model.brier, 4)} | {_number(baseline.brier if baseline else None, 4)} "
            f"| {_number(model.calibration_error, 4)} | {_number(model.max_decile_gap, 3)} |"
        )
    return "\n".join(lines)


def markdown_table(results: Sequence[WorldResult]) -> str:
    """The world table of docs/generator-worlds.md."""
    lines = [
        "| world | account-months | churned | score AUC | baseline AUC | score lift "
        "| baseline lift | churn healthy / needs attention / at risk / critical "
        "| active but unscored "
        "| categories without data |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in results:
        rates = " / ".join(
            "-" if r.band_churn_rates.get(b) is None else f"{r.band_churn_rates[b]:.1%}"
            for b in BANDS
        )
        lines.append(
            f"| `{r.world}` | {r.observations:,} | {r.churned:,} | {_auc(r.score_auc)} "
            f"| {_auc(r.baseline_auc)} | {_lift(r.score_lift)} | {_lift(r.baseline_lift)} "
            f"| {rates} | {r.unscored_active_share:.1%} "
            f"| {', '.join(r.categories_left_out) or 'none'} |"
        )
    return "\n".join(lines)


def docs_section(results: Sequence[WorldResult]) -> str:
    sizes = sorted({(r.accounts, r.days, r.seed) for r in results})
    size_text = "; ".join(f"{a:,} accounts x {d} days, seed {s}" for a, d, s in sizes)
    return (
        f"{SECTION}\n\n"
        f"Measured by `customer-health worlds --docs` ({size_text}; {report.now()[:10]}). "
        "Each world's back-test observes every account at each month-end whose 90-day "
        "horizon lies inside the data: the score that day, and whether the account churned "
        "in the 90 days after. The baseline ranks the same observations by the account's "
        "raw count of key events in the 30 days before; the lift is the churn rate of the "
        "riskiest tenth against the whole. *Active but unscored*: observations with a user "
        "active in the last 30 days and no score. The claims, checked for every world by "
        "the test suite (at a smaller size): score AUC at least "
        f"{MIN_AUC} and above the baseline, churn rising from healthy to needs attention to "
        f"at risk, at most {MAX_UNSCORED_ACTIVE_SHARE:.0%} active but unscored.\n\n"
        f"{markdown_table(results)}\n\n"
        "### The churn model in each world\n\n"
        "The churn model (docs/churn-model.md) is trained walk-forward in each world's build "
        "and judged on the month-ends a version was in force on, each by the version "
        "trained on what was known that day; the rules score and the baseline are ranked "
        "on the same observations, and their Brier scores come from one-feature scorecards "
        "trained the same way. The claims, checked for every world by the test suite: model "
        f"AUC at least {MIN_MODEL_AUC} and {MODEL_MARGIN} above the baseline's, not below "
        "the rules score's; calibration error (the observation-weighted mean gap between "
        f"predicted and observed churn over the ten deciles) at most {MAX_CALIBRATION_ERROR}, "
        f"no decile off by more than {MAX_DECILE_GAP}.\n\n"
        f"{model_table(results)}\n"
    )


def write_docs(path: Path, results: Sequence[WorldResult]) -> None:
    """Replace the world section (to the end of the page) with the measured table."""
    text = path.read_text(encoding="utf-8")
    head, found, _ = text.partition(SECTION)
    if not found:
        raise ValueError(f"{path} has no section {SECTION!r}")
    path.write_text(head + docs_section(results), encoding="utf-8")


def parse_args(argv: Sequence[str] | None, prog: str) -> argparse.Namespace:
    config = settings.load()
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n", 1)[0])
    p.add_argument(
        "worlds",
        nargs="*",
        metavar="WORLD",
        help=f"worlds to run: {', '.join(WORLDS)} (default all)",
    )
    p.add_argument("--accounts", type=int, default=1000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--cache",
        type=Path,
        default=config.project_dir / DEFAULT_CACHE,
        help="extracts, builds and results (default: %(default)s)",
    )
    p.add_argument("--threads", type=int, default=config.threads)
    p.add_argument("--memory-limit", default=config.duckdb_memory_limit)
    p.add_argument("--docs", action="store_true", help=f"write the table into {DOCS}")
    p.add_argument(
        "--no-tests",
        action="store_true",
        help="build the seeds and models only, without their data tests",
    )
    args = p.parse_args(argv)
    unknown = [world for world in args.worlds if world not in WORLDS]
    if unknown:
        p.error(f"unknown world {', '.join(unknown)} (choose from {', '.join(WORLDS)})")
    args.project_dir = config.project_dir
    return args


def main(argv: Sequence[str] | None = None, prog: str = "customer-health worlds") -> int:
    args = parse_args(argv, prog)
    worlds = list(args.worlds) or list(WORLDS)
    args.cache.mkdir(parents=True, exist_ok=True)
    results: list[WorldResult] = []
    status = 0
    for world in worlds:
        console.print(f"[bold]{world}[/]: {args.accounts:,} accounts x {args.days} days")
        try:
            result = validate_world(
                world,
                args.accounts,
                args.days,
                args.seed,
                args.cache,
                args.project_dir,
                args.threads,
                args.memory_limit,
                data_tests=not args.no_tests,
            )
        except RuntimeError as error:
            console.print(f"[red]{error}[/]")
            status = 1
            continue
        results.append(result)
        (args.cache / world / "result.json").write_text(
            json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8"
        )
        for problem in check(result):
            console.print(f"  [red]{problem}[/]")
            status = 1
    print(markdown_table(results))
    if args.docs and results:
        write_docs(args.project_dir / DOCS, results)
        console.print(f"wrote {args.project_dir / DOCS}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
