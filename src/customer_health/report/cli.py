"""Command line of the portfolio report."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
from rich.console import Console

from customer_health import settings
from customer_health.report.actions import read_playbook
from customer_health.report.data import (
    ReportSettings,
    account_events,
    read_histories,
    read_portfolio,
)
from customer_health.report.render import (
    NotOurReportError,
    build_directory,
    check_report_output,
    render_report,
    replace_directory,
)

DESCRIPTION = """\
Build a static HTML report of the served health marts: the portfolio page (band mix over
time, score distribution, biggest 30-day movers, renewals at risk, the last week's alerts,
the back-test, the churn model against the score and its calibration, the accounts most
likely to churn), an account list, the CSM queue (each CSM's open actions of the playbook,
most urgent first), the plays (each play's actions, and accounts where the CSM ran it
beside those where nobody did) and a page per account (score history, sub-score
contributions, the decision tree's outcome and path, its open and recently closed actions).
Open <out>/index.html in a browser; no server is needed. The database is opened read-only.
"""


def parse_args(argv: Sequence[str], prog: str = "customer-health report") -> argparse.Namespace:
    config = settings.load()
    defaults = ReportSettings()
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=config.serving_db,
        help="the serving database (default: $HEALTH_SERVING_DIR/customer_health.duckdb: "
        "%(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=config.report_dir,
        help="the report's directory, replaced whole: missing, empty or a report written "
        "before (default: $HEALTH_SERVING_DIR/report: %(default)s)",
    )
    parser.add_argument(
        "--movers", type=int, default=defaults.movers, help="fallers and risers shown"
    )
    parser.add_argument(
        "--renewal-days",
        type=int,
        default=defaults.renewal_days,
        help="renewal window of the at-risk list",
    )
    parser.add_argument(
        "--risk-bands",
        nargs="+",
        default=list(defaults.risk_bands),
        help="bands that put a renewal on the at-risk list",
    )
    parser.add_argument(
        "--alert-days", type=int, default=defaults.alert_days, help="days of alerts shown"
    )
    parser.add_argument(
        "--closed-action-days",
        type=int,
        default=defaults.closed_action_days,
        help="days of closed CSM actions shown on an account page",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, prog: str = "customer-health report") -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv, prog)
    console = Console(stderr=True)
    if not args.db.is_file():
        console.print(
            f"[red]No serving database at {args.db}: run `make run` "
            "(or `customer-health publish`) first."
        )
        return 2
    out = args.out
    try:
        # Before the database is read: a path the report did not write is never replaced.
        check_report_output(out)
    except NotOurReportError as refused:
        console.print(f"Not written: {refused}", style="red", markup=False)
        return 1
    report_settings = ReportSettings(
        movers=args.movers,
        renewal_days=args.renewal_days,
        risk_bands=tuple(args.risk_bands),
        alert_days=args.alert_days,
        closed_action_days=args.closed_action_days,
    )
    started = time.perf_counter()
    with duckdb.connect(str(args.db), read_only=True) as con:
        alerts, transitions = account_events(con)
        portfolio = read_portfolio(con, report_settings, alerts)
        histories = read_histories(con, portfolio.categories)
        playbook = read_playbook(con, report_settings.closed_action_days)
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC)
    built = build_directory(out, stamp)
    pages = render_report(
        built,
        portfolio,
        histories,
        alerts,
        transitions,
        stamp.replace(tzinfo=None),
        playbook,
    )
    try:
        replace_directory(out, built)
    except BaseException as error:
        shutil.rmtree(built, ignore_errors=True)
        if isinstance(error, NotOurReportError):
            console.print(f"Not written: {error}", style="red", markup=False)
            return 1
        raise
    console.print(
        f"Report of {len(portfolio.accounts):,} accounts as of {portfolio.as_of_date}: "
        f"{pages:,} pages in {time.perf_counter() - started:.1f} s, open {out / 'index.html'}"
    )
    return 0
