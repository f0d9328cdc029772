"""dbt's artifacts (run_results.json, manifest.json), and the one answer to "did the build pass?".

Every gate asks here: the publish step (the whole build must have passed) and the CRM sync
(the payload model and everything it reads from must have passed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

RUN_RESULTS = "run_results.json"
MANIFEST = "manifest.json"
SOURCES = "sources.json"
# run_results statuses that stop a gate: a failed or erroring node, and one skipped because
# something upstream of it failed. Warnings (`warn`) and exposures (`no-op`) do not.
BLOCKING_STATUSES = frozenset({"fail", "error", "runtime error", "skipped"})
TEST_PREFIXES = ("test.", "unit_test.")


class BuildCheckError(Exception):
    """The last dbt build does not vouch for what a gate is about to release."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_artifact(path: Path, missing: str | None = None) -> dict[str, Any]:
    """One of dbt's JSON artifacts; BuildCheckError when it is missing or unreadable."""
    if not path.is_file():
        raise BuildCheckError([missing or f"no dbt artifact at {path}"])
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BuildCheckError([f"cannot read {path}: {error}"]) from error
    return data


def read_run_results(target_path: Path) -> dict[str, Any]:
    """The run results of the last dbt invocation in ``target_path``."""
    path = target_path / RUN_RESULTS
    return read_artifact(path, f"no dbt run results at {path}: run `dbt build` first")


def read_manifest(target_path: Path) -> dict[str, Any]:
    """The manifest dbt wrote to ``target_path``."""
    path = target_path / MANIFEST
    return read_artifact(path, f"no dbt manifest at {path}: run `dbt build` first")


def read_sources(target_path: Path) -> dict[str, Any] | None:
    """The source freshness results (`dbt source freshness`) in ``target_path``, or None
    when freshness was not checked there."""
    path = target_path / SOURCES
    if not path.is_file():
        return None
    return read_artifact(path, f"no dbt source freshness results at {path}")


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


def build_problems(
    run_results: Mapping[str, Any],
    *,
    since: datetime | None = None,
    manifest: Mapping[str, Any] | None = None,
    model_id: str | None = None,
) -> list[str]:
    """Why the `dbt build` of these run results does not vouch for a release (empty: it does).

    The run results must come from a `dbt build` (started no earlier than ``since``, when
    given) that ran tests. Without ``model_id`` every node counts; with it (and the
    manifest), the model must have been built, and only it, the nodes it reads from and the
    tests on those count. A node that failed, errored or was skipped blocks; warnings do not.
    """
    problems = []
    which = run_results.get("args", {}).get("which")
    if which != "build":
        problems.append(f"the run results are from `dbt {which}`, not `dbt build`")
    if since is not None:
        generated_at = run_results.get("metadata", {}).get("generated_at")
        if generated_at is None or datetime.fromisoformat(generated_at) < since:
            problems.append(f"the run results ({generated_at}) predate this build")
    results: list[Mapping[str, Any]] = list(run_results.get("results", []))
    if model_id is not None:
        by_id = {result.get("unique_id"): result for result in results}
        if model_id not in by_id:
            return [*problems, f"the last `dbt build` did not build {model_id}"]
        status = by_id[model_id].get("status")
        if status != "success":
            problems.append(f"{model_id} ended with status {status!r}")
        nodes = ancestors(manifest or {}, model_id)
        scope = nodes | tests_on(manifest or {}, nodes)
        results = [result for result in results if result.get("unique_id") in scope]
    for result in results:
        status = result.get("status")
        if status in BLOCKING_STATUSES and result.get("unique_id") != model_id:
            message = (result.get("message") or "").strip().splitlines()
            detail = f": {message[0]}" if message else ""
            problems.append(f"{result.get('unique_id')} {status}{detail}")
    if which == "build" and not any(
        str(result.get("unique_id", "")).startswith(TEST_PREFIXES) for result in results
    ):
        problems.append("the build ran no tests")
    return problems


def check_build(
    target_path: Path, *, manifest: Mapping[str, Any] | None = None, model_id: str | None = None
) -> None:
    """Raise BuildCheckError unless the run results in ``target_path`` pass build_problems."""
    problems = build_problems(read_run_results(target_path), manifest=manifest, model_id=model_id)
    if problems:
        raise BuildCheckError(problems)
