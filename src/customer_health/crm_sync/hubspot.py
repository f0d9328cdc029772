"""HubSpot CRM client: batch upserts under a rate limit, bounded retries, bad-row isolation.

The access token is sent only in the Authorization header, and only over https (plain http
to a loopback host, for a local stand-in). Every message, exception and the object's repr
pass through `redact`: neither the token nor credentials in the base URL appear in them,
even when the server echoes the request back.

A batch counts as delivered only when HubSpot's answer says so in its documented shape:
`{"status": "COMPLETE", "results": [{"id": ..., "properties": {<idProperty>: <id>, ...}}]}`
(and `errors` beside `results` in a 207). Any other answer leaves the batch's records
undelivered, to be sent again.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from customer_health.crm_sync.payload import Record
from customer_health.crm_sync.ratelimit import SlidingWindowLimiter
from customer_health.crm_sync.redact import redact, secrets_of

MAX_BATCH_INPUTS = 100
# A rejection of the batch's content: split the batch to find the bad rows.
SPLITTABLE_STATUSES = frozenset({400, 409, 413, 422})
# The batch status of an answer whose results are final.
COMPLETE = "COMPLETE"
# How much of an unexpected answer's body a message quotes.
BODY_EXCERPT = 200


class HubSpotError(Exception):
    """A failure no retry or split can fix (bad token, missing scope, wrong URL)."""


class ApiBaseError(ValueError):
    """The API base URL is not one the token may be sent to."""


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_base(url: str) -> None:
    """ApiBaseError unless `url` is https, or plain http to a loopback host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise ApiBaseError(f"HUBSPOT_API_BASE {redact(url)!r} is not a URL with a host")
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback(host)):
        return
    raise ApiBaseError(
        f"HUBSPOT_API_BASE must be an https URL (plain http only to localhost, 127.0.0.0/8 "
        f"or ::1), not {redact(url)}"
    )


class TransientError(Exception):
    """A failure worth retrying: 5xx, a timeout, a dropped connection, or a 429.

    `may_have_applied` is False only when the server cannot have acted on the request: the
    connection was never made (connect error or timeout, no free connection) or the answer
    was a 429. A 5xx, a read timeout or a connection dropped after sending leave the outcome
    unknown: an idempotent request may be sent again, a create may not."""

    def __init__(
        self, message: str, status: int | None = None, *, may_have_applied: bool = True
    ) -> None:
        super().__init__(message)
        self.status = status
        self.may_have_applied = may_have_applied


class RateLimitedError(TransientError):
    """HTTP 429; `retry_after` is the wait the server asked for, in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, 429, may_have_applied=False)
        self.retry_after = retry_after


# Transport failures before the request left this machine: nothing reached the server.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# HubSpot's error category for ids that name no record (batch read, update).
OBJECT_NOT_FOUND = "OBJECT_NOT_FOUND"


def retry_safe(exc: BaseException) -> bool:
    """Whether a non-idempotent request (a create) may be sent again after `exc`."""
    return isinstance(exc, TransientError) and not exc.may_have_applied


def retry_any(exc: BaseException) -> bool:
    return isinstance(exc, TransientError)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter, and the request timeout."""

    max_attempts: int = 6
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    jitter: float = 1.0
    timeout: float = 30.0


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


@dataclass(frozen=True)
class RecordError:
    """A record the destination did not take: `rejected` (the API refused it) or
    `undelivered` (no answer after the bounded retries). `outcome_unknown`: a create that
    HubSpot may have applied although no answer confirmed it (looked up before it is sent
    again)."""

    record_id: str
    error_kind: str
    http_status: int | None
    category: str | None
    message: str
    outcome_unknown: bool = False


@dataclass
class BatchOutcome:
    """Records confirmed (external id -> CRM object id, when the response names it) and not."""

    succeeded: dict[str, str | None] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)

    def merge(self, other: BatchOutcome) -> None:
        self.succeeded.update(other.succeeded)
        self.errors.extend(other.errors)


def excerpt(response: httpx.Response) -> str:
    """The start of a response body on one line."""
    text = " ".join(response.text.split())
    return text[:BODY_EXCERPT] + ("..." if len(text) > BODY_EXCERPT else "")


