"""Cursors: round trip, opacity, and refusal of anything not made by the service."""

import base64
import json
import unittest

from ledger.errors import ApiError
from ledger.pagination import decode_cursor, encode_cursor

ACCOUNT = "0b9b6b4c-8f4a-4d2c-9a7e-5f0c3e1d2a6b"
OTHER = "7d1f3a52-3c1e-4b8e-8f0f-2a8f6d9c1b3e"


def forge(payload):
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


class CursorTest(unittest.TestCase):
    def test_round_trip(self):
        for seq in [1, 50, 2 ** 40]:
            cursor = encode_cursor(ACCOUNT, seq)
            self.assertRegex(cursor, r"^[A-Za-z0-9_-]+$")  # URL-safe, no padding
            self.assertEqual(decode_cursor(cursor, ACCOUNT), seq)

    def test_malformed_cursors_are_422(self):
        bad = ["", "!!!", "abc", "x" * 300, "é", forge([1]), forge({"v": 1, "a": ACCOUNT}),
               forge({"v": 2, "a": ACCOUNT, "s": 5}), forge({"v": 1, "a": ACCOUNT, "s": 0}),
               forge({"v": 1, "a": ACCOUNT, "s": -3}), forge({"v": 1, "a": ACCOUNT, "s": "5"}),
               forge({"v": 1, "a": ACCOUNT, "s": True}), forge({"v": 1, "a": ACCOUNT, "s": 2 ** 63}),
               encode_cursor(OTHER, 5)]
        for cursor in bad:
            with self.subTest(cursor=cursor), self.assertRaises(ApiError) as caught:
                decode_cursor(cursor, ACCOUNT)
            self.assertEqual(caught.exception.status, 422)


if __name__ == "__main__":
    unittest.main()
