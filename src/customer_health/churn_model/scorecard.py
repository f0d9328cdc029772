"""A credit-scoring style churn model, trained walk-forward so that no day sees its future.

Each feature is cut into bins at quantiles of its training values (plus a bin for "no
value"); a logistic regression with an L2 penalty gives each bin its log-odds of churn within
the horizon. The bins' log-odds are centred on the training average, so a bin's `points`
read as "this much more (or less) likely to churn than an average account, in log-odds", and
the points of an account's bins plus the intercept are its log-odds.

A model version is trained at every month-end A scored, on the observations
whose horizon had ended by A (as-of date + horizon <= A), and applies from A until the next
version: the probability of a day uses only outcomes known on that day. A version needs at
least `min_churned` churned observations; before that there is no model.

The penalty is chosen per version out of time too: fitted on the earlier training as-of
dates, judged by log loss on the later ones.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DateArray = npt.NDArray[np.datetime64]

# The observation table's key and label columns; every other column is a feature.
KEY_COLUMNS = ("account_id", "as_of_date", "segment", "is_churned")
# The model the marts apply, and the two comparisons the back-test fits the same way.
FULL_MODEL = "churn_model"
COMPARISON_MODELS = {"health_score": ("health_score",), "key_events_30d": ("key_events_30d",)}
INTERCEPT = "(intercept)"
# Changes with any change of how versions are trained, so that no older version is reused.
SCORECARD_FORMAT = 1
# A version chooses its penalty again once its training churns have grown by this factor
# since the last choice.
REPENALISE_GROWTH = 1.25


@dataclass(frozen=True)
class Settings:
    """How versions are trained (the dbt vars `churn_model_*`)."""

    horizon_days: int
    min_churned: int = 50
    max_bins: int = 5
    penalties: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
    validation_share: float = 0.3


@dataclass
class Observations:
    """Month-end observations, one row per account and as-of date, features wide."""

    account_id: npt.NDArray[np.str_]
    as_of_date: DateArray
    segment: npt.NDArray[np.str_]
    is_churned: BoolArray
    features: dict[str, FloatArray]

    def __len__(self) -> int:
        return len(self.account_id)

    def subset(self, mask: BoolArray) -> Observations:
        return Observations(
            self.account_id[mask],
            self.as_of_date[mask],
            self.segment[mask],
            self.is_churned[mask],
            {name: values[mask] for name, values in self.features.items()},
        )


@dataclass(frozen=True)
class Bin:
    """One bin of a feature: values in [lower, upper) (None: unbounded), or no value."""

    feature_name: str
    bin_number: int
    lower_bound: float | None
    upper_bound: float | None
    is_missing_bin: bool
    points: float
    training_share: float
    training_churn_rate: float | None


@dataclass
class FittedModel:
    """One model version: its intercept and the points of every bin."""

    model_name: str
    model_version: np.datetime64
    training_observations: int
    training_churned: int
    first_training_date: np.datetime64
    last_training_date: np.datetime64
    penalty_c: float
    intercept: float
    bins: list[Bin] = field(default_factory=list)
    # What the version was trained from (see training_fingerprint): a later build with the
    # same fingerprint reuses the version instead of training it again.
    training_fingerprint: str = ""


def observations_from_arrow(table: pa.Table, features: Sequence[str] | None = None) -> Observations:
    """The observation mart's rows, with `features` (default: every other column) as floats."""
    names = (
        list(features)
        if features is not None
        else [name for name in table.column_names if name not in KEY_COLUMNS]
    )
    missing = [name for name in (*KEY_COLUMNS, *names) if name not in table.column_names]
    if missing:
        raise ValueError(f"the churn model's observations lack the columns {missing}")
    features_by_name = {name: _floats(table.column(name)) for name in names}
    churned = table.column("is_churned").to_numpy(zero_copy_only=False)
    if any(value is None for value in churned.tolist()):
        raise ValueError("the churn model's observations have a null is_churned")
    return Observations(
        account_id=np.asarray(table.column("account_id").to_pylist(), dtype=str),
        as_of_date=table.column("as_of_date").cast(pa.date32()).to_numpy().astype("datetime64[D]"),
        segment=np.asarray(
            [value or "" for value in table.column("segment").to_pylist()], dtype=str
        ),
        is_churned=churned.astype(bool),
        features=features_by_name,
    )


def _floats(column: pa.ChunkedArray) -> FloatArray:
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def bin_edges(values: FloatArray, max_bins: int) -> FloatArray:
    """Cut points at the quantiles of the values seen (fewer when values repeat)."""
    seen = values[~np.isnan(values)]
    if seen.size == 0 or max_bins < 2:
        return np.empty(0)
    quantiles = np.quantile(seen, np.linspace(0, 1, max_bins + 1)[1:-1], method="lower")
    edges = np.unique(quantiles)
    # A cut at the minimum leaves its lower bin empty.
    return np.asarray(edges[edges > seen.min()], dtype=np.float64)


