"""Write the report: the portfolio page, the account list and a page per account."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import plotly.offline

from customer_health.decision_tree.dsl import DecisionDag
from customer_health.report import charts
from customer_health.report.actions import (
    Playbook,
    group_by_account,
    play_sections,
)
from customer_health.report.data import (
    AccountHistory,
    Category,
    HealthFlag,
    Portfolio,
    UnevaluatedFlag,
)
from customer_health.serving.links import swap_symlink

ASSETS = Path(__file__).parent / "assets"
# Written first into every report build: only directories holding it are ever deleted.
REPORT_MARKER = ".customer-health-report"
# Shown for a missing number (an en dash).
MISSING = "\u2013"


class NotOurReportError(FileExistsError):
    """The report's output path holds something the report did not write."""


@dataclass(frozen=True)
class PathStep:
    """One answered question of the decision tree path."""

    question_id: str
    question: str
    answer: str


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("customer_health.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["score"] = lambda value: MISSING if value is None else f"{value:.1f}"
    env.filters["signed"] = lambda value: MISSING if value is None else f"{value:+.1f}"
    env.filters["pct"] = lambda value: MISSING if value is None else f"{value:.1%}"
    env.filters["money"] = lambda value: MISSING if value is None else f"${value:,.0f}"
    env.filters["number"] = lambda value: MISSING if value is None else f"{value:,}"
    env.filters["auc"] = lambda value: MISSING if value is None else f"{value:.3f}"
    env.filters["lift"] = lambda value: MISSING if value is None else f"{value:.2f}"
    env.filters["brier"] = lambda value: MISSING if value is None else f"{value:.4f}"
    env.filters["probability"] = probability
    # A difference of two rates in percentage points.
    env.filters["points"] = lambda value: MISSING if value is None else f"{value * 100:+.1f}"
    return env


def account_slugs(account_ids: Sequence[str]) -> dict[str, str]:
    """A file name per account id: safe characters, unique even when ids differ only in
    characters that are replaced."""
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for account_id in account_ids:
        slug = re.sub(r"[^A-Za-z0-9_.-]", "_", account_id) or "account"
        if slug in used or slug != account_id:
            slug = f"{slug}-{hashlib.sha1(account_id.encode()).hexdigest()[:8]}"
        used.add(slug)
        slugs[account_id] = slug
    return slugs


def tree_path(tree: DecisionDag | None, decision_path: str | None) -> list[PathStep]:
    """`Q1:no>Q3:yes` as the questions' text and answers (ids alone without the tree)."""
    steps = []
    for part in (decision_path or "").split(">"):
        if not part:
            continue
        question_id, _, answer = part.partition(":")
        question = tree.questions.get(question_id) if tree else None
        steps.append(PathStep(question_id, question.text if question else "", answer))
    return steps


def probability(value: float | None) -> str:
    """A probability as a percentage to one place; one that rounds to 0.0% without being 0
    shows as below 0.1%."""
    if value is None:
        return MISSING
    if 0 < value < 0.0005:
        return "<0.1%"
    return f"{value:.1%}"


# Churn risk levels that call for immediate action.
URGENT_CHURN_RISK_LEVELS = ("high", "critical")


@dataclass(frozen=True)
class Dimension:
    """One health category of an account review: its sub-score, the weight it carries in
    the overall score and the points it adds, and the flags of the category."""

    category: Category
    score: float | None
    weight: float | None
    contribution: float | None
    is_weakest: bool
    red_flags: tuple[HealthFlag, ...] = ()
    green_lights: tuple[HealthFlag, ...] = ()
    not_evaluated: tuple[UnevaluatedFlag, ...] = ()


@dataclass(frozen=True)
class ImmediateAction:
    """Whether the account needs action now (None: the release cannot tell), and why."""

    required: bool | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class AccountReview:
    """The account page's review: the health dimensions with their flags, the flag counts
    and whether action is needed now. `has_flags` is False for a release built before the
    red flags and green lights."""

    dimensions: tuple[Dimension, ...]
    has_flags: bool
    has_weights: bool
    red_flag_count: int | None
    green_light_count: int | None
    new_red_flag_count: int | None
    action: ImmediateAction


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def immediate_action(
    account: Mapping[str, Any], flags: Sequence[HealthFlag] | None
) -> ImmediateAction:
    """Action is needed now when a high-severity red flag holds or the churn risk level is
    high or critical; the reasons name them (or, without action, what was checked)."""
    urgent: list[str] = []
    checked: list[str] = []
    if flags is not None:
        high = [flag.flag_label for flag in flags if flag.is_red and flag.severity == "high"]
        if high:
            urgent.append(f"high-severity red flag: {', '.join(high)}")
        else:
            checked.append("no high-severity red flag")
    elif "max_red_flag_severity" in account:
        if account["max_red_flag_severity"] == "high":
            urgent.append("high-severity red flag")
        else:
            checked.append("no high-severity red flag")
    if "churn_risk_level" in account:
        level = account["churn_risk_level"]
        chance = account.get("churn_probability_90d")
        odds = "" if chance is None else f" ({probability(float(chance))} in 90 days)"
        if level in URGENT_CHURN_RISK_LEVELS:
            urgent.append(f"churn risk level {level}{odds}")
        elif level is None:
            checked.append("no churn probability yet")
        else:
            checked.append(f"churn risk level {level}{odds}")
    if urgent:
        return ImmediateAction(True, tuple(urgent))
    if not checked:
        return ImmediateAction(None, ("no red flags nor churn risk in this release",))
    return ImmediateAction(False, tuple(checked))


def account_review(
    account: Mapping[str, Any],
    categories: Sequence[Category],
    flags: Sequence[HealthFlag] | None,
    weights: Mapping[str, float | None] | None,
    unevaluated: Sequence[UnevaluatedFlag] | None,
) -> AccountReview:
    """An account's review from its row of dim_account_health, the flags holding on its
    last scored day (None: none in the release), its categories' effective weights and
    the flags the deployment cannot evaluate. Flags of a category not configured close the
    dimensions under their category id."""
    held = list(flags or [])
    missing = list(unevaluated or [])
    known = {category.category_id for category in categories}
    flag_categories = [flag.category_id or "other" for flag in held]
    flag_categories += [flag.category_id or "other" for flag in missing]
    others = [
        Category(category_id, category_id)
        for category_id in dict.fromkeys(flag_categories)
        if category_id not in known
    ]
    dimensions = []
    for category in [*categories, *others]:
        category_id = category.category_id
        in_category = [f for f in held if (f.category_id or "other") == category_id]
        dimensions.append(
            Dimension(
                category=category,
                score=account.get(f"{category_id}_score"),
                weight=(weights or {}).get(category_id),
                contribution=account.get(f"{category_id}_contribution"),
                is_weakest=account.get("weakest_category") == category_id,
                red_flags=tuple(f for f in in_category if f.is_red),
                green_lights=tuple(f for f in in_category if not f.is_red),
                not_evaluated=tuple(
                    f for f in missing if (f.category_id or "other") == category_id
                ),
            )
        )
    if flags is not None:
        red: int | None = sum(1 for flag in held if flag.is_red)
        green: int | None = len(held) - (red or 0)
        new: int | None = sum(1 for flag in held if flag.is_red and flag.is_new)
    else:
        red = _int(account.get("red_flag_count"))
        green = _int(account.get("green_light_count"))
        new = _int(account.get("new_red_flag_count"))
    return AccountReview(
        dimensions=tuple(dimensions),
        has_flags=flags is not None,
        has_weights=bool(weights),
        red_flag_count=red,
        green_light_count=green,
        new_red_flag_count=new,
        action=immediate_action(account, flags),
    )


def write_page(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")


def copy_assets(out: Path) -> None:
    assets = out / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "plotly.min.js").write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")
    (assets / "plotly-template.js").write_text(charts.template_script(), encoding="utf-8")
    shutil.copyfile(ASSETS / "report.css", assets / "report.css")


def render_report(
    out: Path,
    portfolio: Portfolio,
    histories: Mapping[str, AccountHistory],
    alerts: Mapping[str, list[dict[str, Any]]],
    transitions: Mapping[str, list[dict[str, Any]]],
    generated_at: dt.datetime,
    playbook: Playbook | None = None,
) -> int:
    """Write every page under `out` (which must not exist yet, and is deleted again if the
    writing fails); returns the page count. Without a `playbook` (or its marts), the queue
    and plays pages and the account pages' actions say the release has none."""
    out.mkdir(parents=True)
    try:
        (out / REPORT_MARKER).write_text(
            "A build of the customer-health report: replaced and deleted by the next one.\n",
            encoding="utf-8",
        )
        return write_pages(
            out, portfolio, histories, alerts, transitions, generated_at, playbook or Playbook()
        )
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise


def write_pages(
    out: Path,
    portfolio: Portfolio,
    histories: Mapping[str, AccountHistory],
    alerts: Mapping[str, list[dict[str, Any]]],
    transitions: Mapping[str, list[dict[str, Any]]],
    generated_at: dt.datetime,
    playbook: Playbook,
) -> int:
    env = environment()
    copy_assets(out)
    slugs = account_slugs([account["account_id"] for account in portfolio.accounts])
    queue = playbook.queue
    by_csm = queue.by_csm() if queue is not None else []
    sections = play_sections(
        playbook.plays, playbook.effect, {band.band_id: band.rank for band in portfolio.bands}
    )
    common = {
        "as_of_date": portfolio.as_of_date,
        "release": portfolio.release,
        "bands": portfolio.bands,
        "generated_at": generated_at,
        "slugs": slugs,
        "category_labels": {c.category_id: c.label for c in portfolio.categories},
        # anchors of the queue page's CSMs and the plays page's plays
        "csm_slugs": account_slugs([owner for owner, _ in by_csm]),
        "play_slugs": account_slugs([section.play_id for section in sections]),
    }
    scored = [
        float(account["health_score"])
        for account in portfolio.accounts
        if account["is_active"] and account["health_score"] is not None
    ]
    band_counts = {band.band_id: 0 for band in portfolio.bands}
    for account in portfolio.accounts:
        if account["is_active"] and account["health_band"] in band_counts:
            band_counts[account["health_band"]] += 1
    figures = {
        "band_mix": charts.to_json(charts.band_mix(portfolio.band_mix, portfolio.bands)),
        "score_distribution": charts.to_json(charts.score_distribution(scored, portfolio.bands)),
        "movers": charts.to_json(
            charts.movers(portfolio.fallers, portfolio.risers, portfolio.bands)
        ),
    }
    if portfolio.backtest_bands:
        figures["backtest"] = charts.to_json(charts.backtest_churn(portfolio.backtest_bands))
    churn_model = portfolio.churn_model
    if churn_model is not None and churn_model.calibration:
        figures["churn_calibration"] = charts.to_json(
            charts.churn_calibration(churn_model.calibration)
        )
    write_page(
        out / "index.html",
        env.get_template("portfolio.html.j2").render(
            **common,
            root="",
            portfolio=portfolio,
            band_counts=band_counts,
            active_count=sum(1 for account in portfolio.accounts if account["is_active"]),
            figures=figures,
        ),
    )
    write_page(
        out / "accounts" / "index.html",
        env.get_template("accounts.html.j2").render(
            **common, root="../", accounts=portfolio.accounts
        ),
    )
    write_page(
        out / "queue.html",
        env.get_template("queue.html.j2").render(
            **common,
            root="",
            queue=queue,
            by_csm=by_csm,
            counts=queue.counts() if queue is not None else [],
        ),
    )
    write_page(
        out / "plays.html",
        env.get_template("plays.html.j2").render(
            **common, root="", playbook=playbook, sections=sections
        ),
    )
    open_actions = group_by_account(queue.open_actions) if queue is not None else {}
    closed_actions = group_by_account(queue.recently_closed) if queue is not None else {}
    account_template = env.get_template("account.html.j2")
    account_flags = portfolio.account_flags
    for account in portfolio.accounts:
        account_id = account["account_id"]
        review = account_review(
            account,
            portfolio.categories,
            None if account_flags is None else account_flags.get(account_id, []),
            portfolio.category_weights.get(account_id),
            portfolio.unevaluated_flags,
        )
        history = histories.get(account_id, AccountHistory())
        account_figures = {
            "score_history": charts.to_json(charts.score_history(history, portfolio.bands)),
            "contributions": charts.to_json(charts.contributions(history, portfolio.categories)),
        }
        write_page(
            out / "accounts" / f"{slugs[account_id]}.html",
            account_template.render(
                **common,
                root="../",
                account=account,
                band=portfolio.band(account["health_band"]),
                categories=portfolio.categories,
                review=review,
                path=tree_path(portfolio.tree, account["tree_decision_path"]),
                alerts=alerts.get(account_id, [])[:25],
                transitions=transitions.get(account_id, [])[:25],
                queue=queue,
                open_actions=open_actions.get(account_id, []),
                closed_actions=closed_actions.get(account_id, [])[:25],
                closed_count=len(closed_actions.get(account_id, [])),
                figures=account_figures,
            ),
        )
    return len(portfolio.accounts) + 4


def build_directory(out: Path, stamp: dt.datetime) -> Path:
    """Where a report for `out` is built: a hidden sibling named by the build's time."""
    return out.with_name(f".{out.name}-{stamp:%Y%m%dT%H%M%S%f}")


def is_build_name(out: Path, name: str) -> bool:
    """Whether `name` (a link target or a file name) is that of a sibling build of `out`."""
    return re.fullmatch(rf"\.{re.escape(out.name)}-\d{{8}}T\d{{12}}", name) is not None


def is_report_build(out: Path, path: Path) -> bool:
    """A build directory of the report at `out`: a sibling named as `build_directory` names
    it, holding the report's marker."""
    return (
        is_build_name(out, path.name)
        and path.parent.resolve() == out.parent.resolve()
        and path.is_dir()
        and not path.is_symlink()
        and (path / REPORT_MARKER).is_file()
    )


def check_report_output(out: Path) -> None:
    """Raise NotOurReportError unless `out` is free for the report: missing, an empty
    directory, or a link to one of its builds."""
    if out.is_symlink():
        target = os.readlink(out)
        if is_build_name(out, target):
            return
        raise NotOurReportError(
            f"{out} is a link to {target}, which the report did not write: move the link "
            "away or choose another --out"
        )
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    kind = "directory" if out.is_dir() else "file"
    raise NotOurReportError(
        f"{out} is a {kind} the report did not write: move it away or choose another --out"
    )


def replace_directory(link: Path, built: Path) -> None:
    """Make `link` a symlink to `built` (a build of the report) in one rename, then delete the
    build it pointed to before. NotOurReportError, with nothing changed, when `link` is not
    free for the report (`check_report_output`); a previous target that is not a build of
    the report is left in place."""
    if not is_report_build(link, built):
        raise ValueError(f"{built} is not a build of the report at {link}")
    check_report_output(link)
    if link.is_dir() and not link.is_symlink():
        link.rmdir()
    previous = swap_symlink(link, built.name)
    if previous is not None and previous != built.resolve() and is_report_build(link, previous):
        shutil.rmtree(previous)
