"""The README documents the whole raw-data contract a user must supply."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[3]


def contract() -> dict[str, list[str]]:
    tables = {}
    for path in sorted(PROJECT_DIR.glob("models/staging/*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                key = f"{source['name']}.{table['name']}"
                tables[key] = [column["name"] for column in table["columns"]]
    return tables


def test_readme_documents_every_raw_table_and_column() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    sections = dict(re.findall(r"#### `([\w.]+)`.*?\n(.*?)(?=\n#### |\n## )", readme, re.S))
    tables = contract()
    assert len(tables) == 13
    assert set(sections) == set(tables)
    for table, columns in tables.items():
        documented = re.findall(r"^\| `(\w+)` \|", sections[table], re.M)
        assert documented == columns, table


def test_readme_names_the_two_commands() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme
    assert "make test" in (PROJECT_DIR / ".ci" / "run").read_text()
