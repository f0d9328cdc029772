"""Vars are values: every number or date var of dbt_project.yml is checked at run start."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[3]


def declared_lists() -> dict[str, set[str]]:
    text = (PROJECT_DIR / "macros" / "utils" / "health_vars.sql").read_text()
    body = text[text.index("macro health_var_types") : text.index("endmacro")]
    lists = {}
    for key in ("dates", "numbers"):
        match = re.search(rf"'{key}': \[(.*?)\]", body, re.S)
        assert match, key
        lists[key] = set(re.findall(r"'(\w+)'", match.group(1)))
    return lists


def project_vars() -> dict[str, object]:
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    variables: dict[str, object] = project["vars"]
    return variables


def test_every_number_var_is_checked() -> None:
    numbers = {
        name
        for name, value in project_vars().items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    assert numbers == declared_lists()["numbers"]


def test_every_date_var_is_checked() -> None:
    dates = {name for name in project_vars() if name.endswith("_date")}
    assert dates == declared_lists()["dates"]
    for name in dates:
        value = project_vars()[name]
        assert value is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)), name
