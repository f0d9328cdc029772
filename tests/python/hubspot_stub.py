"""A stand-in HubSpot API on 127.0.0.1 for the CRM sync's tests.

It keeps the documented semantics the sync depends on:
- Bearer-token auth (401 otherwise);
- batch upsert of companies by a unique `idProperty`: at most 100 inputs (else a
  whole-batch 400), duplicate ids in one batch are a whole-batch 400, per-record validation
  (unknown property, enumeration value not an option, a number or date that does not parse)
  rejects the whole batch with a 400 naming the records, or answers 207 with `results` and
  `errors` in `partial` mode;
- a rolling-window rate limit answered with 429 and `Retry-After`;
- property groups and definitions (list, batch create, patch);
- batch read of companies by a unique `idProperty` (at most 100 inputs; a 207 with an
  OBJECT_NOT_FOUND error names the ids that match no company);
- tasks: batch create (at most 100 inputs; `hs_timestamp` required; status, priority and
  type among the documented values; an owner among `owners` when that set is given;
  associations only to an existing company with the HUBSPOT_DEFINED task-to-company type
  192; per-input errors named by the input's `objectWriteTraceId`), batch update by task id
  (at most 100, no id twice, the task must exist) and search (filters on `hs_createdate` or
  any property with EQ/GT/GTE/LT/LTE, 200 per page, 10,000 results at most, paged with
  `after`, its own per-second rate limit); invalid inputs fail the whole batch with a 400,
  or answer 207 with `results` and `errors` in `partial` mode;
- injected faults: a status (5xx, 429) or a delay for the next requests, a raw body (an
  HTML page or other non-HubSpot answer, with any status), an error answer that echoes the
  request's headers and URL back (as some proxies and debug servers do), a lost answer (the
  request is applied, then the connection is closed without a response), and a hold that
  applies a write and then blocks before answering (a client killed mid-request).
Companies are stored by object id; an upsert finds a company by its idProperty value.
Tasks are stored by object id with their creation time and associated companies.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_INPUTS = 100
BUILT_IN_PROPERTIES = {
    "name": {"name": "name", "label": "Name", "type": "string", "fieldType": "text"},
    "domain": {"name": "domain", "label": "Domain", "type": "string", "fieldType": "text"},
}
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TASK_ENUMERATIONS = {
    "hs_task_status": {"NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"},
    "hs_task_priority": {"LOW", "MEDIUM", "HIGH"},
    "hs_task_type": {"TODO", "CALL", "EMAIL"},
}
TASK_PROPERTIES = {
    "hs_timestamp",
    "hs_task_subject",
    "hs_task_body",
    "hs_task_status",
    "hs_task_priority",
    "hs_task_type",
    "hs_task_reminders",
    "hubspot_owner_id",
}
TASK_TO_COMPANY = 192
SEARCH_PAGE_LIMIT = 200
SEARCH_RESULT_CAP = 10_000


@dataclass
class Fault:
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    # Answered as it is (status 200 unless `status` says otherwise); nothing is applied.
    body: str | None = None
    content_type: str = "text/html; charset=utf-8"
    # The error answer quotes the request's headers and URL.
    echo: bool = False
    # The request is applied, then the connection closes without an answer.
    drop: bool = False
    # Only for requests to a path ending with this (None: the next requests, any path).
    path: str | None = None


@dataclass
class LoggedRequest:
    at: float
    method: str
    path: str
    status: int
    inputs: int = 0
    ids: list[str] = field(default_factory=list)
    dropped: bool = False


class HubSpotStub:
    """Start with `start()`; `base_url` is then http://127.0.0.1:<port>."""

    def __init__(self, token: str, max_requests: int = 100, window_seconds: float = 10.0):
        self.token = token
        self.max_requests = max_requests
        self.window_seconds = window_seconds
        self.partial = False
        self.reject_ids: dict[str, str] = {}
        self.companies: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        # Owner ids a task may be assigned to; None (or empty) accepts any.
        self.owners: set[str] | None = None
        self.search_max_requests = 5
        self._search_stamps: deque[float] = deque()
        self.properties: dict[str, dict[str, Any]] = {
            name: dict(value) for name, value in BUILT_IN_PROPERTIES.items()
        }
        self.groups: set[str] = {"companyinformation"}
        self.log: list[LoggedRequest] = []
        self.faults: deque[Fault] = deque()
        # Hold the write after `hold_after` earlier requests to paths ending in `hold_path`.
        self.hold_after: int | None = None
        self.hold_path = "/batch/upsert"
        self.held = threading.Event()
        self.release = threading.Event()
        self._stamps: deque[float] = deque()
        self._next_id = 1
        # (idProperty, value) -> company id: how an upsert finds its company.
        self._index: dict[tuple[str, str], str] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> HubSpotStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub._handle(self, "GET")

            def do_POST(self) -> None:
                stub._handle(self, "POST")

            def do_PATCH(self) -> None:
                stub._handle(self, "PATCH")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- what tests look at -----------------------------------------------------------------

    def set_rate_limit(self, max_requests: int, window_seconds: float) -> None:
        """A new limit, counting from now (earlier requests are forgotten)."""
        with self._lock:
            self.max_requests, self.window_seconds = max_requests, window_seconds
            self._stamps.clear()

    def inject(self, count: int = 1, **fault: Any) -> None:
        """The next `count` authenticated requests (to `path`, when given) get this fault
        first."""
        for _ in range(count):
            self.faults.append(Fault(**fault))

    def upserts(self) -> list[LoggedRequest]:
        return [item for item in self.log if item.path.endswith("/batch/upsert")]

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [item for item in self.log if item.path == path]

    def task_creates(self) -> list[LoggedRequest]:
        return self.requests_to("/crm/v3/objects/tasks/batch/create")

    def task_updates(self) -> list[LoggedRequest]:
        return self.requests_to("/crm/v3/objects/tasks/batch/update")

    def task_searches(self) -> list[LoggedRequest]:
        return self.requests_to("/crm/v3/objects/tasks/search")

    def add_company(self, key: str, id_property: str = "health_account_id") -> str:
        """A company with that idProperty value (made in HubSpot, not by the sync)."""
        with self._lock:
            return str(self._apply({"id": key, "idProperty": id_property, "properties": {}})["id"])

    def tasks_by_action(self) -> dict[str, list[dict[str, Any]]]:
        """Action id (from the reference line of the body) -> its tasks, oldest first."""
        found: dict[str, list[dict[str, Any]]] = {}
        for task in sorted(self.tasks.values(), key=lambda item: int(item["id"])):
            body = task["properties"].get("hs_task_body", "")
            for key in re.findall(r"\[health action ([^\]\s]+)\]", body):
                found.setdefault(key, []).append(task)
        return found

    def records(self, id_property: str = "health_account_id") -> dict[str, dict[str, str]]:
        """idProperty value -> stored properties (the value of a cleared property is "")."""
        found: dict[str, dict[str, str]] = {}
        for company in self.companies.values():
            key = company["properties"].get(id_property)
            if key in found:
                raise AssertionError(f"two companies with {id_property}={key}")
            found[key] = company["properties"]
        return found

    # --- request handling -----------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        exchange = Exchange(self, handler, method, handler.path.split("?")[0])
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            exchange.fail(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
            return
        with self._lock:
            fault = self._next_fault(exchange.path)
            limited = self._rate_limited()
            if limited is None and exchange.path.endswith("/search"):
                limited = self._search_limited()
        if limited is not None:
            exchange.fail(
                429,
                "RATE_LIMIT",
                "You have reached your ten_secondly_rolling limit.",
                headers={"Retry-After": str(limited)},
                policyName="TEN_SECONDLY_ROLLING",
            )
            return
        if fault is not None:
            exchange.drop = fault.drop
            if fault.delay:
                time.sleep(fault.delay)
            if fault.body is not None:
                exchange.raw(fault.status or 200, fault.body.encode(), fault.content_type)
                return
            if fault.status is not None:
                headers = (
                    {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                )
                message = f"injected HTTP {fault.status}"
                if fault.echo:
                    message += f"; request {handler.path} with headers {dict(handler.headers)}"
                exchange.fail(fault.status, "INJECTED", message, headers)
                return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            exchange.fail(400, "VALIDATION_ERROR", "Invalid input JSON")
            return
        self._route(exchange, body)

    def _next_fault(self, path: str) -> Fault | None:
        """The first queued fault for this path, taken from the queue."""
        for fault in self.faults:
            if fault.path is None or path.endswith(fault.path):
                self.faults.remove(fault)
                return fault
        return None

    def _route(self, exchange: Exchange, body: Any) -> None:
        method, path = exchange.method, exchange.path
        if (method, path) == ("POST", "/crm/v3/objects/companies/batch/upsert"):
            self._upsert(exchange, body)
        elif (method, path) == ("POST", "/crm/v3/objects/companies/batch/read"):
            self._read_companies(exchange, body)
        elif (method, path) == ("POST", "/crm/v3/objects/tasks/batch/create"):
            self._create_tasks(exchange, body)
        elif (method, path) == ("POST", "/crm/v3/objects/tasks/batch/update"):
            self._update_tasks(exchange, body)
        elif (method, path) == ("POST", "/crm/v3/objects/tasks/search"):
            self._search_tasks(exchange, body)
        elif (method, path) == ("GET", "/crm/v3/properties/companies"):
            with self._lock:
                results = list(self.properties.values())
            exchange.reply(200, {"results": results})
        elif (method, path) == ("POST", "/crm/v3/properties/companies/groups"):
            with self._lock:
                exists = body["name"] in self.groups
                self.groups.add(body["name"])
            exchange.reply(409 if exists else 201, body)
        elif (method, path) == ("POST", "/crm/v3/properties/companies/batch/create"):
            with self._lock:
                for item in body["inputs"]:
                    self.properties[item["name"]] = dict(item)
            exchange.reply(201, {"status": "COMPLETE", "results": body["inputs"]})
        elif method == "PATCH" and path.startswith("/crm/v3/properties/companies/"):
            name = path.rsplit("/", 1)[1]
            with self._lock:
                result = self.properties.get(name)
                if result is not None:
                    result.update(body)
            if result is None:
                exchange.fail(404, "OBJECT_NOT_FOUND", f"no property {name}")
            else:
                exchange.reply(200, result)
        else:
            exchange.fail(404, "NOT_FOUND", f"no route {method} {path}")

    def _rate_limited(self) -> int | None:
        """Seconds to wait when this request exceeds the rolling window, else None."""
        now = time.monotonic()
        while self._stamps and self._stamps[0] <= now - self.window_seconds:
            self._stamps.popleft()
        if len(self._stamps) >= self.max_requests:
            return max(1, math.ceil(self._stamps[0] + self.window_seconds - now))
        self._stamps.append(now)
        return None

    def _search_limited(self) -> int | None:
        """The search endpoints' own limit: `search_max_requests` per second."""
        now = time.monotonic()
        while self._search_stamps and self._search_stamps[0] <= now - 1.0:
            self._search_stamps.popleft()
        if len(self._search_stamps) >= self.search_max_requests:
            return 1
        self._search_stamps.append(now)
        return None

    def _validate(self, item: dict[str, Any]) -> str | None:
        """The validation error of one input, or None."""
        if item["id"] in self.reject_ids:
            return self.reject_ids[item["id"]]
        for name, value in (item.get("properties") or {}).items():
            definition = self.properties.get(name)
            if definition is None:
                return f'Property "{name}" does not exist (PROPERTY_DOESNT_EXIST)'
            if value in ("", None):
                continue
            kind = definition.get("type")
            if kind == "enumeration":
                allowed = {option["value"] for option in definition.get("options") or []}
                if value not in allowed:
                    return f"{value} was not one of the allowed options for {name} (INVALID_OPTION)"
            elif kind == "number" and not NUMBER.match(str(value)):
                return f"{value} is not a valid number for {name} (INVALID_DECIMAL)"
            elif kind == "date":
                if not DATE.match(str(value)):
                    return f"{value} is not a valid date for {name} (INVALID_DATE)"
                dt.date.fromisoformat(str(value))
        return None

    def _upsert(self, exchange: Exchange, body: Any) -> None:
        inputs = body.get("inputs") or []
        exchange.ids = [str(item.get("id")) for item in inputs]
        duplicates = sorted({value for value in exchange.ids if exchange.ids.count(value) > 1})
        with self._lock:
            unique = all(
                (self.properties.get(str(item.get("idProperty"))) or {}).get("hasUniqueValue")
                for item in inputs
            )
            errors = {item["id"]: error for item in inputs if (error := self._validate(item))}
        if len(inputs) > MAX_INPUTS:
            message = f"Batch input must have at most {MAX_INPUTS} inputs, got {len(inputs)}"
            exchange.fail(400, "VALIDATION_ERROR", message)
        elif duplicates:
            exchange.fail(
                400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: {duplicates}"
            )
        elif not unique:
            exchange.fail(400, "VALIDATION_ERROR", "idProperty is not a unique-value property")
        elif errors and not self.partial:
            self._fail_inputs(exchange, errors, "ids")
        else:
            self._store(exchange, inputs, errors)

    def _store(
        self, exchange: Exchange, inputs: list[dict[str, Any]], errors: dict[str, str]
    ) -> None:
        """Apply the valid inputs; answer 200, or 207 listing the invalid ones."""
        with self._lock:
            results = [self._apply(item) for item in inputs if item["id"] not in errors]
        self._hold(exchange.path)
        self._answer(exchange, results, errors, "ids", created=False)

    def _apply(self, item: dict[str, Any]) -> dict[str, Any]:
        id_property = item["idProperty"]
        key = str(item["id"])
        object_id = self._index.get((id_property, key))
        created = object_id is None
        if object_id is None:
            object_id = str(self._next_id)
            self._next_id += 1
            self.companies[object_id] = {"id": object_id, "properties": {id_property: key}}
            self._index[(id_property, key)] = object_id
        company = self.companies[object_id]
        company["properties"].update(
            {
                name: "" if value is None else str(value)
                for name, value in (item.get("properties") or {}).items()
            }
        )
        return {
            "id": company["id"],
            "properties": dict(company["properties"]),
            "new": created,
            "objectWriteTraceId": item.get("objectWriteTraceId"),
            "archived": False,
        }

    def _log(self, exchange: Exchange, status: int) -> None:
        with self._lock:
            self.log.append(
                LoggedRequest(
                    time.monotonic(),
                    exchange.method,
                    exchange.path,
                    status,
                    len(exchange.ids),
                    list(exchange.ids),
                    exchange.drop,
                )
            )

    def _hold(self, path: str) -> None:
        """Block before answering a write to `hold_path` once `hold_after` earlier ones were
        answered."""
        with self._lock:
            hold = (
                self.hold_after is not None
                and path.endswith(self.hold_path)
                and len([item for item in self.log if item.path.endswith(self.hold_path)])
                >= self.hold_after
            )
        if hold:
            self.held.set()
            self.release.wait(timeout=60)

    # --- companies by idProperty --------------------------------------------------------

    def _read_companies(self, exchange: Exchange, body: Any) -> None:
        inputs = body.get("inputs") or []
        id_property = str(body.get("idProperty") or "hs_object_id")
        exchange.ids = [str(item.get("id")) for item in inputs]
        if len(inputs) > MAX_INPUTS:
            exchange.fail(400, "VALIDATION_ERROR", f"Batch input must have at most {MAX_INPUTS}")
            return
        with self._lock:
            unique = (self.properties.get(id_property) or {}).get("hasUniqueValue")
            found = {
                key: self.companies[object_id]
                for key in exchange.ids
                if (object_id := self._index.get((id_property, key))) is not None
            }
        if id_property != "hs_object_id" and not unique:
            exchange.fail(400, "VALIDATION_ERROR", "idProperty is not a unique-value property")
            return
        requested = set(body.get("properties") or [])
        results = [
            {
                "id": company["id"],
                "properties": {
                    name: value
                    for name, value in company["properties"].items()
                    if name in requested or name == id_property
                },
                "archived": False,
            }
            for company in found.values()
        ]
        missing = [key for key in exchange.ids if key not in found]
        payload: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            payload["numErrors"] = 1
            payload["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some COMPANY objects, they may be deleted or "
                    "not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
        exchange.reply(207 if missing else 200, payload)

    # --- tasks ----------------------------------------------------------------------------

    def _validate_task(self, properties: dict[str, Any], creating: bool) -> str | None:
        """The validation error of one task's properties, or None."""
        if creating and not properties.get("hs_timestamp"):
            return "hs_timestamp is required (PROPERTY_VALUE_REQUIRED)"
        for name, value in properties.items():
            if name not in TASK_PROPERTIES:
                return f'Property "{name}" does not exist (PROPERTY_DOESNT_EXIST)'
            text = "" if value is None else str(value)
            if name == "hs_timestamp":
                if not self._timestamp_ms(text):
                    return f"{text!r} is not a valid timestamp for hs_timestamp (INVALID_DATE)"
            elif name in TASK_ENUMERATIONS and text and text not in TASK_ENUMERATIONS[name]:
                return f"{text} was not one of the allowed options for {name} (INVALID_OPTION)"
            elif name == "hubspot_owner_id" and text and text not in (self.owners or {text}):
                return f"{text} is not a valid owner id (INVALID_OWNER_ID)"
        return None

    @staticmethod
    def _timestamp_ms(text: str) -> int | None:
        """Milliseconds of a Unix-ms or ISO 8601 UTC timestamp; None when neither."""
        if text.isdigit():
            return int(text)
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            return None
        return int(moment.timestamp() * 1000)

    def _validate_associations(self, associations: Any) -> str | None:
        for association in associations or []:
            target = str((association.get("to") or {}).get("id"))
            types = association.get("types") or []
            if not any(
                item.get("associationCategory") == "HUBSPOT_DEFINED"
                and item.get("associationTypeId") == TASK_TO_COMPANY
                for item in types
            ):
                return f"association type {types} is not task to company (INVALID_ASSOCIATION)"
            if target not in self.companies:
                return f"company {target} does not exist (INVALID_ASSOCIATION_TARGET)"
        return None

    def _batch_failure(self, exchange: Exchange, inputs: list[dict[str, Any]]) -> bool:
        """Answer a batch-level 400 (too many inputs); True when answered."""
        if len(inputs) > MAX_INPUTS:
            message = f"Batch input must have at most {MAX_INPUTS} inputs, got {len(inputs)}"
            exchange.fail(400, "VALIDATION_ERROR", message)
            return True
        return False

    def _create_tasks(self, exchange: Exchange, body: Any) -> None:
        inputs = body.get("inputs") or []
        keys = [str(item.get("objectWriteTraceId") or index) for index, item in enumerate(inputs)]
        exchange.ids = keys
        if self._batch_failure(exchange, inputs):
            return
        with self._lock:
            errors = {
                key: error
                for key, item in zip(keys, inputs, strict=True)
                if (
                    error := self.reject_ids.get(key)
                    or self._validate_task(item.get("properties") or {}, creating=True)
                    or self._validate_associations(item.get("associations"))
                )
            }
        if errors and not self.partial:
            self._fail_inputs(exchange, errors, "objectWriteTraceId")
            return
        with self._lock:
            results = [
                self._new_task(item, key)
                for key, item in zip(keys, inputs, strict=True)
                if key not in errors
            ]
        self._hold(exchange.path)
        self._answer(exchange, results, errors, "objectWriteTraceId", created=True)

    def _new_task(self, item: dict[str, Any], key: str) -> dict[str, Any]:
        task_id = str(self._next_id)
        self._next_id += 1
        created = int(time.time() * 1000)
        properties = {
            name: "" if value is None else str(value)
            for name, value in (item.get("properties") or {}).items()
        }
        properties["hs_createdate"] = dt.datetime.fromtimestamp(created / 1000, dt.UTC).isoformat()
        properties["hs_object_id"] = task_id
        self.tasks[task_id] = {
            "id": task_id,
            "properties": properties,
            "created_ms": created,
            "companies": [str(a["to"]["id"]) for a in item.get("associations") or []],
        }
        return {
            "id": task_id,
            "properties": dict(properties),
            "createdAt": properties["hs_createdate"],
            "updatedAt": properties["hs_createdate"],
            "archived": False,
            "objectWriteTraceId": item.get("objectWriteTraceId"),
        }

    def _update_tasks(self, exchange: Exchange, body: Any) -> None:
        inputs = body.get("inputs") or []
        exchange.ids = [str(item.get("id")) for item in inputs]
        duplicates = sorted({key for key in exchange.ids if exchange.ids.count(key) > 1})
        if self._batch_failure(exchange, inputs):
            return
        if duplicates:
            exchange.fail(
                400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: {duplicates}"
            )
            return
        with self._lock:
            errors = {
                key: error
                for key, item in zip(exchange.ids, inputs, strict=True)
                if (
                    error := self.reject_ids.get(key)
                    or (
                        None
                        if key in self.tasks
                        else f"task {key} does not exist (OBJECT_NOT_FOUND)"
                    )
                    or self._validate_task(item.get("properties") or {}, creating=False)
                )
            }
        if errors and not self.partial:
            self._fail_inputs(exchange, errors, "ids")
            return
        with self._lock:
            results = []
            for key, item in zip(exchange.ids, inputs, strict=True):
                if key in errors:
                    continue
                task = self.tasks[key]
                task["properties"].update(
                    {
                        name: "" if value is None else str(value)
                        for name, value in (item.get("properties") or {}).items()
                    }
                )
                results.append(
                    {"id": key, "properties": dict(task["properties"]), "archived": False}
                )
        self._hold(exchange.path)
        self._answer(exchange, results, errors, "ids", created=False)

    def _fail_inputs(self, exchange: Exchange, errors: dict[str, str], context: str) -> None:
        exchange.fail(
            400,
            "VALIDATION_ERROR",
            f"Property values were not valid for {len(errors)} inputs",
            errors=[
                {"message": f"{key}: {text}", "context": {context: [key]}}
                for key, text in errors.items()
            ],
        )

    def _answer(
        self,
        exchange: Exchange,
        results: list[dict[str, Any]],
        errors: dict[str, str],
        context: str,
        created: bool,
    ) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        payload: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if errors:
            payload["numErrors"] = len(errors)
            payload["errors"] = [
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": text,
                    "context": {context: [key]},
                }
                for key, text in errors.items()
            ]
        exchange.reply(207 if errors else (201 if created else 200), payload)

    def _search_tasks(self, exchange: Exchange, body: Any) -> None:
        limit = int(body.get("limit") or 10)
        if limit > SEARCH_PAGE_LIMIT:
            exchange.fail(400, "VALIDATION_ERROR", f"limit must be at most {SEARCH_PAGE_LIMIT}")
            return
        groups = body.get("filterGroups") or [{"filters": []}]
        with self._lock:
            matches = [
                task
                for task in sorted(self.tasks.values(), key=lambda item: item["created_ms"])
                if any(
                    all(self._matches(task, rule) for rule in group["filters"]) for group in groups
                )
            ]
        offset = int(body.get("after") or 0)
        if offset >= SEARCH_RESULT_CAP:
            exchange.fail(400, "VALIDATION_ERROR", "Search results are limited to 10,000")
            return
        page = matches[offset : offset + limit]
        requested = set(body.get("properties") or []) | {"hs_createdate", "hs_object_id"}
        payload: dict[str, Any] = {
            "total": len(matches),
            "results": [
                {
                    "id": task["id"],
                    "properties": {
                        name: value
                        for name, value in task["properties"].items()
                        if name in requested
                    },
                    "archived": False,
                }
                for task in page
            ],
        }
        if offset + limit < len(matches):
            payload["paging"] = {"next": {"after": str(offset + limit)}}
        exchange.reply(200, payload)

    @staticmethod
    def _matches(task: dict[str, Any], rule: dict[str, Any]) -> bool:
        name, operator, value = rule["propertyName"], rule["operator"], str(rule.get("value"))
        if name == "hs_createdate":
            left: Any = task["created_ms"]
            right: Any = int(value)
        else:
            left, right = task["properties"].get(name, ""), value
        comparisons = {
            "EQ": left == right,
            "GT": left > right,
            "GTE": left >= right,
            "LT": left < right,
            "LTE": left <= right,
        }
        return bool(comparisons[operator])


@dataclass
class Exchange:
    """One request being answered; `ids` are the batch's input ids, for the log. With
    `drop`, the answer is never sent: the connection closes instead."""

    stub: HubSpotStub
    handler: BaseHTTPRequestHandler
    method: str
    path: str
    ids: list[str] = field(default_factory=list)
    drop: bool = False

    def fail(
        self,
        status: int,
        category: str,
        message: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        """An error answer in HubSpot's shape."""
        body = {"status": "error", "category": category, "message": message, **extra}
        self.reply(status, body, headers)

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.raw(status, json.dumps(body).encode(), "application/json", headers)

    def raw(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.stub._log(self, status)
        if self.drop:
            self.handler.close_connection = True
            return
        try:
            self.handler.send_response(status)
            self.handler.send_header("Content-Type", content_type)
            self.handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.handler.send_header(name, value)
            self.handler.end_headers()
            self.handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
