"""The project's YAML files as dbt reads them: no key given twice, no documented macro missing.

dbt only warns on both (a duplicate key keeps the last value and drops the first silently; a
macro's documentation with no macro of that name is ignored), so the tests hold them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[3]
DBT_FOLDERS = ("models", "seeds", "macros", "tests", "snapshots", "analyses")
MACRO_DEFINITION = re.compile(r"{%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(")


class DuplicateKeyError(ValueError):
    """A mapping in a YAML file gives a key twice."""


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor` merges keys that the mapping's own keys may override
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        if key in seen:
            raise DuplicateKeyError(
                f"key {key!r} on line {key_node.start_mark.line + 1} is also on line {seen[key]}"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--", *patterns],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [PROJECT_DIR / name for name in listed]


def project_yaml_files() -> list[Path]:
    top = [PROJECT_DIR / name for name in ("dbt_project.yml", "selectors.yml", "profiles.yml")]
    nested = tracked(*(f"{folder}/**.yml" for folder in DBT_FOLDERS))
    return top + nested


def test_the_strict_loader_refuses_a_key_given_twice() -> None:
    with pytest.raises(DuplicateKeyError, match="'data_tests' on line 3 is also on line 2"):
        yaml.load("- name: m\n  data_tests: []\n  data_tests:\n  - unique\n", StrictLoader)
    loaded = yaml.load("a: &x {b: 1, c: 2}\nd: {<<: *x, b: 3}\n", StrictLoader)
    assert loaded == {"a": {"b": 1, "c": 2}, "d": {"b": 3, "c": 2}}


def test_no_project_yaml_file_gives_a_key_twice() -> None:
    files = project_yaml_files()
    assert len(files) > 30
    problems = []
    for path in files:
        try:
            yaml.load(path.read_text(encoding="utf-8"), StrictLoader)
        except DuplicateKeyError as error:
            problems.append(f"{path.relative_to(PROJECT_DIR)}: {error}")
    assert problems == []


def test_every_documented_macro_is_defined() -> None:
    defined = {
        name
        for path in tracked("macros/**.sql", "tests/generic/**.sql")
        for name in MACRO_DEFINITION.findall(path.read_text(encoding="utf-8"))
    }
    documented = {
        entry["name"]: path.relative_to(PROJECT_DIR)
        for path in tracked("macros/**.yml")
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("macros", [])
    }
    assert len(documented) > 20
    assert {name: str(path) for name, path in documented.items() if name not in defined} == {}
