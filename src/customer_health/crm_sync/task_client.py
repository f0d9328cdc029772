"""HubSpot's task endpoints for the task sync, on top of the company sync's client (rate
limit, retries with tenacity, redaction, the checks of what an answer confirms).

- `read_companies`: `POST /crm/v3/objects/companies/batch/read` by the idProperty, up to 100
  ids, resolving each action's company to its HubSpot id (a 207 names the ids not found).
- `create`: `POST /crm/v3/objects/tasks/batch/create`, up to 100 inputs, each associated with
  its company (HUBSPOT_DEFINED type 192, task to company) and tagged with the action id as
  its `objectWriteTraceId`. Never retried once the request may have reached HubSpot: after
  a 5xx, a timeout or a dropped connection its rows come back `outcome_unknown`.
- `update`: `POST /crm/v3/objects/tasks/batch/update` by task id, up to 100 inputs,
  retried like the company upsert (an update applied twice is the same update).
- `find_created`: `POST /crm/v3/objects/tasks/search` for the tasks created in a time window
  (`hs_createdate`), 200 per page under the search API's own rate limit, matched to actions
  by the reference line of their body.

A rejected batch is split in halves until the bad rows are isolated; a 207 confirms its
`results` and rejects its `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from customer_health.crm_sync.hubspot import (
    COMPLETE,
    MAX_BATCH_INPUTS,
    SPLITTABLE_STATUSES,
    BatchOutcome,
    HubSpotClient,
    RecordError,
    TransientError,
    batch_errors,
    batch_results,
    error_text,
    excerpt,
)
from customer_health.crm_sync.ratelimit import SlidingWindowLimiter
from customer_health.crm_sync.task_payload import TASK_PROPERTIES, TaskRecord, marked_actions

COMPANY_READ_PATH = "/crm/v3/objects/companies/batch/read"
CREATE_PATH = "/crm/v3/objects/tasks/batch/create"
UPDATE_PATH = "/crm/v3/objects/tasks/batch/update"
SEARCH_PATH = "/crm/v3/objects/tasks/search"
# HubSpot's default association type from a task to a company.
TASK_TO_COMPANY = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}
SEARCH_PAGE_SIZE = 200
# The search API returns at most 10,000 results for one query.
SEARCH_RESULT_CAP = 10_000
# The search endpoints' own limit (per token), below the general rolling window.
SEARCH_MAX_REQUESTS = 4
SEARCH_WINDOW_SECONDS = 1.0
# A batch update naming a deleted task may be answered 404 OBJECT_NOT_FOUND: split it too.
UPDATE_SPLITTABLE = SPLITTABLE_STATUSES | {404}


class TaskLookupError(Exception):
    """The search for created tasks did not give a complete answer."""


@dataclass(frozen=True)
class FoundTask:
    task_id: str
    properties: dict[str, Any]


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def object_id(result: Any) -> str | None:
    """The `id` of a result object, or None when it has none (or of the wrong type)."""
    if not isinstance(result, dict):
        return None
    value = result.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value):
        return None
    return str(value)


def check_batch(ids: Sequence[str]) -> None:
    if len(ids) > MAX_BATCH_INPUTS:
        raise ValueError(f"a batch holds at most {MAX_BATCH_INPUTS} inputs")
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate ids in one batch")


class TaskClient:
    """The task sync's requests, through one HubSpotClient (one rate limit, one count)."""

    def __init__(
        self,
        client: HubSpotClient,
        *,
        search_limiter: SlidingWindowLimiter | None = None,
    ) -> None:
        self.client = client
        self.search_limiter = search_limiter or SlidingWindowLimiter(
            SEARCH_MAX_REQUESTS, SEARCH_WINDOW_SECONDS
        )

    def __enter__(self) -> TaskClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def _errors(
        self,
        ids: Sequence[str],
        kind: str,
        status: int | None,
        message: str,
        category: str | None = None,
        unknown: bool = False,
    ) -> list[RecordError]:
        text = self.client.redact(message)
        kept = None if category is None else self.client.redact(category)
        return [RecordError(key, kind, status, kept, text, outcome_unknown=unknown) for key in ids]

    # --- companies ----------------------------------------------------------------------

    def read_companies(
        self, account_ids: Sequence[str]
    ) -> tuple[dict[str, str], list[RecordError]]:
        """account id -> HubSpot company id for up to 100 accounts; accounts HubSpot has no
        company for are simply absent, accounts the read could not settle are errors."""
        check_batch(account_ids)
        if not account_ids:
            return {}, []
        id_property = self.client.id_property
        body = {
            "idProperty": id_property,
            "properties": [id_property],
            "inputs": [{"id": key} for key in account_ids],
        }
        try:
            response = self.client.request("POST", COMPANY_READ_PATH, body, not_found_ok=True)
        except TransientError as exc:
            message = f"company lookup failed: {exc} (after {self.client.policy.max_attempts} "
            return {}, self._errors(account_ids, "undelivered", exc.status, message + "attempts)")
        if response.status_code == 404:  # every id unknown
            return {}, []
        if response.status_code not in (200, 207):
            category, message = error_text(response, self.client.secrets)
            return {}, self._errors(
                account_ids,
                "undelivered",
                response.status_code,
                f"company lookup refused: {message}",
                category,
            )
        found = batch_results(json_body(response), id_property)
        if found is None:
            return {}, self._errors(
                account_ids,
                "undelivered",
                response.status_code,
                f"the company lookup's answer is not HubSpot's batch response: {excerpt(response)}",
            )
        return {key: found[key] for key in account_ids if key in found}, []

    # --- create --------------------------------------------------------------------------

    def create(self, tasks: Sequence[TaskRecord], companies: Mapping[str, str]) -> BatchOutcome:
        """Create up to 100 tasks, each associated with its company. Rows HubSpot confirms
        are `succeeded` (action id -> task id); rows it refused are `rejected`; rows whose
        fate the answer does not settle come back `outcome_unknown`."""
        ids = [task.action_id for task in tasks]
        check_batch(ids)
        if not tasks:
            return BatchOutcome()
        body = {
            "inputs": [
                {
                    "properties": task.properties,
                    "associations": [
                        {"to": {"id": companies[task.account_id]}, "types": [TASK_TO_COMPANY]}
                    ],
                    "objectWriteTraceId": task.action_id,
                }
                for task in tasks
            ]
        }
        try:
            response = self.client.request("POST", CREATE_PATH, body, idempotent=False)
        except TransientError as exc:
            if exc.may_have_applied:
                message = (
                    f"{exc}: HubSpot may have created the task; it is looked up by its "
                    "reference before it is created again"
                )
            else:
                message = f"{exc} (after {self.client.policy.max_attempts} attempts)"
            return BatchOutcome(
                errors=self._errors(
                    ids, "undelivered", exc.status, message, unknown=exc.may_have_applied
                )
            )
        if response.status_code in (200, 201, 207):
            return self._created(response, ids)
        category, message = error_text(response, self.client.secrets)
        if response.status_code in SPLITTABLE_STATUSES and len(tasks) > 1:
            middle = len(tasks) // 2
            outcome = self.create(tasks[:middle], companies)
            outcome.merge(self.create(tasks[middle:], companies))
            return outcome
        if 400 <= response.status_code < 500:
            return BatchOutcome(
                errors=self._errors(ids, "rejected", response.status_code, message, category)
            )
        return BatchOutcome(
            errors=self._errors(
                ids,
                "undelivered",
                response.status_code,
                f"HTTP {response.status_code} to a create: {message}",
                category,
                unknown=True,
            )
        )

    def _created(self, response: httpx.Response, ids: list[str]) -> BatchOutcome:
        """What a 200/201/207 answer to a create settles. A result is matched to its action
        by its objectWriteTraceId, else by the reference line of its body; a task HubSpot
        reports is confirmed even when the rest of the answer is malformed."""
        status = response.status_code
        body = json_body(response)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("status") != COMPLETE:
            results = None
        created: dict[str, str] = {}
        for result in results if isinstance(results, list) else []:
            task_id = object_id(result)
            if task_id is None:
                continue
            trace = result.get("objectWriteTraceId")
            properties = result.get("properties")
            keys = (
                {trace}
                if trace in ids
                else marked_actions(properties.get("hs_task_body"))
                if isinstance(properties, dict)
                else set()
            )
            created.update({key: task_id for key in keys if key in ids})
        rejected = batch_errors(body) if status == 207 else {}
        outcome = BatchOutcome()
        for key in ids:
            if key in created:
                outcome.succeeded[key] = created[key]
            elif rejected and key in rejected:
                category, message = rejected[key]
                outcome.errors += self._errors([key], "rejected", status, message, category)
            else:
                reason = (
                    "the answer names no task for it"
                    if isinstance(results, list) and rejected is not None
                    else "the answer is not HubSpot's batch response"
                )
                outcome.errors.extend(
                    self._errors(
                        [key],
                        "undelivered",
                        status,
                        f"{reason}: {excerpt(response) or '(empty body)'}; looked up by its "
                        "reference before it is created again",
                        unknown=True,
                    )
                )
        return outcome

    # --- update --------------------------------------------------------------------------

    def update(self, tasks: Sequence[tuple[TaskRecord, str]]) -> BatchOutcome:
        """Update up to 100 tasks by task id; results are matched back by the task id."""
        ids = [task.action_id for task, _ in tasks]
        check_batch(ids)
        check_batch([task_id for _, task_id in tasks])
        if not tasks:
            return BatchOutcome()
        by_task = {task_id: task.action_id for task, task_id in tasks}
        body = {
            "inputs": [{"id": task_id, "properties": task.properties} for task, task_id in tasks]
        }
        try:
            response = self.client.request("POST", UPDATE_PATH, body, not_found_ok=True)
        except TransientError as exc:
            message = f"{exc} (after {self.client.policy.max_attempts} attempts)"
            return BatchOutcome(errors=self._errors(ids, "undelivered", exc.status, message))
        if response.status_code in (200, 201, 207):
            return self._updated(response, by_task)
        category, message = error_text(response, self.client.secrets)
        if response.status_code in UPDATE_SPLITTABLE and len(tasks) > 1:
            middle = len(tasks) // 2
            outcome = self.update(tasks[:middle])
            outcome.merge(self.update(tasks[middle:]))
            return outcome
        kind = "rejected" if 400 <= response.status_code < 500 else "undelivered"
        return BatchOutcome(errors=self._errors(ids, kind, response.status_code, message, category))

    def _updated(self, response: httpx.Response, by_task: dict[str, str]) -> BatchOutcome:
        """A 200 confirms the batch only with a result for every task; a 207 confirms its
        results and rejects the tasks its errors name; anything else confirms nothing."""
        status = response.status_code
        body = json_body(response)
        results = body.get("results") if isinstance(body, dict) else None
        updated: set[str] = set()
        if isinstance(body, dict) and body.get("status") == COMPLETE and isinstance(results, list):
            updated = {task_id for result in results if (task_id := object_id(result))}
        else:
            results = None
        rejected = batch_errors(body) if status == 207 else {}
        ids = list(by_task.values())
        if results is None or rejected is None or (status != 207 and set(by_task) - updated):
            return BatchOutcome(
                errors=self._errors(
                    ids,
                    "undelivered",
                    status,
                    f"the answer does not confirm the batch; sent again next run: "
                    f"{excerpt(response) or '(empty body)'}",
                )
            )
        outcome = BatchOutcome()
        for task_id, key in by_task.items():
            if task_id in updated:
                outcome.succeeded[key] = task_id
            elif task_id in rejected or key in rejected:
                category, message = rejected.get(task_id) or rejected[key]
                outcome.errors += self._errors(
                    [key], "rejected", status, f"task {task_id}: {message}", category
                )
            else:
                outcome.errors.extend(
                    self._errors([key], "undelivered", status, "not in the 207 response")
                )
        return outcome

    # --- search ---------------------------------------------------------------------------

    def find_created(
        self, start_ms: int, end_ms: int, action_ids: set[str]
    ) -> dict[str, FoundTask]:
        """The tasks created between the two instants (ms since the epoch) whose body holds
        the reference of one of `action_ids`. TaskLookupError when the search cannot answer
        completely (an error, a malformed page, over 10,000 matches)."""
        request: dict[str, Any] = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_createdate",
                            "operator": "GTE",
                            "value": str(start_ms),
                        },
                        {"propertyName": "hs_createdate", "operator": "LTE", "value": str(end_ms)},
                    ]
                }
            ],
            "properties": list(TASK_PROPERTIES),
            "sorts": [{"propertyName": "hs_createdate", "direction": "ASCENDING"}],
            "limit": SEARCH_PAGE_SIZE,
        }
        found: dict[str, FoundTask] = {}
        while True:
            try:
                response = self.client.request(
                    "POST", SEARCH_PATH, request, limiter=self.search_limiter
                )
            except TransientError as exc:
                raise TaskLookupError(f"the task search failed: {exc}") from None
            body = json_body(response)
            if response.status_code != 200 or not isinstance(body, dict):
                _, message = error_text(response, self.client.secrets)
                raise TaskLookupError(f"the task search was answered {message}")
            results, total = body.get("results"), body.get("total")
            if not isinstance(results, list) or not isinstance(total, int):
                raise TaskLookupError(
                    f"the task search's answer is not HubSpot's: {excerpt(response)}"
                )
            if total > SEARCH_RESULT_CAP:
                raise TaskLookupError(
                    f"{total} tasks were created in the window, over the search API's "
                    f"{SEARCH_RESULT_CAP:,}"
                )
            for result in results:
                task_id = object_id(result)
                properties = result.get("properties") if isinstance(result, dict) else None
                if task_id is None or not isinstance(properties, dict):
                    raise TaskLookupError("a task in the search answer has no id or properties")
                for key in marked_actions(properties.get("hs_task_body")) & action_ids:
                    # Two tasks for one action cannot come from this sync; keep the first.
                    found.setdefault(key, FoundTask(task_id, properties))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return found
            request["after"] = str(after)
