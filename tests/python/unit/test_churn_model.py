"""The churn model: binning, walk-forward training, applying versions, and its command."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from customer_health.churn_model import cli, scorecard
from customer_health.churn_model.scorecard import (
    INTERCEPT,
    SCORECARD_SCHEMA,
    Bin,
    FittedModel,
    Observations,
    Settings,
    bin_edges,
    bin_index,
    fit_version,
    fit_walk_forward,
    predict,
    scorecard_table,
)

# 61 days: several month-ends are exactly one horizon after another (Mar 31 -> May 31).
HORIZON = 61
FEATURES = ["signal_a", "noise_b"]
SETTINGS = Settings(horizon_days=HORIZON, min_churned=50, penalties=(0.01, 0.1, 1.0))
DAY = np.timedelta64(1, "D")
CATEGORIES = ["usage", "adoption", "lifecycle", "support", "commercial"]
RULES = [
    ("usage", "signal_a"),
    ("usage", "usage_unbinned"),
    ("adoption", "noise_b"),
    ("lifecycle", "noise_c"),
    ("support", "noise_d"),
    ("commercial", "commercial_unbinned"),
]
CURRENT_WEIGHTS = {
    "usage": "0.30",
    "adoption": "0.20",
    "lifecycle": "0.15",
    "support": "0.20",
    "commercial": "0.15",
}


def month_ends(first: str, count: int) -> np.ndarray:
    months = np.arange(np.datetime64(first, "M"), np.datetime64(first, "M") + count)
    return (months + 1).astype("datetime64[D]") - DAY


def synthetic(
    accounts: int = 300,
    months: int = 18,
    strength: float = 3.0,
    base: float = -3.0,
    seed: int = 7,
    extra: tuple[str, ...] = (),
) -> Observations:
    """Month-end observations where churn depends on `signal_a` only (logistic)."""
    rng = np.random.default_rng(seed)
    dates = month_ends("2023-01", months)
    size = accounts * months
    signal = rng.normal(size=size)
    features = {"signal_a": signal}
    for name in ("noise_b", *extra):
        values = rng.normal(size=size)
        values[rng.random(size) < 0.1] = np.nan
        features[name] = values
    churned = rng.random(size) < 1.0 / (1.0 + np.exp(-(base + strength * signal)))
    return Observations(
        account_id=np.tile([f"a{i:04d}" for i in range(accounts)], months).astype(str),
        as_of_date=np.repeat(dates, accounts),
        segment=np.full(size, "SMB").astype(str),
        is_churned=churned,
        features=features,
    )


def known_by(observations: Observations, version: np.datetime64, horizon: int = HORIZON) -> Any:
    return observations.as_of_date + np.timedelta64(horizon, "D") <= version


# --- binning -------------------------------------------------------------------------------


def test_bin_edges_are_quantiles_of_the_values_seen() -> None:
    values = np.arange(1.0, 11.0)
    assert bin_edges(values, 5).tolist() == [2.0, 4.0, 6.0, 8.0]
    with_missing = np.concatenate([values, [np.nan, np.nan]])
    assert bin_edges(with_missing, 5).tolist() == [2.0, 4.0, 6.0, 8.0]
    assert bin_edges(values, 2).tolist() == [5.0]


def test_bin_edges_drop_repeated_cuts_and_a_cut_at_the_minimum() -> None:
    mostly_zero = np.array([0.0] * 6 + [1.0] * 4)
    assert bin_edges(mostly_zero, 5).tolist() == [1.0]
    assert bin_edges(np.full(10, 3.0), 5).size == 0
    assert bin_edges(np.full(4, np.nan), 5).size == 0
    assert bin_edges(np.arange(10.0), 1).size == 0


def test_bin_index_puts_a_value_on_a_cut_in_the_upper_bin_and_none_in_the_missing_bin() -> None:
    edges = np.array([2.0, 4.0, 6.0, 8.0])
    values = np.array([-5.0, 1.999, 2.0, 3.9, 4.0, 8.0, 9.5, np.nan])
    assert bin_index(values, edges).tolist() == [0, 0, 1, 1, 2, 4, 4, 5]
    assert bin_index(np.array([np.nan, 0.0]), np.empty(0)).tolist() == [1, 0]


# --- walk-forward training -----------------------------------------------------------------


@pytest.fixture(scope="module")
def walk_forward() -> tuple[Observations, np.ndarray, list[FittedModel]]:
    """Synthetic observations, the month-ends to train on (past the data), the versions."""
    observations = synthetic()
    dates = month_ends("2023-01", 22)
    return observations, dates, fit_walk_forward(observations, SETTINGS, FEATURES, dates)


def test_a_version_trains_only_on_observations_whose_horizon_ended_by_its_date(
    walk_forward: tuple[Observations, np.ndarray, list[FittedModel]],
) -> None:
    observations, dates, versions = walk_forward
    assert versions
    assert {model.model_name for model in versions} == {"churn_model"}
    expected_dates = [
        date
        for date in dates
        if observations.is_churned[known_by(observations, date)].sum() >= SETTINGS.min_churned
    ]
    assert [model.model_version for model in versions] == expected_dates
    horizon = np.timedelta64(HORIZON, "D")
    for model in versions:
        known = known_by(observations, model.model_version)
        assert model.training_observations == known.sum()
        assert model.training_churned == observations.is_churned[known].sum()
        assert model.first_training_date == observations.as_of_date.min()
        assert model.last_training_date == observations.as_of_date[known].max()
        assert model.last_training_date + horizon <= model.model_version
    # An observation whose horizon ends on the version date is known on it.
    assert any(model.last_training_date + horizon == model.model_version for model in versions)


def test_a_version_is_the_same_whatever_happens_after_its_date() -> None:
    observations = synthetic()
    version = np.datetime64("2023-09-30")
    future = ~known_by(observations, version)
    assert future.any()
    altered = observations.subset(np.ones(len(observations), dtype=bool))
    altered.is_churned = np.where(future, ~observations.is_churned, observations.is_churned)
    rng = np.random.default_rng(1)
    for name in altered.features:
        altered.features[name] = np.where(
            future, rng.normal(size=len(observations)), altered.features[name]
        )
    dates = np.array([version])
    original = scorecard_table(fit_walk_forward(observations, SETTINGS, FEATURES, dates))
    changed = scorecard_table(fit_walk_forward(altered, SETTINGS, FEATURES, dates))
    assert original.num_rows > 0
    assert original.equals(changed)


def test_a_later_build_reuses_the_versions_whose_training_rows_did_not_change(
    walk_forward: tuple[Observations, np.ndarray, list[FittedModel]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    observations, dates, models = walk_forward
    previous = scorecard_table(models)
    trained: list[np.datetime64] = []
    original_fit = scorecard.fit_version

    def counting_fit(*args: Any, **kwargs: Any) -> FittedModel | None:
        trained.append(args[1])
        return original_fit(*args, **kwargs)

    monkeypatch.setattr(scorecard, "fit_version", counting_fit)
    again = scorecard_table(fit_walk_forward(observations, SETTINGS, FEATURES, dates, previous))
    assert trained == []
    assert again.equals(previous)

    # A late correction of one row of 2023-06-30: the versions that learned from it (those
    # dated from its horizon's end on) are trained again, the earlier ones are reused.
    corrected = observations.subset(np.ones(len(observations), dtype=bool))
    row = int(np.flatnonzero(corrected.as_of_date == np.datetime64("2023-06-30"))[0])
    corrected.features["signal_a"] = corrected.features["signal_a"].copy()
    corrected.features["signal_a"][row] += 5.0
    changed = scorecard_table(fit_walk_forward(corrected, SETTINGS, FEATURES, dates, previous))
    first_learning = np.datetime64("2023-06-30") + np.timedelta64(HORIZON, "D")
    versions = {m.model_version for m in models}
    assert set(trained) == {v for v in versions if v >= first_learning}
    assert {v for v in versions if v < first_learning}, "no version to reuse"
    kept = pc.less(changed.column("model_version"), pa.scalar(first_learning.item()))
    before = previous.filter(
        pc.less(previous.column("model_version"), pa.scalar(first_learning.item()))
    )
    assert changed.filter(kept).equals(before)


def test_cold_start_no_version_before_min_churned_are_known() -> None:
    observations = synthetic()
    dates = month_ends("2023-01", 18)
    known = [int(observations.is_churned[known_by(observations, date)].sum()) for date in dates]
    position = 6
    assert known[position - 1] < known[position], "the data must add churn in that month"
    settings = Settings(horizon_days=HORIZON, min_churned=known[position], penalties=(0.1,))
    versions = fit_walk_forward(observations, settings, FEATURES, dates)
    assert versions[0].model_version == dates[position]
    assert versions[0].training_churned == known[position]

    too_few = Settings(horizon_days=HORIZON, min_churned=known[-1] + 1, penalties=(0.1,))
    assert fit_walk_forward(observations, too_few, FEATURES, dates) == []
    empty = scorecard_table([])
    assert empty.schema.equals(SCORECARD_SCHEMA)
    assert np.isnan(predict(empty, observations, "churn_model")).all()


# --- applying a scorecard ------------------------------------------------------------------


def hand_model(
    version: str, intercept: float, cut: float, points: tuple[float, float, float], name: str
) -> FittedModel:
    low, high, missing = points
    return FittedModel(
        model_name=name,
        model_version=np.datetime64(version),
        training_observations=100,
        training_churned=10,
        first_training_date=np.datetime64("2023-01-31"),
        last_training_date=np.datetime64("2023-10-31"),
        penalty_c=0.1,
        intercept=intercept,
        bins=[
            Bin("x", 0, None, cut, False, low, 0.5, 0.1),
            Bin("x", 1, cut, None, False, high, 0.4, 0.1),
            Bin("x", 2, None, None, True, missing, 0.1, 0.1),
        ],
    )


def test_predict_applies_the_latest_version_on_or_before_each_date() -> None:
    scorecard = scorecard_table(
        [
            hand_model("2024-01-31", -1.0, 1.0, (-0.5, 0.5, 2.0), "churn_model"),
            hand_model("2024-03-31", 0.25, 3.0, (-1.0, 1.0, 0.0), "churn_model"),
            hand_model("2024-01-31", 5.0, 1.0, (5.0, 5.0, 5.0), "health_score"),
        ]
    )
    dates = [
        "2024-01-30",
        "2024-01-31",
        "2024-02-29",
        "2024-02-29",
        "2024-03-30",
        "2024-03-31",
        "2024-07-31",
        "2024-07-31",
    ]
    x = np.array([0.5, 1.0, 0.99, np.nan, 3.5, 2.0, 3.0, np.nan])
    observations = Observations(
        account_id=np.array([f"a{i}" for i in range(len(x))]),
        as_of_date=np.array(dates, dtype="datetime64[D]"),
        segment=np.full(len(x), "SMB"),
        is_churned=np.zeros(len(x), dtype=bool),
        features={"x": x},
    )
    logits = np.array([np.nan, -0.5, -1.5, 1.0, -0.5, -0.75, 1.25, 0.25])
    expected = 1.0 / (1.0 + np.exp(-logits))
    got = predict(scorecard, observations, "churn_model")
    assert np.isnan(got[0])
    np.testing.assert_allclose(got[1:], expected[1:], rtol=0, atol=1e-12)


def test_points_are_centred_and_reproduce_the_logistic_regression() -> None:
    observations = synthetic()
    version = np.datetime64("2024-06-30")
    model = fit_version("churn_model", version, observations, FEATURES, SETTINGS)
    assert model is not None
    for name in FEATURES:
        bins = [item for item in model.bins if item.feature_name == name]
        shares = np.array([item.training_share for item in bins])
        points = np.array([item.points for item in bins])
        assert shares.sum() == pytest.approx(1.0, abs=1e-12)
        assert abs(float(np.dot(shares, points))) < 1e-9
        assert np.ptp(points) > 0

    columns = []
    for name in FEATURES:
        edges = bin_edges(observations.features[name], SETTINGS.max_bins)
        index = bin_index(observations.features[name], edges)
        columns += [(index == number).astype(np.float64) for number in range(len(edges) + 2)]
    reference = LogisticRegression(C=model.penalty_c, max_iter=1000, tol=1e-6)
    reference.fit(sparse.csr_matrix(np.column_stack(columns)), observations.is_churned)
    expected = reference.predict_proba(sparse.csr_matrix(np.column_stack(columns)))[:, 1]
    # The same rows, dated on the version so that it is in force.
    on_version = observations.subset(np.ones(len(observations), dtype=bool))
    on_version.as_of_date = np.full(len(observations), version)
    got = predict(scorecard_table([model]), on_version, "churn_model")
    assert np.abs(got - expected).max() < 1e-9


def test_the_model_learns_a_real_signal_out_of_time(
    walk_forward: tuple[Observations, np.ndarray, list[FittedModel]],
) -> None:
    observations, dates, versions = walk_forward
    first = versions[0].model_version
    later = observations.as_of_date >= first
    scored = predict(scorecard_table(versions), observations, "churn_model")
    assert not np.isnan(scored[later]).any()
    assert np.isnan(scored[~later]).all()
    auc = roc_auc_score(observations.is_churned[later], scored[later])
    assert auc > 0.8, auc

    noise_only = fit_walk_forward(observations, SETTINGS, ["noise_b"], dates)
    noise_scored = predict(scorecard_table(noise_only), observations, "churn_model")
    judged = ~np.isnan(noise_scored)
    assert roc_auc_score(observations.is_churned[judged], noise_scored[judged]) < 0.6


# --- the command: train ---------------------------------------------------------------------


def write_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    variables = {
        "backtest_horizon_days": HORIZON,
        "churn_model_features": FEATURES,
        "churn_model_min_churned": 50,
        "churn_model_max_bins": 5,
        "churn_model_penalties": [0.01, 0.1, 1.0],
        "churn_model_validation_share": 0.3,
        "churn_model_scorecard_file": None,
    }
    (folder / "dbt_project.yml").write_text(
        "name: customer_health\nvars:\n"
        + "".join(f"  {name}: {json.dumps(value)}\n" for name, value in variables.items()),
        encoding="utf-8",
    )
    seeds = folder / "seeds"
    seeds.mkdir(exist_ok=True)
    with (seeds / "health_scoring_rules.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["category_id", "signal_name", "max_points"])
        writer.writerows([category, signal, 10] for category, signal in RULES)
    with (seeds / "health_score_weights.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["segment", "lifecycle_stage", "category_id", "weight"])
        writer.writerows(["all", "all", name, weight] for name, weight in CURRENT_WEIGHTS.items())
        writer.writerow(["all", "onboarding", "usage", "1.00"])
    return folder


def observation_table(observations: Observations) -> pa.Table:
    columns: dict[str, Any] = {
        "account_id": observations.account_id.tolist(),
        "as_of_date": pa.array(observations.as_of_date.astype("datetime64[D]"), pa.date32()),
        "segment": observations.segment.tolist(),
        "is_churned": observations.is_churned.tolist(),
    }
    for name, values in observations.features.items():
        columns[name] = pa.array(values, pa.float64(), from_pandas=True)
    horizon_end = observations.as_of_date + np.timedelta64(HORIZON, "D")
    columns["horizon_end_date"] = pa.array(horizon_end.astype("datetime64[D]"), pa.date32())
    return pa.table(columns)


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Observations, np.ndarray]:
    """A DuckDB file holding the two relations `train` reads.

    Like the mart, the observations hold the comparison models' features too. The score
    dates are daily from September 2023 (a later scoring start): only their month-ends get a
    version."""
    observations = synthetic(accounts=250, months=12, extra=("health_score", "key_events_30d"))
    days = np.arange(np.datetime64("2023-09-01"), np.datetime64("2024-02-16"))
    data_as_of = days.max()
    keep = observations.as_of_date + np.timedelta64(HORIZON, "D") <= data_as_of
    observations = observations.subset(keep)
    path = tmp_path_factory.mktemp("churn_build") / "warehouse.duckdb"
    score_dates = pa.table(
        {
            "score_date": pa.array(days, pa.date32()),
            "product_data_start_date": pa.array(np.full(days.size, days.min()), pa.date32()),
            "as_of_date": pa.array(np.full(days.size, data_as_of), pa.date32()),
        }
    )
    observation_rows = observation_table(observations)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create schema intermediate")
        con.register("observation_rows", observation_rows)
        con.register("score_dates", score_dates)
        con.execute(
            "create table marts.fct_churn_model_observations as select * from observation_rows"
        )
        con.execute("create table intermediate.int_score_dates as select * from score_dates")
    ends = month_ends("2023-09", 5)
    assert ends.max() <= data_as_of < ends.max() + np.timedelta64(31, "D")
    return path, observations, ends


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr, each as words separated by single spaces."""
    code = cli.main(argv)
    captured = capsys.readouterr()
    words = [" ".join(re.sub("[│┃]", " ", text).split()) for text in (captured.out, captured.err)]
    return code, words[0], words[1]


