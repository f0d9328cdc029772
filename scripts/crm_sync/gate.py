"""Refuse to sync what the last `dbt build` did not build and test cleanly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# run_results statuses of a data test that failed at error severity, or could not run.
BLOCKING_TEST_STATUSES = frozenset({"fail", "error"})


class BuildCheckError(Exception):
    """The last dbt build does not vouch for the payload."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def ancestors(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """The node and every node it reads from, transitively (models, seeds, sources...)."""
    parent_map: Mapping[str, list[str]] = manifest.get("parent_map", {})
    seen = {unique_id}
    stack = [unique_id]
    while stack:
        for parent in parent_map.get(stack.pop(), []):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def tests_on(manifest: Mapping[str, Any], nodes: set[str]) -> set[str]:
    """Data tests attached to one of `nodes`, and singular tests reading only from them."""
    found = set()
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") != "test":
            continue
        attached = node.get("attached_node")
        depends = set(node.get("depends_on", {}).get("nodes", []))
        if attached in nodes or (attached is None and depends and depends <= nodes):
            found.add(unique_id)
    return found


def check_last_build(
    manifest: Mapping[str, Any], run_results: Mapping[str, Any], model_id: str
) -> None:
    """Raise BuildCheckError unless the last invocation was a `dbt build` that built the
    model and in which no error-severity test on the model or its inputs failed."""
    which = run_results.get("args", {}).get("which")
    if which != "build":
        raise BuildCheckError(
            [f"the last dbt invocation was `dbt {which}`, not `dbt build`: build and test first"]
        )
    results = {item["unique_id"]: item for item in run_results.get("results", [])}
    model_result = results.get(model_id)
    if model_result is None:
        raise BuildCheckError([f"the last `dbt build` did not build {model_id}"])
    problems = []
    if model_result.get("status") != "success":
        problems.append(f"{model_id} ended with status {model_result.get('status')!r}")
    nodes = ancestors(manifest, model_id)
    for test_id in sorted(tests_on(manifest, nodes)):
        result = results.get(test_id)
        if result is not None and result.get("status") in BLOCKING_TEST_STATUSES:
            name = manifest["nodes"][test_id].get("name", test_id)
            detail = result.get("message") or ""
            problems.append(f"test {name} {result['status']}ed on an input of the sync: {detail}")
    if problems:
        raise BuildCheckError(problems)


def check_target(target_dir: Path, manifest: Mapping[str, Any], model_id: str) -> None:
    """check_last_build on the run results dbt wrote to target_dir."""
    path = target_dir / "run_results.json"
    if not path.is_file():
        raise BuildCheckError([f"no dbt run results at {path}: run `dbt build` first"])
    run_results = json.loads(path.read_text(encoding="utf-8"))
    check_last_build(manifest, run_results, model_id)