def error_text(response: httpx.Response, secrets: Sequence[str] = ()) -> tuple[str | None, str]:
    """(category, message) of a HubSpot error response, or the status line, redacted."""
    try:
        body = response.json()
    except ValueError:
        return None, redact(f"HTTP {response.status_code}: {excerpt(response)}", secrets)
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    category = body.get("category") or body.get("errorType")
    message = str(body.get("message") or f"HTTP {response.status_code}")
    errors = body.get("errors")
    details = [
        str(item["message"])
        for item in (errors if isinstance(errors, list) else [])
        if isinstance(item, dict) and item.get("message")
    ]
    if details:
        message += " (" + "; ".join(details[:5]) + ")"
    return (
        redact(category, secrets) if isinstance(category, str) else None,
        redact(message, secrets),
    )


def batch_results(body: Any, id_property: str) -> dict[str, str] | None:
    """external id -> CRM object id of each result of a batch answer in HubSpot's documented
    shape (`status` COMPLETE, `results` of objects with an `id` and `properties` holding
    the idProperty's value); None for any other shape."""
    if not isinstance(body, dict) or body.get("status") != COMPLETE:
        return None
    results = body.get("results")
    if not isinstance(results, list):
        return None
    found: dict[str, str] = {}
    for result in results:
        if not isinstance(result, dict):
            return None
        object_id, properties = result.get("id"), result.get("properties")
        if not isinstance(object_id, str | int) or isinstance(object_id, bool):
            return None
        if not isinstance(properties, dict):
            return None
        key = properties.get(id_property)
        if not isinstance(key, str) or not key or not str(object_id):
            return None
        found[key] = str(object_id)
    return found


def batch_errors(body: Any) -> dict[str, tuple[str | None, str]] | None:
    """record id -> (category, message) of each error of a 207 answer, named by the
    error's `context` (`ids`, `objectWriteTraceId` or `id` lists); None for another shape."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return None
    rejected: dict[str, tuple[str | None, str]] = {}
    for error in errors:
        if not isinstance(error, dict):
            return None
        context = error.get("context") or {}
        if not isinstance(context, dict):
            return None
        category, message = error.get("category"), error.get("message")
        for key in ("ids", "objectWriteTraceId", "id"):
            names = context.get(key)
            if names is None:
                continue
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                return None
            for name in names:
                rejected[name] = (
                    category if isinstance(category, str) else None,
                    str(message) if message else "rejected without a message",
                )
    return rejected


def parse_retry_after(value: str | None, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds form); the default when absent."""
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


