"""Client-side rate limit: at most N requests in any rolling window of W seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class SlidingWindowLimiter:
    """Blocks before a request until fewer than `max_requests` were sent in the last
    `window_seconds` (HubSpot counts private-app requests per rolling 10 seconds).

    A request is counted from when its response arrived (`slot`), not from when it was sent:
    the server saw it no later than that, so N+1 requests never reach the server within
    one window, however the network delays them."""

    def __init__(
        self,
        max_requests: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or window_seconds <= 0:
            raise ValueError("the rate limit needs max_requests >= 1 and window_seconds > 0")
        self.max_requests = max_requests
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()

    def acquire(self) -> float:
        """Wait for a free slot, take it, and return the seconds waited."""
        waited = 0.0
        while True:
            now = self._clock()
            while self._sent and self._sent[0] + self.window_seconds <= now:
                self._sent.popleft()
            if len(self._sent) < self.max_requests:
                self._sent.append(now)
                return waited
            delay = self._sent[0] + self.window_seconds - now
            self._sleep(delay)
            waited += delay
            # The oldest request has left the window now (even where the clock's float
            # arithmetic lands a hair short of it).
            self._sent.popleft()

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Wait for a free slot (yielding the seconds waited); the request made inside the
        block is counted from the moment the block ends."""
        waited = self.acquire()
        try:
            yield waited
        finally:
            self._sent[-1] = max(self._sent[-1], self._clock())