def bin_index(values: FloatArray, edges: FloatArray) -> npt.NDArray[np.int64]:
    """Bin of each value: 0 .. len(edges) by the cut points, len(edges) + 1 for no value."""
    index = np.searchsorted(edges, np.nan_to_num(values), side="right").astype(np.int64)
    index[np.isnan(values)] = len(edges) + 1
    return index


def _design(
    observations: Observations, edges: Mapping[str, FloatArray]
) -> tuple[sparse.csr_matrix, list[tuple[str, int]]]:
    """One-hot bin indicators (sparse), and the (feature, bin) of each column."""
    columns: list[FloatArray] = []
    labels: list[tuple[str, int]] = []
    for name, cuts in edges.items():
        index = bin_index(observations.features[name], cuts)
        for number in range(len(cuts) + 2):
            columns.append((index == number).astype(np.float64))
            labels.append((name, number))
    return sparse.csr_matrix(np.column_stack(columns)), labels


def _usable_features(observations: Observations, names: Sequence[str]) -> list[str]:
    """Features with at least two distinct states in training (a value and none count)."""
    usable = []
    for name in names:
        values = observations.features.get(name)
        if values is None:
            continue
        has_missing = bool(np.isnan(values).any())
        distinct = np.unique(values[~np.isnan(values)]).size
        if distinct + int(has_missing) >= 2:
            usable.append(name)
    return usable