def test_train_writes_the_scorecard_the_build_would_train(
    build: tuple[Path, Observations, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, observations, ends = build
    project = write_project(tmp_path / "project")
    out = tmp_path / "cards" / "scorecard.parquet"
    code, stdout, stderr = run(
        ["train", "--duckdb", str(path), "--out", str(out), "--project-dir", str(project)], capsys
    )
    assert code == 0, stderr
    written = pq.read_table(out)
    assert written.schema.metadata == {b"customer_health": b"churn_model_scorecard"}
    assert written.schema.remove_metadata().equals(SCORECARD_SCHEMA)

    ordered = observations.subset(np.lexsort((observations.account_id, observations.as_of_date)))
    expected = scorecard_table(fit_walk_forward(ordered, SETTINGS, FEATURES, ends))
    assert written.num_rows == expected.num_rows > 0
    for name in SCORECARD_SCHEMA.names:
        got, want = written.column(name).to_pylist(), expected.column(name).to_pylist()
        if SCORECARD_SCHEMA.field(name).type == pa.float64():
            assert [value is None for value in got] == [value is None for value in want], name
            pairs = [(a, b) for a, b in zip(got, want, strict=True) if a is not None]
            assert max(abs(a - b) for a, b in pairs) < 1e-9, name
        else:
            assert got == want, name
    versions = sorted(set(expected.column("model_version").to_pylist()))
    assert f"churn_model {len(versions)} {versions[0]} {versions[-1]}" in stdout
    assert not [item for item in out.parent.iterdir() if item.name != out.name]

    # The file is the command's own: a second run replaces it (here by one with no version).
    code, _, stderr = run(
        [
            "train",
            "--duckdb",
            str(path),
            "--out",
            str(out),
            "--project-dir",
            str(project),
            "--vars",
            '{"churn_model_min_churned": 100000}',
        ],
        capsys,
    )
    assert code == 0, stderr
    assert pq.read_table(out).num_rows == 0


def test_train_vars_override_the_project_and_no_version_is_reported(
    build: tuple[Path, Observations, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, observations, ends = build
    project = write_project(tmp_path / "project")
    out = tmp_path / "scorecard.parquet"
    argv = ["train", "--duckdb", str(path), "--out", str(out), "--project-dir", str(project)]
    code, stdout, stderr = run([*argv, "--vars", '{"churn_model_min_churned": 100000}'], capsys)
    assert code == 0, stderr
    known = int(observations.is_churned[known_by(observations, ends.max())].sum())
    assert f"no version: {known:,} churned observations known" in stdout
    assert "100,000 needed" in stdout
    assert pq.read_table(out).num_rows == 0

    code, _, stderr = run([*argv, "--vars", "{churn_model_features: [signal_a]}"], capsys)
    assert code == 0, stderr
    rows = pq.read_table(out).to_pylist()
    assert {row["model_name"] for row in rows} == {"churn_model", "health_score", "key_events_30d"}
    features = {row["feature_name"] for row in rows if row["model_name"] == "churn_model"}
    assert features == {INTERCEPT, "signal_a"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ('{"churn_model_max_bins": 1}', "churn_model_max_bins"),
        ('{"churn_model_penalties": [0.1, -1]}', "churn_model_penalties"),
        ('{"churn_model_features": ["signal_a", "no_such_column"]}', "no_such_column"),
        ('{"churn_model_validation_share": 1}', "churn_model_validation_share"),
        ("[1, 2]", "--vars must be a mapping"),
    ],
)
def test_train_refuses_bad_vars(
    build: tuple[Path, Observations, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    overrides: str,
    message: str,
) -> None:
    path, _, _ = build
    project = write_project(tmp_path / "project")
    out = tmp_path / "scorecard.parquet"
    code, _, stderr = run(
        [
            "train",
            "--duckdb",
            str(path),
            "--out",
            str(out),
            "--project-dir",
            str(project),
            "--vars",
            overrides,
        ],
        capsys,
    )
    assert code == 2
    assert message in stderr
    assert not out.exists()


def foreign_parquet(path: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2]}), path)


def unmarked_scorecard(path: Path) -> None:
    pq.write_table(pa.Table.from_pylist([], schema=SCORECARD_SCHEMA), path)


def text_file(path: Path) -> None:
    path.write_text("not a scorecard\n")


@pytest.mark.parametrize("make", [foreign_parquet, unmarked_scorecard, text_file])
def test_train_never_overwrites_a_file_it_did_not_write(
    build: tuple[Path, Observations, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Any,
) -> None:
    path, _, _ = build
    project = write_project(tmp_path / "project")
    out = tmp_path / "scorecard.parquet"
    make(out)
    before = out.read_bytes()
    code, _, stderr = run(
        ["train", "--duckdb", str(path), "--out", str(out), "--project-dir", str(project)], capsys
    )
    assert code == 2
    assert "refusing to overwrite" in stderr
    assert out.read_bytes() == before


def test_train_refuses_a_build_without_the_observations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path / "project")
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    out = tmp_path / "scorecard.parquet"
    code, _, stderr = run(
        ["train", "--duckdb", str(path), "--out", str(out), "--project-dir", str(project)], capsys
    )
    assert code == 2
    assert "has no marts.fct_churn_model_observations" in stderr
    assert not out.exists()


# --- the command: propose-weights ------------------------------------------------------------


def scorecard_build(folder: Path, scorecard: pa.Table) -> Path:
    path = folder / "scored.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.register("scorecard", scorecard)
        con.execute("create table marts.rpt_churn_model_scorecard as select * from scorecard")
    return path


def bins_row(
    version: str, feature: str, number: int, points: float, share: float, model: str
) -> dict[str, Any]:
    return {
        "model_name": model,
        "model_version": np.datetime64(version).item(),
        "feature_name": feature,
        "bin_number": number,
        "lower_bound": None,
        "upper_bound": None,
        "is_missing_bin": False,
        "points": points,
        "training_share": share,
        "training_churn_rate": None,
        "training_observations": 1000,
        "training_churned": 80,
        "first_training_date": np.datetime64("2023-01-31").item(),
        "last_training_date": np.datetime64("2023-12-31").item(),
        "penalty_c": 0.1,
    }


def feature_rows(
    version: str, feature: str, bins: list[tuple[float, float]], model: str = "churn_model"
) -> list[dict[str, Any]]:
    return [
        bins_row(version, feature, number, points, share, model)
        for number, (points, share) in enumerate(bins)
    ]


def read_proposal(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_propose_weights_weighs_categories_by_the_spread_of_their_signals_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path / "project")
    latest, older = "2024-06-30", "2024-05-31"
    rows = [
        *feature_rows(latest, INTERCEPT, [(-2.0, 1.0)]),
        # spread 1.0
        *feature_rows(latest, "signal_a", [(-1.0, 0.5), (1.0, 0.5)]),
        # weighted by share: sqrt(0.8 * 0.2^2 + 0.2 * 0.8^2) = 0.4 (unweighted: 0.5)
        *feature_rows(latest, "noise_b", [(-0.2, 0.8), (0.8, 0.2), (9.0, 0.0)]),
        *feature_rows(latest, "noise_c", [(-0.25, 0.5), (0.25, 0.5)]),
        *feature_rows(latest, "noise_d", [(0.25, 0.5), (-0.25, 0.5)]),
        # not a category's signal: counts for none
        *feature_rows(latest, "arr", [(-5.0, 0.5), (5.0, 0.5)]),
        # an older version and another model: ignored
        *feature_rows(older, "commercial_unbinned", [(-3.0, 0.5), (3.0, 0.5)]),
        *feature_rows(latest, "noise_d", [(-3.0, 0.5), (3.0, 0.5)], "health_score"),
    ]
    path = scorecard_build(tmp_path, pa.Table.from_pylist(rows, schema=SCORECARD_SCHEMA))
    out = tmp_path / "proposal.csv"
    argv = ["propose-weights", "--duckdb", str(path), "--out", str(out)]
    code, stdout, stderr = run([*argv, "--project-dir", str(project)], capsys)
    assert code == 0, stderr
    # importances 1.0, 0.4, 0.25, 0.25, 0 of 1.9 -> 10.5, 4.2, 2.6, 2.6, 0 twentieths
    assert read_proposal(out) == [
        {"segment": "all", "lifecycle_stage": "all", "category_id": name, "weight": weight}
        for name, weight in [
            ("usage", "0.50"),
            ("adoption", "0.20"),
            ("lifecycle", "0.15"),
            ("support", "0.15"),
            ("commercial", "0.00"),
        ]
    ]
    assert "usage 1.000 signal_a 0.30 0.50" in stdout
    assert "adoption 0.400 noise_b 0.20 0.20" in stdout
    assert "commercial 0.000 - 0.15 0.00" in stdout
    assert "not counted (no category's signal): arr" in stdout

    before = out.read_bytes()
    code, _, stderr = run([*argv, "--project-dir", str(project)], capsys)
    assert code == 2
    assert "refusing to overwrite" in stderr
    assert out.read_bytes() == before


def test_propose_weights_ranks_the_predictive_signals_category_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path / "project")
    observations = synthetic(extra=("noise_c", "noise_d"))
    features = ["signal_a", "noise_b", "noise_c", "noise_d"]
    latest = month_ends("2023-01", 18)[-1:]
    versions = fit_walk_forward(observations, SETTINGS, features, latest)
    path = scorecard_build(tmp_path, scorecard_table(versions))
    out = tmp_path / "proposal.csv"
    code, _, stderr = run(
        [
            "propose-weights",
            "--duckdb",
            str(path),
            "--out",
            str(out),
            "--project-dir",
            str(project),
        ],
        capsys,
    )
    assert code == 0, stderr
    proposal = read_proposal(out)
    assert [row["category_id"] for row in proposal] == CATEGORIES
    assert {(row["segment"], row["lifecycle_stage"]) for row in proposal} == {("all", "all")}
    weights = {row["category_id"]: Decimal(row["weight"]) for row in proposal}
    assert sum(weights.values()) == Decimal(1)
    assert all(weight % Decimal("0.05") == 0 for weight in weights.values())
    assert max(weights, key=lambda name: weights[name]) == "usage"
    assert weights["usage"] > max(w for name, w in weights.items() if name != "usage")
    assert weights["commercial"] == 0


