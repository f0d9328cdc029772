"""Build, test, publish: the serving files, the docs site, and the report in a browser.

`make run` runs twice on generated data while a BI-style reader holds the serving database
(and a Parquet file) open read-only: both runs succeed and the reader keeps its release.
A failing data test leaves every serving file byte-for-byte unchanged. The report is then
opened in headless Chromium (Debian's package): no console errors, every chart drawn, links
between the portfolio and the account pages working; screenshots are kept as artifacts.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import urlopen

import duckdb
import pyarrow.parquet as pq
import pytest
from harness import PROJECT_DIR, HealthgenExtract, first_raw_row, raw_row_counts, write_rows

from customer_health.dbt_artifacts import ancestors

pytestmark = pytest.mark.functional

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", PROJECT_DIR / "test-artifacts"))


@dataclass
class Served:
    env: dict[str, str]
    raw: Path
    serving: Path
    build_db: Path
    target: Path
    first_release: str
    second_release: str
    reader_saw: tuple[str, int]
    reader_count_after: int


def make_run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(PROJECT_DIR), "run"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def release_id(database: Path) -> str:
    with duckdb.connect(str(database), read_only=True) as con:
        row = con.execute("select release_id from main.release_info").fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, healthgen_extract: HealthgenExtract) -> Served:
    tmp = tmp_path_factory.mktemp("serving")
    raw = tmp / "raw"
    shutil.copytree(healthgen_extract(accounts=40, days=150, seed=5), raw)
    serving = tmp / "serving"
    build_db = tmp / "build" / "customer_health.duckdb"
    target = tmp / "target"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "HEALTH_RAW_DIR": str(raw),
        "HEALTH_DB_PATH": str(build_db),
        "HEALTH_SERVING_DIR": str(serving),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(tmp / "logs"),
    }
    first = make_run(env)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    database = serving / "customer_health.duckdb"
    first_release = release_id(database)

    # A BI tool's connection, open read-only through the whole second run, and a file reader.
    reader = duckdb.connect(str(database), read_only=True)
    parquet_reader = pq.ParquetFile(serving / "parquet" / "marts" / "dim_account_health.parquet")
    try:
        saw = reader.execute(
            "select (select release_id from main.release_info), count(*) "
            "from marts.dim_account_health"
        ).fetchone()
        assert saw is not None
        second = make_run(env)
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
        after = reader.execute(
            "select (select release_id from main.release_info), count(*) "
            "from marts.dim_account_health"
        ).fetchone()
        assert parquet_reader.read().num_rows == saw[1]
    finally:
        reader.close()
    assert after is not None
    assert after[0] == saw[0] == first_release, "the reader keeps the release it opened"
    return Served(
        env=env,
        raw=raw,
        serving=serving,
        build_db=build_db,
        target=target,
        first_release=first_release,
        second_release=release_id(database),
        reader_saw=(str(saw[0]), int(saw[1])),
        reader_count_after=int(after[1]),
    )


def test_make_run_publishes_while_a_reader_holds_the_serving_file(served: Served) -> None:
    assert served.second_release != served.first_release
    assert served.reader_count_after == served.reader_saw[1]
    record = json.loads((served.serving / "release.json").read_text())
    assert record["release_id"] == served.second_release
    link = served.serving / "parquet"
    assert link.is_symlink()
    assert served.second_release in os.readlink(link)
    assert (served.serving / "report" / "index.html").is_file()


def test_the_serving_database_and_parquet_hold_the_tested_marts(served: Served) -> None:
    record = json.loads((served.serving / "release.json").read_text())
    tables = record["tables"]
    for name in ("marts.fct_account_health_daily", "marts.sync_crm_account_health"):
        assert tables[name] > 0, name
    with (
        duckdb.connect(str(served.serving / "customer_health.duckdb"), read_only=True) as con,
        duckdb.connect(str(served.build_db), read_only=True) as build,
    ):
        for name, rows in tables.items():
            schema, table = name.split(".")
            served_rows = con.execute(f"select count(*) from {name}").fetchone()
            built_rows = build.execute(f"select count(*) from {name}").fetchone()
            parquet = served.serving / "parquet" / schema / f"{table}.parquet"
            assert served_rows == built_rows == (rows,), name
            assert pq.ParquetFile(parquet).metadata.num_rows == rows, name
        # Only the served schemas (and the tree definition) are in the file, documented.
        schemas = {
            row[0] for row in con.execute("select schema_name from duckdb_schemas()").fetchall()
        }
        assert "staging" not in schemas
        assert "quarantine" not in schemas
        comment = con.execute(
            "select comment from duckdb_tables() "
            "where schema_name = 'marts' and table_name = 'dim_account_health'"
        ).fetchone()
        assert comment is not None
        assert comment[0]
        same = con.execute(
            """
            select count(*) from marts.dim_account_health
            """
        ).fetchone()
        assert same == build.execute("select count(*) from marts.dim_account_health").fetchone()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def serving_state(serving: Path) -> dict[str, object]:
    """The serving files as a reader would find them: bytes, file identity, links."""
    database = serving / "customer_health.duckdb"
    return {
        "database": digest(database),
        "stat": (database.stat().st_ino, database.stat().st_mtime_ns),
        "release": (serving / "release.json").read_text(),
        "parquet": os.readlink(serving / "parquet"),
        "report": os.readlink(serving / "report"),
    }


def test_a_failing_data_test_leaves_the_serving_files_unchanged(served: Served) -> None:
    before = serving_state(served.serving)
    # Tickets without an id: far above the quarantine share at which the build fails.
    tickets = raw_row_counts(served.raw)["tickets"]
    row = first_raw_row(served.raw, "tickets")
    bad = served.raw / "tickets" / "part-bad-00001.parquet"
    write_rows(bad, [{**row, "ticket_id": None}] * max(tickets // 4, 20))
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "customer_health",
                "publish",
                "--project-dir",
                str(PROJECT_DIR),
            ],
            env=served.env,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        bad.unlink()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Not published" in result.stderr
    assert "quarantined_share_below_error_threshold" in result.stderr
    after = serving_state(served.serving)
    assert after == before
    assert not list(served.serving.glob(".*.tmp"))


def test_docs_site_shows_lineage_from_the_sources_to_the_exposures(served: Served) -> None:
    docs_target = served.target.parent / "docs"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "docs",
            "generate",
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(docs_target),
        ],
        env={**served.env, "DBT_PROFILES_DIR": str(PROJECT_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert (docs_target / "index.html").is_file()
    catalog = json.loads((docs_target / "catalog.json").read_text())
    dim = catalog["nodes"]["model.customer_health.dim_account_health"]
    assert "health_score" in dim["columns"]
    manifest = json.loads((docs_target / "manifest.json").read_text())
    exposures = manifest["exposures"]
    assert set(exposures) == {
        "exposure.customer_health.customer_health_dashboard",
        "exposure.customer_health.portfolio_report",
        "exposure.customer_health.hubspot_crm_sync",
        "exposure.customer_health.hubspot_crm_tasks",
    }
    for exposure in exposures.values():
        assert exposure["owner"]["email"], exposure["name"]
        assert exposure["depends_on"]["nodes"], exposure["name"]
    lineage = ancestors(manifest, "exposure.customer_health.hubspot_crm_sync")
    assert "model.customer_health.sync_crm_account_health" in lineage
    sources = {node.split(".")[-1] for node in lineage if node.startswith("source.")}
    for table in ("accounts", "user_activity_daily", "tickets", "survey_responses", "invoices"):
        assert table in sources, table
    tasks = ancestors(manifest, "exposure.customer_health.hubspot_crm_tasks")
    assert "model.customer_health.fct_csm_actions" in tasks
    assert "source.customer_health.crm.csm_activities" in tasks


@pytest.fixture(scope="module")
def report_url(served: Served) -> Iterator[str]:
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served.serving / "report"))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def band_colors(served: Served) -> dict[str, str]:
    with duckdb.connect(str(served.serving / "customer_health.duckdb"), read_only=True) as con:
        rows = con.execute("select band_label, band_color from config.health_bands").fetchall()
    return {str(label): str(color) for label, color in rows}


def test_the_report_works_in_a_real_browser(served: Served, report_url: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail("The report's browser test needs Debian's Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on(
            "console",
            lambda message: (
                problems.append(f"{message.type}: {message.text}")
                if message.type in {"error", "warning"}
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

        def charts_drawn() -> dict[str, int]:
            page.wait_for_function("typeof Plotly !== 'undefined'")
            return dict(
                page.evaluate(
                    """() => Object.fromEntries([...document.querySelectorAll('.chart')].map(
                        div => [div.dataset.chart,
                            div.querySelector('.main-svg') && div.data
                                ? div.data.length : 0]))"""
                )
            )

        page.goto(report_url + "index.html")
        drawn = charts_drawn()
        assert set(drawn) == {"band_mix", "score_distribution", "movers", "backtest"}
        assert all(traces > 0 for traces in drawn.values()), drawn
        colors = band_colors(served)
        mix = page.evaluate(
            "() => document.getElementById('chart-band_mix').data.map(t => [t.name, t.fillcolor])"
        )
        assert mix
        for name, fill in mix:
            assert colors[name] == fill, name
        page.screenshot(path=str(ARTIFACTS / "report-portfolio.png"), full_page=True)

        # Every local link of the portfolio and the account list answers.
        links: set[str] = set()
        for listing in ("index.html", "accounts/index.html"):
            page.goto(report_url + listing)
            base = page.url
            for href in page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            ):
                url = urljoin(base, href)
                if urlparse(url).netloc == urlparse(report_url).netloc:
                    links.add(url.split("#")[0])
        account_links = [
            url for url in links if "/accounts/" in url and not url.endswith("index.html")
        ]
        with duckdb.connect(str(served.serving / "customer_health.duckdb"), read_only=True) as con:
            accounts = con.execute("select count(*) from marts.dim_account_health").fetchone()
        assert accounts is not None
        assert len(account_links) == accounts[0] > 0
        for url in sorted(links):
            with urlopen(url) as answer:
                assert answer.status == 200, url

        # From a mover on the portfolio to its account page and back.
        page.goto(report_url + "index.html")
        mover = page.locator("#movers ~ .grid table a").first
        name = mover.inner_text()
        mover.click()
        page.wait_for_load_state()
        assert "/accounts/" in page.url
        assert name in page.locator("h1").inner_text()
        drawn = charts_drawn()
        assert set(drawn) == {"score_history", "contributions"}
        assert all(traces > 0 for traces in drawn.values()), drawn
        assert page.locator("ol.path li").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "report-account.png"), full_page=True)
        page.locator("nav a", has_text="Portfolio").click()
        page.wait_for_load_state()
        assert page.url.endswith("/index.html")
        assert "/accounts/" not in page.url
        browser.close()
    assert problems == []
