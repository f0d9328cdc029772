"""Project-wide rules checked on the built project: documentation, keys, contracts."""

from __future__ import annotations

from typing import Any

import pytest
from dbt.cli.main import dbtRunnerResult
from harness import TABLE_SOURCES, DbtProject

pytestmark = pytest.mark.functional

KEY_TESTS = {"unique", "unique_combination_of_columns"}


def models(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "customer_health"
    ]


def test_every_model_and_column_is_documented(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    undocumented = []
    for node in models(project.manifest()):
        if not node["description"].strip():
            undocumented.append(node["name"])
        built = [
            name
            for (name,) in project.query(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [node["schema"], node["alias"]],
            )
        ]
        assert built, node["name"]
        documented = {
            name for name, column in node["columns"].items() if column["description"].strip()
        }
        missing = [name for name in built if name not in documented]
        extra = sorted(set(node["columns"]) - set(built))
        if missing or extra:
            undocumented.append(f"{node['name']}: undocumented {missing}, not built {extra}")
    assert undocumented == []


def test_every_model_has_a_primary_key_test(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    manifest = project.manifest()
    keyed = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        if node.get("test_metadata", {}).get("name") in KEY_TESTS:
            keyed.update(node["depends_on"]["nodes"])
    missing = [node["name"] for node in models(manifest) if node["unique_id"] not in keyed]
    assert missing == []


def test_plain_column_rules_are_in_the_models_column_values_test(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    """A not_null or accepted_values test with no config of its own (a where, a tag, a
    severity) belongs in its model's column_values test: one node and one scan per model
    (docs/decisions.md)."""
    project, _ = clean_build
    plain = []
    for node in project.manifest()["nodes"].values():
        name = (node.get("test_metadata") or {}).get("name")
        if node["resource_type"] != "test" or name not in ("not_null", "accepted_values"):
            continue
        config = node["config"]
        if not (config.get("where") or config.get("tags") or config["severity"] != "ERROR"):
            plain.append(node["name"])
    assert plain == []


def test_every_mart_enforces_its_contract(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    """SQL marts enforce a dbt contract; Python marts, on which dbt enforces none, carry the
    matches_declared_columns test instead."""
    project, _ = clean_build
    manifest = project.manifest()
    marts = [node for node in models(manifest) if node["fqn"][1] == "marts"]
    assert marts
    checked = {
        parent
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("test_metadata", {}).get("name") == "matches_declared_columns"
        for parent in node["depends_on"]["nodes"]
    }
    unchecked = [
        node["name"]
        for node in marts
        if not (
            node["contract"]["enforced"]
            if node["language"] == "sql"
            else node["unique_id"] in checked
        )
    ]
    assert unchecked == []
    assert any(node["language"] == "python" for node in marts)


def test_marts_never_read_sources(clean_build: tuple[DbtProject, dbtRunnerResult]) -> None:
    project, _ = clean_build
    offenders = [
        node["name"]
        for node in models(project.manifest())
        if node["fqn"][1] != "staging"
        and any(dep.startswith("source.") for dep in node["depends_on"]["nodes"])
    ]
    assert offenders == []


def test_raw_table_list_matches_the_sources(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    sources = {
        (node["source_name"], node["name"]) for node in project.manifest()["sources"].values()
    }
    assert sources == {(source, table) for table, source in TABLE_SOURCES.items()}
    reported = set(project.query("select source_name, table_name from marts.rpt_raw_table_quality"))
    assert reported == sources


def test_every_source_column_declares_its_contract_type(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    untyped = [
        f"{node['source_name']}.{node['name']}.{name}"
        for node in project.manifest()["sources"].values()
        for name, column in node["columns"].items()
        if column["meta"].get("type")
        not in {"id", "text", "enum", "timestamp", "date", "integer", "decimal", "boolean"}
        or not column["description"].strip()
    ]
    assert untyped == []
