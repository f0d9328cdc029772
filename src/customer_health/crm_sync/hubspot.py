"""HubSpot CRM client: batch upserts under a rate limit, bounded retries, bad-row isolation.

The access token is sent only in the Authorization header. It is never part of a message,
an exception or the object's repr.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from customer_health.crm_sync.payload import Record
from customer_health.crm_sync.ratelimit import SlidingWindowLimiter

MAX_BATCH_INPUTS = 100
# A rejection of the batch's content: split the batch to find the bad rows.
SPLITTABLE_STATUSES = frozenset({400, 409, 413, 422})


class HubSpotError(Exception):
    """A failure no retry or split can fix (bad token, missing scope, wrong URL)."""


class TransientError(Exception):
    """A failure worth retrying: 5xx, a timeout, a dropped connection, or a 429."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimitedError(TransientError):
    """HTTP 429; `retry_after` is the wait the server asked for, in seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, 429)
        self.retry_after = retry_after


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
    `undelivered` (no answer after the bounded retries)."""

    record_id: str
    error_kind: str
    http_status: int | None
    category: str | None
    message: str


@dataclass
class BatchOutcome:
    """Records confirmed (external id -> CRM object id, when the response names it) and not."""

    succeeded: dict[str, str | None] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)

    def merge(self, other: BatchOutcome) -> None:
        self.succeeded.update(other.succeeded)
        self.errors.extend(other.errors)


def error_text(response: httpx.Response) -> tuple[str | None, str]:
    """(category, message) of a HubSpot error response, or the status line."""
    try:
        body = response.json()
    except ValueError:
        return None, f"HTTP {response.status_code}: {response.text[:300]}"
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    category = body.get("category") or body.get("errorType")
    message = str(body.get("message") or f"HTTP {response.status_code}")
    details = [str(item.get("message")) for item in body.get("errors") or [] if item.get("message")]
    if details:
        message += " (" + "; ".join(details[:5]) + ")"
    return category, message


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
        return f"HubSpotClient({self._http.base_url!s}, object_type={self.object_type!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- one request, then the retried request -----------------------------------------

    def _attempt(self, method: str, path: str, body: Any) -> httpx.Response:
        self.stats.requests += 1
        try:
            with self._limiter.slot():
                response = self._http.request(method, path, json=body)
        except httpx.TimeoutException as exc:
            raise TransientError(f"{method} {path}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{method} {path}: {type(exc).__name__}") from None
        if response.status_code == 429:
            self.stats.rate_limited += 1
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self._limiter.window_seconds
            )
            raise RateLimitedError(f"{method} {path}: HTTP 429 (rate limited)", retry_after)
        if response.status_code >= 500:
            _, message = error_text(response)
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

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """The request, retried on 5xx, timeouts, connection errors and 429 (at least
        Retry-After apart); raises TransientError once the attempts are used up."""
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        response: httpx.Response = retrying(self._attempt, method, path, body)
        if response.status_code in (401, 403):
            _, message = error_text(response)
            raise HubSpotError(
                f"HubSpot refused the token (HTTP {response.status_code}: {message}); check "
                "HUBSPOT_ACCESS_TOKEN and the private app's scopes"
            )
        if response.status_code in (404, 405):
            raise HubSpotError(
                f"{method} {self._http.base_url}{path} answered HTTP {response.status_code}; "
                "check HUBSPOT_API_BASE"
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
                        f"{exc} (after {self.policy.max_attempts} attempts)",
                    )
                    for record_id in ids
                ]
            )
        if response.status_code in (200, 201):
            return BatchOutcome(succeeded=self._object_ids(response, ids))
        if response.status_code == 207:
            return self._multi_status(response, ids)
        category, message = error_text(response)
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

    def _result_ids(self, body: Any) -> dict[str, str | None]:
        """external id -> CRM object id of each result in a batch response, keyed by the
        objectWriteTraceId echoed back or the idProperty value."""
        found: dict[str, str | None] = {}
        results = body.get("results") if isinstance(body, dict) else None
        for result in results or []:
            key = result.get("objectWriteTraceId") or (result.get("properties") or {}).get(
                self.id_property
            )
            if key is not None:
                object_id = result.get("id")
                found[str(key)] = str(object_id) if object_id is not None else None
        return found

    def _object_ids(self, response: httpx.Response, ids: list[str]) -> dict[str, str | None]:
        """Every record of a 200 succeeded; the CRM object id where the response names it."""
        try:
            found = self._result_ids(response.json())
        except ValueError:
            found = {}
        return {record_id: found.get(record_id) for record_id in ids}

    def _multi_status(self, response: httpx.Response, ids: list[str]) -> BatchOutcome:
        """207: some records in `results`, others in `errors` (named by context ids or the
        objectWriteTraceId); a record in neither is undelivered, to be sent again."""
        body = response.json()
        rejected: dict[str, tuple[str | None, str]] = {}
        for error in body.get("errors") or []:
            context = error.get("context") or {}
            names = [
                *(context.get("ids") or []),
                *(context.get("objectWriteTraceId") or []),
                *(context.get("id") or []),
            ]
            for name in names:
                rejected[str(name)] = (error.get("category"), str(error.get("message")))
        succeeded = self._result_ids(body)
        outcome = BatchOutcome()
        for record_id in ids:
            if record_id in rejected:
                category, message = rejected[record_id]
                outcome.errors.append(RecordError(record_id, "rejected", 207, category, message))
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
        response.raise_for_status()
        return {item["name"]: item for item in response.json().get("results") or []}

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

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code >= 300:
            _, message = error_text(response)
            raise HubSpotError(f"HTTP {response.status_code}: {message}")
