"""The login rate limiter: window, Retry-After, independence of keys, thread safety."""

import threading
import unittest

from ledger.ratelimit import LoginRateLimiter, RateLimited


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def fail(limiter, key):
    with limiter.attempt(key) as record_failure:
        record_failure()


class LoginRateLimiterTest(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.limiter = LoginRateLimiter(max_failures=5, window=60.0, clock=self.clock)

    def test_five_failures_then_limited_until_the_window_passes(self):
        for _ in range(5):
            fail(self.limiter, "a@b")
            self.clock.now += 1
        with self.assertRaises(RateLimited) as caught:
            with self.limiter.attempt("a@b"):
                self.fail("attempt must be refused")
        self.assertEqual(caught.exception.retry_after, 55)  # first failure at 1000, now 1005
        self.clock.now = 1060.0  # the first failure leaves the window
        with self.limiter.attempt("a@b"):
            pass

    def test_refused_attempts_do_not_count(self):
        for _ in range(5):
            fail(self.limiter, "a@b")
        for _ in range(10):
            self.clock.now += 5
            with self.assertRaises(RateLimited):
                with self.limiter.attempt("a@b"):
                    pass
        self.clock.now = 1060.0
        with self.limiter.attempt("a@b"):
            pass

    def test_successes_do_not_count_and_keys_are_independent(self):
        for _ in range(4):
            fail(self.limiter, "a@b")
        for _ in range(10):
            with self.limiter.attempt("a@b"):
                pass  # a successful login records nothing
        for _ in range(5):
            fail(self.limiter, "other@b")
        fail(self.limiter, "a@b")  # the fifth failure is still allowed
        with self.assertRaises(RateLimited):
            with self.limiter.attempt("a@b"):
                pass

    def test_concurrent_guesses_cannot_exceed_the_limit(self):
        limiter = LoginRateLimiter(max_failures=5, window=60.0)
        allowed = []
        barrier = threading.Barrier(32)

        def guess():
            barrier.wait()
            try:
                with limiter.attempt("a@b") as record_failure:
                    allowed.append(1)
                    record_failure()
            except RateLimited:
                pass

        threads = [threading.Thread(target=guess) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(allowed), 5)


if __name__ == "__main__":
    unittest.main()
