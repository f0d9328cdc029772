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
from customer_health.report.data import AccountHistory, Portfolio
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
) -> int:
    """Write every page under `out` (which must not exist yet, and is deleted again if the
    writing fails); returns the page count."""
    out.mkdir(parents=True)
    try:
        (out / REPORT_MARKER).write_text(
            "A build of the customer-health report: replaced and deleted by the next one.\n",
            encoding="utf-8",
        )
        return write_pages(out, portfolio, histories, alerts, transitions, generated_at)
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
) -> int:
    env = environment()
    copy_assets(out)
    slugs = account_slugs([account["account_id"] for account in portfolio.accounts])
    common = {
        "as_of_date": portfolio.as_of_date,
        "release": portfolio.release,
        "bands": portfolio.bands,
        "generated_at": generated_at,
        "slugs": slugs,
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
    account_template = env.get_template("account.html.j2")
    for account in portfolio.accounts:
        account_id = account["account_id"]
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
                path=tree_path(portfolio.tree, account["tree_decision_path"]),
                alerts=alerts.get(account_id, [])[:25],
                transitions=transitions.get(account_id, [])[:25],
                figures=account_figures,
            ),
        )
    return len(portfolio.accounts) + 2


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
