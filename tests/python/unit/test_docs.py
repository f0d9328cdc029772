"""The README and the manual under docs/: the generated contract page is current and
complete, every page is reachable from the README, every link resolves, and every command
and make target they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from customer_health import contract_docs
from customer_health.cli import COMMANDS
from customer_health.settings import ENV_VARS

PROJECT_DIR = Path(__file__).resolve().parents[3]
README = PROJECT_DIR / "README.md"
DOCS = PROJECT_DIR / "docs"
CONTRACT_PAGE = DOCS / "raw-data-contract.md"
MAX_README_LINES = 300


def pages() -> list[Path]:
    """The README and every page of the manual."""
    return [README, *sorted(DOCS.glob("*.md"))]


def contract() -> dict[str, list[str]]:
    tables = {}
    for path in sorted(PROJECT_DIR.glob("models/staging/*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                key = f"{source['name']}.{table['name']}"
                tables[key] = [column["name"] for column in table["columns"]]
    return tables


def code_spans(text: str) -> list[str]:
    """The code in a Markdown page: fenced blocks and inline spans."""
    fence = r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```"
    fenced = re.findall(fence, text, re.M | re.S)
    prose = re.sub(fence, "", text, flags=re.M | re.S)
    return fenced + re.findall(r"`([^`\n]+)`", prose)


def links(text: str) -> list[tuple[str, str]]:
    """(path, anchor) of every Markdown link that is not a URL; path is empty for an anchor
    on the same page."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [
        (path, anchor)
        for path, _, anchor in (target.partition("#") for target in targets)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", path)
    ]


def relative_links(text: str) -> list[str]:
    """Paths of the links to other files."""
    return [path for path, _ in links(text) if path]


def anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings, as GitHub makes them."""
    text = re.sub(r"^[ \t]*```.*?^[ \t]*```", "", page.read_text(), flags=re.M | re.S)
    headings = re.findall(r"^#{1,6} (.+)$", text, re.M)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings
    }


def make_targets() -> set[str]:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9][\w-]*):(?!=)", makefile, re.M))


# --- the raw-data contract ----------------------------------------------------------------


def test_contract_page_is_the_rendering_of_the_sources_yaml() -> None:
    assert CONTRACT_PAGE.read_text() == contract_docs.render(PROJECT_DIR), (
        "docs/raw-data-contract.md is out of date: run `customer-health contract-doc`"
    )


def test_contract_page_documents_every_raw_table_and_column() -> None:
    page = CONTRACT_PAGE.read_text()
    sections = dict(re.findall(r"^#### `([\w.]+)`.*?\n(.*?)(?=^#{2,4} |\Z)", page, re.M | re.S))
    tables = contract()
    assert len(tables) == 14
    assert set(sections) == set(tables)
    for table, columns in tables.items():
        documented = re.findall(r"^\| `(\w+)` \|", sections[table], re.M)
        assert documented == columns, table


def test_contract_page_says_it_is_generated_and_how() -> None:
    head = CONTRACT_PAGE.read_text().splitlines()[:5]
    assert any("customer-health contract-doc" in line and "enerated" in line for line in head)


def test_contract_doc_check_passes_on_the_current_page() -> None:
    assert contract_docs.main(["--check", "--out", str(CONTRACT_PAGE)]) == 0


def test_contract_doc_check_fails_on_a_stale_page_and_writes_a_fresh_one(tmp_path: Path) -> None:
    page = tmp_path / "contract.md"
    page.write_text("# stale\n")
    assert contract_docs.main(["--check", "--out", str(page)]) == 1
    assert page.read_text() == "# stale\n"
    assert contract_docs.main(["--out", str(page)]) == 0
    assert page.read_text() == contract_docs.render(PROJECT_DIR)
    assert contract_docs.main(["--check", "--out", str(page)]) == 0


# --- the README ---------------------------------------------------------------------------


def test_readme_names_the_commands() -> None:
    readme = README.read_text()
    assert "make run" in readme
    assert "make test" in readme
    assert "make check" in readme
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()


def test_readme_is_a_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"


def test_readme_links_every_page_of_the_manual() -> None:
    linked = {(README.parent / target).resolve() for target in relative_links(README.read_text())}
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not unlinked, f"not linked from README.md: {unlinked}"


# --- every page -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(PROJECT_DIR).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for path, anchor in links(page.read_text()):
        target = page.parent / path if path else page
        if not target.exists():
            broken.append(path)
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{path}#{anchor}")
    assert not broken, f"{page.name}: broken links {broken}"


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(PROJECT_DIR).as_posix())
def test_named_subcommands_exist(page: Path) -> None:
    named = {
        name
        for code in code_spans(page.read_text())
        for name in re.findall(
            r"(?:customer-health|python -m customer_health)[ \t]+([a-z][a-z0-9-]*)", code
        )
    }
    unknown = sorted(named - set(COMMANDS))
    assert not unknown, f"{page.name}: no such customer-health command {unknown}"


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(PROJECT_DIR).as_posix())
def test_named_make_targets_exist(page: Path) -> None:
    named = {
        target
        for code in code_spans(page.read_text())
        for command in re.findall(r"(?:^|[\s;&|(])make((?:[ \t]+[a-z][\w-]*)+)", code, re.M)
        for target in command.split()
    }
    unknown = sorted(named - make_targets())
    assert not unknown, f"{page.name}: no such make target {unknown}"


def test_no_page_runs_a_script_instead_of_the_command() -> None:
    for page in pages():
        if page.name == "benchmarks.md":  # generated by `customer-health bench --docs`
            continue
        assert not re.search(r"scripts/[\w.]|python scripts", page.read_text()), page.name


def test_links_are_relative() -> None:
    for page in pages():
        absolute = [path for path, _ in links(page.read_text()) if path.startswith("/")]
        assert not absolute, f"{page.name}: absolute links {absolute}"


def test_configuration_page_lists_every_environment_variable_with_its_default() -> None:
    page = (DOCS / "configuration.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", page, re.M))
    for var in ENV_VARS:
        assert var.name in rows, var.name
        expected = "(none)" if var.default is None else f"`{var.default}`"
        assert rows[var.name].strip() == expected, var.name