def test_propose_weights_refuses_without_a_version_and_inside_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path / "project")
    path = scorecard_build(tmp_path, scorecard_table([]))
    out = tmp_path / "proposal.csv"
    argv = ["propose-weights", "--duckdb", str(path), "--project-dir", str(project)]
    code, _, stderr = run([*argv, "--out", str(out)], capsys)
    assert code == 2
    assert "no churn_model version" in stderr
    assert not out.exists()

    inside = project / "seeds" / "proposal.csv"
    code, _, stderr = run([*argv, "--out", str(inside)], capsys)
    assert code == 2
    assert "inside seeds/" in stderr
    assert not inside.exists()


def test_rounded_weights_are_twentieths_summing_to_one() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        values = rng.exponential(size=5) * (rng.random(5) < 0.8)
        if not values.sum():
            continue
        importance = dict(zip(CATEGORIES, values.tolist(), strict=True))
        weights = cli.rounded_weights(importance)
        assert sum(weights.values()) == Decimal(1)
        for name, weight in weights.items():
            assert weight % Decimal("0.05") == 0
            assert abs(float(weight) - importance[name] / values.sum()) < 0.05
    assert cli.rounded_weights({"a": 1.0, "b": 1.0, "c": 1.0}) == {
        "a": Decimal("0.35"),
        "b": Decimal("0.35"),
        "c": Decimal("0.30"),
    }