def _fit(x: sparse.csr_matrix, y: BoolArray, penalty_c: float) -> LogisticRegression:
    import warnings

    model = LogisticRegression(C=penalty_c, max_iter=1000, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(x, y)
    return model


def _choose_penalty(observations: Observations, names: Sequence[str], settings: Settings) -> float:
    """The penalty with the lowest log loss on the later training dates, fitted on earlier ones.

    Fitting uses only observations whose horizon ended by the first validation date, so the
    choice is itself out of time. Without enough churn on either side, the middle penalty.
    """
    dates = np.unique(observations.as_of_date)
    default = settings.penalties[len(settings.penalties) // 2]
    held = max(1, math.ceil(len(dates) * settings.validation_share))
    if len(dates) <= held:
        return default
    first_held = dates[-held]
    horizon = np.timedelta64(settings.horizon_days, "D")
    fit_mask = observations.as_of_date + horizon <= first_held
    held_mask = observations.as_of_date >= first_held
    fit_part = observations.subset(fit_mask)
    held_part = observations.subset(held_mask)
    enough = max(5, settings.min_churned // 5)
    if fit_part.is_churned.sum() < enough or held_part.is_churned.sum() < enough:
        return default
    usable = _usable_features(fit_part, names)
    if not usable:
        return default
    edges = {name: bin_edges(fit_part.features[name], settings.max_bins) for name in usable}
    x_fit, _ = _design(fit_part, edges)
    x_held, _ = _design(held_part, edges)
    losses = []
    for penalty_c in settings.penalties:
        model = _fit(x_fit, fit_part.is_churned, penalty_c)
        predicted = model.predict_proba(x_held)[:, 1]
        losses.append(log_loss(held_part.is_churned, predicted, labels=[False, True]))
    return settings.penalties[int(np.argmin(losses))]


def fit_version(
    model_name: str,
    version: np.datetime64,
    training: Observations,
    names: Sequence[str],
    settings: Settings,
    penalty_c: float | None = None,
) -> FittedModel | None:
    """The version trained on `training` (already cut to what was known at `version`), with
    `penalty_c`, or one chosen on `training` when None."""
    usable = _usable_features(training, names)
    if not usable:
        return None
    if penalty_c is None:
        penalty_c = _choose_penalty(training, usable, settings)
    edges = {name: bin_edges(training.features[name], settings.max_bins) for name in usable}
    x, labels = _design(training, edges)
    model = _fit(x, training.is_churned, penalty_c)
    coefficients = model.coef_[0]
    shares = np.asarray(x.mean(axis=0)).ravel()
    churn = training.is_churned.astype(np.float64)
    dense = x.toarray()
    intercept = float(model.intercept_[0])
    bins: list[Bin] = []
    for name, cuts in edges.items():
        columns = [i for i, (feature, _) in enumerate(labels) if feature == name]
        mean = float(np.dot(shares[columns], coefficients[columns]))
        intercept += mean
        for position, column in enumerate(columns):
            is_missing = position == len(cuts) + 1
            in_bin = dense[:, column] > 0
            # A bin no training row fell in (e.g. no missing values) counts as the average.
            points = 0.0 if shares[column] == 0 else float(coefficients[column]) - mean
            bins.append(
                Bin(
                    feature_name=name,
                    bin_number=position,
                    lower_bound=None if is_missing or position == 0 else float(cuts[position - 1]),
                    upper_bound=None
                    if is_missing or position == len(cuts)
                    else float(cuts[position]),
                    is_missing_bin=is_missing,
                    points=points,
                    training_share=float(shares[column]),
                    training_churn_rate=float(churn[in_bin].mean()) if in_bin.any() else None,
                )
            )
    dates = training.as_of_date
    return FittedModel(
        model_name=model_name,
        model_version=version,
        training_observations=len(training),
        training_churned=int(training.is_churned.sum()),
        first_training_date=dates.min(),
        last_training_date=dates.max(),
        penalty_c=penalty_c,
        intercept=intercept,
        bins=bins,
    )


def model_specs(observations: Observations, features: Sequence[str]) -> dict[str, list[str]]:
    """The full model on `features`, and the comparisons whose features exist."""
    specs = {FULL_MODEL: list(features)}
    for name, needed in COMPARISON_MODELS.items():
        if all(feature in observations.features for feature in needed):
            specs[name] = list(needed)
    return specs


def training_fingerprint(
    model_name: str,
    names: Sequence[str],
    training: Observations,
    settings: Settings,
    penalty_c: float | None,
) -> str:
    """A digest of everything a version is trained from: the model, its features, the
    settings, the penalty it was given (None: it chooses one) and every training row."""
    digest = hashlib.sha256()
    digest.update(repr((SCORECARD_FORMAT, model_name, list(names), settings, penalty_c)).encode())
    order = np.lexsort((training.account_id, training.as_of_date))
    digest.update("\x1f".join(training.account_id[order].tolist()).encode())
    digest.update(training.as_of_date[order].astype("datetime64[D]").tobytes())
    digest.update(training.is_churned[order].tobytes())
    for name in names:
        values = training.features.get(name)
        if values is not None:
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(values[order]).tobytes())
    return digest.hexdigest()


def models_from_table(scorecard: pa.Table) -> dict[tuple[str, np.datetime64, str], FittedModel]:
    """The versions of a scorecard table, by model name, version and training fingerprint."""
    found: dict[tuple[str, np.datetime64, str], FittedModel] = {}
    rows = sorted(
        scorecard.to_pylist(),
        key=lambda row: (row["feature_name"] != INTERCEPT, row["feature_name"], row["bin_number"]),
    )
    for row in rows:
        version = np.datetime64(row["model_version"], "D")
        key = (row["model_name"], version, row["training_fingerprint"] or "")
        if row["feature_name"] == INTERCEPT:
            found[key] = FittedModel(
                model_name=row["model_name"],
                model_version=version,
                training_observations=row["training_observations"],
                training_churned=row["training_churned"],
                first_training_date=np.datetime64(row["first_training_date"], "D"),
                last_training_date=np.datetime64(row["last_training_date"], "D"),
                penalty_c=row["penalty_c"],
                intercept=row["points"],
                training_fingerprint=key[2],
            )
        elif key in found:
            found[key].bins.append(
                Bin(
                    feature_name=row["feature_name"],
                    bin_number=row["bin_number"],
                    lower_bound=row["lower_bound"],
                    upper_bound=row["upper_bound"],
                    is_missing_bin=row["is_missing_bin"],
                    points=row["points"],
                    training_share=row["training_share"],
                    training_churn_rate=row["training_churn_rate"],
                )
            )
    return found


def fit_walk_forward(
    observations: Observations,
    settings: Settings,
    features: Sequence[str] | None = None,
    version_dates: DateArray | None = None,
    previous: pa.Table | None = None,
) -> list[FittedModel]:
    """A version per date of `version_dates` (the month-ends scored; default: the
    observations' as-of dates) with enough churned observations known by then, per model.

    A version chooses its penalty anew when its training churns have grown by at least
    REPENALISE_GROWTH since the version that last chose; otherwise it keeps that choice
    (made on less data, so still out of time).

    A version of `previous` (the last build's scorecard) trained from exactly the same rows
    and settings is reused as it is: a daily build trains only the versions whose training
    data changed, usually none or the new month-end's.
    """
    reusable = models_from_table(previous) if previous is not None else {}
    names = list(features) if features is not None else list(observations.features)
    horizon = np.timedelta64(settings.horizon_days, "D")
    fitted: list[FittedModel] = []
    chosen: dict[str, tuple[int, float]] = {}
    dates = observations.as_of_date if version_dates is None else version_dates
    for version in np.unique(dates.astype("datetime64[D]")):
        known = observations.as_of_date + horizon <= version
        churned = int(observations.is_churned[known].sum())
        if churned < settings.min_churned:
            continue
        training = observations.subset(known)
        for model_name, spec in model_specs(observations, names).items():
            last = chosen.get(model_name)
            keep = last is not None and churned < last[0] * REPENALISE_GROWTH
            given = last[1] if keep and last is not None else None
            fingerprint = training_fingerprint(model_name, spec, training, settings, given)
            model = reusable.get((model_name, version, fingerprint))
            if model is not None:
                # bins in the order a fresh fit gives them: by feature as in the spec
                position = {name: index for index, name in enumerate(spec)}
                model.bins.sort(key=lambda b: (position.get(b.feature_name, 0), b.bin_number))
            else:
                model = fit_version(model_name, version, training, spec, settings, given)
            if model is None:
                continue
            model.training_fingerprint = fingerprint
            if not keep:
                chosen[model_name] = (churned, model.penalty_c)
            fitted.append(model)
    return fitted


SCORECARD_SCHEMA = pa.schema(
    [
        ("model_name", pa.string()),
        ("model_version", pa.date32()),
        ("feature_name", pa.string()),
        ("bin_number", pa.int32()),
        ("lower_bound", pa.float64()),
        ("upper_bound", pa.float64()),
        ("is_missing_bin", pa.bool_()),
        ("points", pa.float64()),
        ("training_share", pa.float64()),
        ("training_churn_rate", pa.float64()),
        ("training_observations", pa.int64()),
        ("training_churned", pa.int64()),
        ("first_training_date", pa.date32()),
        ("last_training_date", pa.date32()),
        ("penalty_c", pa.float64()),
        ("training_fingerprint", pa.string()),
    ]
)


def scorecard_table(models: Sequence[FittedModel]) -> pa.Table:
    """The scorecard: per model version an intercept row, then a row per bin."""
    rows: list[dict[str, object]] = []
    for model in models:
        common = {
            "model_name": model.model_name,
            "model_version": model.model_version.astype("datetime64[D]").item(),
            "training_observations": model.training_observations,
            "training_churned": model.training_churned,
            "first_training_date": model.first_training_date.astype("datetime64[D]").item(),
            "last_training_date": model.last_training_date.astype("datetime64[D]").item(),
            "penalty_c": model.penalty_c,
            "training_fingerprint": model.training_fingerprint,
        }
        rows.append(
            {
                **common,
                "feature_name": INTERCEPT,
                "bin_number": 0,
                "lower_bound": None,
                "upper_bound": None,
                "is_missing_bin": False,
                "points": model.intercept,
                "training_share": 1.0,
                "training_churn_rate": model.training_churned / model.training_observations,
            }
        )
        for item in model.bins:
            rows.append(
                {
                    **common,
                    "feature_name": item.feature_name,
                    "bin_number": item.bin_number,
                    "lower_bound": item.lower_bound,
                    "upper_bound": item.upper_bound,
                    "is_missing_bin": item.is_missing_bin,
                    "points": item.points,
                    "training_share": item.training_share,
                    "training_churn_rate": item.training_churn_rate,
                }
            )
    return pa.Table.from_pylist(rows, schema=SCORECARD_SCHEMA)


def predict(scorecard: pa.Table, observations: Observations, model_name: str) -> FloatArray:
    """Each observation's probability under the version in force on its as-of date.

    The version in force is the latest one dated on or before the day; no version, NaN. A
    feature the version has no bins for adds nothing; a value in a bin no training row fell
    in adds 0 points (it is stored so).
    """
    rows = scorecard.filter(
        pa.compute.equal(scorecard.column("model_name"), pa.scalar(model_name))
    ).to_pylist()
    versions = sorted({row["model_version"] for row in rows})
    result = np.full(len(observations), np.nan)
    if not versions:
        return result
    version_dates = np.asarray(versions, dtype="datetime64[D]")
    position = np.searchsorted(version_dates, observations.as_of_date, side="right") - 1
    for index, version in enumerate(versions):
        mask = position == index
        if not mask.any():
            continue
        logit = np.zeros(int(mask.sum()))
        for row in (r for r in rows if r["model_version"] == version):
            if row["feature_name"] == INTERCEPT:
                logit += row["points"]
                continue
            values = observations.features[row["feature_name"]][mask]
            if row["is_missing_bin"]:
                hit = np.isnan(values)
            else:
                hit = ~np.isnan(values)
                if row["lower_bound"] is not None:
                    hit &= values >= row["lower_bound"]
                if row["upper_bound"] is not None:
                    hit &= values < row["upper_bound"]
            logit += np.where(hit, row["points"], 0.0)
        result[mask] = 1.0 / (1.0 + np.exp(-logit))
    return result