class HubSpotClient:
    """Upserts records into one CRM object type keyed by a unique property."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        id_property: str,
        limiter: SlidingWindowLimiter,
        policy: RetryPolicy | None = None,
        object_type: str = "companies",
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise HubSpotError("HUBSPOT_ACCESS_TOKEN is empty")
        check_api_base(base_url)
        self.secrets = secrets_of(token, base_url)
        self.id_property = id_property
        self.object_type = object_type
        self.policy = policy or RetryPolicy()
        self.stats = RequestStats()
        self._limiter = limiter
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(
            multiplier=self.policy.backoff_initial,
            max=self.policy.backoff_max,
            jitter=self.policy.jitter,
        )
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=self.policy.timeout,
            transport=transport,
        )

    @classmethod
    def with_rate_limit(
        cls,
        base_url: str,
        token: str,
        *,
        id_property: str,
        max_requests: int,
        window_seconds: float,
        policy: RetryPolicy,
    ) -> HubSpotClient:
        """A client with its own rolling-window limiter."""
        return cls(
            base_url,
            token,
            id_property=id_property,
            limiter=SlidingWindowLimiter(max_requests, window_seconds),
            policy=policy,
        )

    def __repr__(self) -> str:
        return self.redact(
            f"HubSpotClient({self._http.base_url!s}, object_type={self.object_type!r})"
        )

    def redact(self, text: str) -> str:
        """`text` without this client's token and base-URL credentials."""
        return redact(text, self.secrets)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- one request, then the retried request -----------------------------------------

    def _send(
        self, method: str, path: str, body: Any, limiter: SlidingWindowLimiter | None
    ) -> httpx.Response:
        with self._limiter.slot():
            if limiter is None:
                return self._http.request(method, path, json=body)
            with limiter.slot():
                return self._http.request(method, path, json=body)

    def _attempt(
        self, method: str, path: str, body: Any, limiter: SlidingWindowLimiter | None = None
    ) -> httpx.Response:
        self.stats.requests += 1
        try:
            response = self._send(method, path, body, limiter)
        except httpx.TimeoutException as exc:
            raise TransientError(
                f"{method} {path}: timed out ({type(exc).__name__})",
                may_have_applied=not isinstance(exc, NOT_SENT),
            ) from None
        except httpx.TransportError as exc:
            raise TransientError(
                f"{method} {path}: {type(exc).__name__}",
                may_have_applied=not isinstance(exc, NOT_SENT),
            ) from None
        if response.status_code == 429:
            self.stats.rate_limited += 1
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self._limiter.window_seconds
            )
            raise RateLimitedError(f"{method} {path}: HTTP 429 (rate limited)", retry_after)
        if response.status_code >= 500:
            _, message = error_text(response, self.secrets)
            raise TransientError(f"{method} {path}: {message}", response.status_code)
        return response

    def _wait(self, state: RetryCallState) -> float:
        delay = float(self._backoff(state))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError):
            delay = max(delay, exc.retry_after)
        return delay

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotent: bool = True,
        limiter: SlidingWindowLimiter | None = None,
        not_found_ok: bool = False,
    ) -> httpx.Response:
        """The request, retried on 5xx, timeouts, connection errors and 429 (at least
        Retry-After apart); raises TransientError once the attempts are used up.

        A request that is not `idempotent` (a create) is retried only where the server
        cannot have acted on it (429, no connection made); after a 5xx, a read timeout or a
        dropped connection the TransientError is raised at once, its outcome unknown.
        `limiter` is a second rolling window the request must also fit (the search API's).
        With `not_found_ok`, a 404 whose body is HubSpot's OBJECT_NOT_FOUND error is
        returned (batch endpoints naming a deleted record) instead of raised."""
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(retry_any if idempotent else retry_safe),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        response: httpx.Response = retrying(self._attempt, method, path, body, limiter)
        if not_found_ok and response.status_code == 404 and self._not_found(response):
            return response
        if response.status_code in (401, 403):
            _, message = error_text(response, self.secrets)
            raise HubSpotError(
                f"HubSpot refused the token (HTTP {response.status_code}: {message}); check "
                "HUBSPOT_ACCESS_TOKEN and the private app's scopes"
            )
        if response.status_code in (404, 405):
            raise HubSpotError(
                self.redact(
                    f"{method} {self._http.base_url}{path} answered HTTP "
                    f"{response.status_code}; check HUBSPOT_API_BASE"
                )
            )
        return response

    # --- batch upsert ----------------------------------------------------------------

    def upsert(self, records: Sequence[Record]) -> BatchOutcome:
        """Upsert up to 100 records. A rejected batch is split in halves until the bad
        records are isolated; each is returned as `rejected` with the API's message."""
        if not records:
            return BatchOutcome()
        if len(records) > MAX_BATCH_INPUTS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_INPUTS} inputs")
        ids = [record.record_id for record in records]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate ids in one batch")
        body = {
            "inputs": [
                {
                    "id": record.record_id,
                    "idProperty": self.id_property,
                    "objectWriteTraceId": record.record_id,
                    "properties": record.properties,
                }
                for record in records
            ]
        }
        path = f"/crm/v3/objects/{self.object_type}/batch/upsert"
        try:
            response = self.request("POST", path, body)
        except TransientError as exc:
            return BatchOutcome(
                errors=[
                    RecordError(
                        record_id,
                        "undelivered",
                        exc.status,
                        None,
                        self.redact(f"{exc} (after {self.policy.max_attempts} attempts)"),
                    )
                    for record_id in ids
                ]
            )
        if response.status_code in (200, 201):
            return self._complete(response, ids)
        if response.status_code == 207:
            return self._multi_status(response, ids)
        category, message = error_text(response, self.secrets)
        if response.status_code in SPLITTABLE_STATUSES and len(records) > 1:
            middle = len(records) // 2
            outcome = self.upsert(records[:middle])
            outcome.merge(self.upsert(records[middle:]))
            return outcome
        kind = "rejected" if 400 <= response.status_code < 500 else "undelivered"
        return BatchOutcome(
            errors=[
                RecordError(record_id, kind, response.status_code, category, message)
                for record_id in ids
            ]
        )

    def _undelivered(self, response: httpx.Response, ids: list[str], reason: str) -> BatchOutcome:
        """Every record of the batch undelivered: the answer does not confirm them."""
        message = self.redact(
            f"the answer {reason}; sent again next run: {excerpt(response) or '(empty body)'}"
        )
        return BatchOutcome(
            errors=[
                RecordError(record_id, "undelivered", response.status_code, None, message)
                for record_id in ids
            ]
        )

    def _not_found(self, response: httpx.Response) -> bool:
        """A 404 in HubSpot's error shape saying a named record does not exist."""
        body = self._body(response)
        return isinstance(body, dict) and body.get("category") == OBJECT_NOT_FOUND

    def _body(self, response: httpx.Response) -> Any:
        """The answer's JSON, or None when it is not JSON."""
        try:
            return response.json()
        except ValueError:
            return None

    def _complete(self, response: httpx.Response, ids: list[str]) -> BatchOutcome:
        """200/201: the batch is confirmed only when the answer is HubSpot's batch JSON
        with a result for every record (matched by the idProperty value)."""
        found = batch_results(self._body(response), self.id_property)
        if found is None:
            return self._undelivered(response, ids, "is not HubSpot's batch response")
        missing = [record_id for record_id in ids if record_id not in found]
        if missing:
            return self._undelivered(
                response, ids, f"has no result for {len(missing)} of the {len(ids)} records"
            )
        return BatchOutcome(succeeded={record_id: found[record_id] for record_id in ids})

    def _multi_status(self, response: httpx.Response, ids: list[str]) -> BatchOutcome:
        """207: some records in `results`, others in `errors` (named by context ids or the
        objectWriteTraceId); a record in neither is undelivered, to be sent again. An answer
        of another shape leaves the whole batch undelivered."""
        body = self._body(response)
        succeeded = batch_results(body, self.id_property)
        rejected = batch_errors(body)
        if succeeded is None or rejected is None:
            return self._undelivered(response, ids, "is not HubSpot's multi-status response")
        outcome = BatchOutcome()
        for record_id in ids:
            if record_id in rejected:
                category, message = rejected[record_id]
                outcome.errors.append(
                    RecordError(
                        record_id,
                        "rejected",
                        207,
                        self.redact(category) if category is not None else None,
                        self.redact(message),
                    )
                )
            elif record_id in succeeded:
                outcome.succeeded[record_id] = succeeded[record_id]
            else:
                outcome.errors.append(
                    RecordError(record_id, "undelivered", 207, None, "not in the 207 response")
                )
        return outcome

    # --- property definitions -----------------------------------------------------------

    def list_properties(self) -> dict[str, dict[str, Any]]:
        response = self.request("GET", f"/crm/v3/properties/{self.object_type}")
        self._raise_for(response)
        body = self._body(response)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or not all(
            isinstance(item, dict) and isinstance(item.get("name"), str) for item in results
        ):
            raise HubSpotError(
                self.redact(f"the property list is not HubSpot's JSON: {excerpt(response)}")
            )
        return {item["name"]: item for item in results}

    def create_group(self, name: str, label: str) -> bool:
        """Create the property group; False when it exists already."""
        response = self.request(
            "POST",
            f"/crm/v3/properties/{self.object_type}/groups",
            {"name": name, "label": label, "displayOrder": -1},
        )
        if response.status_code == 409:
            return False
        self._raise_for(response)
        return True

    def create_properties(self, definitions: list[dict[str, Any]]) -> None:
        response = self.request(
            "POST",
            f"/crm/v3/properties/{self.object_type}/batch/create",
            {"inputs": definitions},
        )
        self._raise_for(response)

    def update_property(self, name: str, changes: dict[str, Any]) -> None:
        response = self.request("PATCH", f"/crm/v3/properties/{self.object_type}/{name}", changes)
        self._raise_for(response)

    def _raise_for(self, response: httpx.Response) -> None:
        if response.status_code >= 300:
            _, message = error_text(response, self.secrets)
            raise HubSpotError(f"HTTP {response.status_code}: {message}")
