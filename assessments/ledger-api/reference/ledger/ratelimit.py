"""An in-memory, thread-safe limit on failed logins per email (sliding window).

After `max_failures` failed attempts for an email within `window` seconds, further attempts
for that email are refused until the oldest of those failures leaves the window. Refused
attempts do not count. Attempts for one email are serialised (a striped lock), so a burst
of concurrent guesses cannot slip more than `max_failures` checks through the window.

Trade-off: the counters live in this process. That matches the service's single worker
process; several processes or replicas would need a shared store (e.g. a table or Redis).
"""

import math
import threading
import time
from collections import deque
from contextlib import contextmanager

_STRIPES = 64
_SWEEP_EVERY = 1024


class RateLimited(Exception):
    def __init__(self, retry_after):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class LoginRateLimiter:
    def __init__(self, max_failures=5, window=60.0, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._failures = {}  # key -> deque of failure times, oldest first
        self._failures_lock = threading.Lock()
        self._recorded = 0

    @contextmanager
    def attempt(self, key):
        """Guard one login attempt for `key`.

        Raises RateLimited (with the seconds to wait) when the key is over the limit.
        Otherwise yields a callable to report a failed attempt; the body of the `with`
        runs while holding the key's lock.
        """
        with self._stripes[hash(key) % _STRIPES]:
            now = self._clock()
            failures = self._recent_failures(key, now)
            if len(failures) >= self.max_failures:
                wait = failures[0] + self.window - now
                raise RateLimited(max(1, math.ceil(wait)))
            yield lambda: self._record_failure(key)

    def _recent_failures(self, key, now):
        with self._failures_lock:
            failures = self._failures.get(key)
            if failures is None:
                return ()
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if not failures:
                del self._failures[key]
                return ()
            return tuple(failures)

    def _record_failure(self, key):
        with self._failures_lock:
            self._failures.setdefault(key, deque()).append(self._clock())
            self._recorded += 1
            if self._recorded % _SWEEP_EVERY == 0:
                self._sweep(self._clock())

    def _sweep(self, now):
        """Forget keys whose failures have all left the window (bounds memory)."""
        stale = [k for k, times in self._failures.items() if times[-1] <= now - self.window]
        for key in stale:
            del self._failures[key]
