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
- injected faults: a status (5xx, 429) or a delay for the next requests, a raw body (an
  HTML page or other non-HubSpot answer, with any status), an error answer that echoes the
  request's headers and URL back (as some proxies and debug servers do), and a hold that
  applies an upsert and then blocks before answering (a client killed mid-request).
Companies are stored by object id; an upsert finds a company by its idProperty value.
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


@dataclass
class LoggedRequest:
    at: float
    method: str
    path: str
    status: int
    inputs: int = 0
    ids: list[str] = field(default_factory=list)


class HubSpotStub:
    """Start with `start()`; `base_url` is then http://127.0.0.1:<port>."""

    def __init__(self, token: str, max_requests: int = 100, window_seconds: float = 10.0):
        self.token = token
        self.max_requests = max_requests
        self.window_seconds = window_seconds
        self.partial = False
        self.reject_ids: dict[str, str] = {}
        self.companies: dict[str, dict[str, Any]] = {}
        self.properties: dict[str, dict[str, Any]] = {
            name: dict(value) for name, value in BUILT_IN_PROPERTIES.items()
        }
        self.groups: set[str] = {"companyinformation"}
        self.log: list[LoggedRequest] = []
        self.faults: deque[Fault] = deque()
        self.hold_after: int | None = None
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
        """The next `count` authenticated requests get this fault first."""
        for _ in range(count):
            self.faults.append(Fault(**fault))

    def upserts(self) -> list[LoggedRequest]:
        return [item for item in self.log if item.path.endswith("/batch/upsert")]

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
            fault = self.faults.popleft() if self.faults else None
            limited = self._rate_limited()
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

    def _route(self, exchange: Exchange, body: Any) -> None:
        method, path = exchange.method, exchange.path
        if (method, path) == ("POST", "/crm/v3/objects/companies/batch/upsert"):
            self._upsert(exchange, body)
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
            exchange.fail(
                400,
                "VALIDATION_ERROR",
                f"Property values were not valid for {len(errors)} inputs",
                errors=[
                    {"message": f"{key}: {text}", "context": {"ids": [key]}}
                    for key, text in errors.items()
                ],
            )
        else:
            self._store(exchange, inputs, errors)

    def _store(
        self, exchange: Exchange, inputs: list[dict[str, Any]], errors: dict[str, str]
    ) -> None:
        """Apply the valid inputs; answer 200, or 207 listing the invalid ones."""
        with self._lock:
            results = [self._apply(item) for item in inputs if item["id"] not in errors]
            hold = self.hold_after is not None and len(self.upserts()) >= self.hold_after
        if hold:
            self.held.set()
            self.release.wait(timeout=60)
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
                    "context": {"ids": [key]},
                }
                for key, text in errors.items()
            ]
        exchange.reply(207 if errors else 200, payload)

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
                )
            )


@dataclass
class Exchange:
    """One request being answered; `ids` are the upsert's input ids, for the log."""

    stub: HubSpotStub
    handler: BaseHTTPRequestHandler
    method: str
    path: str
    ids: list[str] = field(default_factory=list)

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
