"""Field validation: emails, passwords, currencies, ids, idempotency keys, page sizes."""

import unittest

from ledger.errors import ApiError
from ledger.validation import (parse_limit, parse_uuid, validate_currency, validate_email,
                               validate_idempotency_key, validate_password)


class ValidationTest(unittest.TestCase):
    def assertRefused(self, func, value, status=422, code="validation_failed"):
        with self.assertRaises(ApiError) as caught:
            func(value)
        self.assertEqual((caught.exception.status, caught.exception.code), (status, code))

    def test_email(self):
        for ok in ["a@b", "Alice@Example.COM", "x" * 64 + "@" + "y" * 189]:
            self.assertEqual(validate_email(ok), ok)
        for bad in ["", "ab", "@b", "a@", "a@b@c", "x" * 250 + "@b.cd", "a\x00@b", "a\ud800@b"]:
            with self.subTest(bad=bad):
                self.assertRefused(validate_email, bad)

    def test_password_counts_code_points(self):
        self.assertEqual(validate_password("12345678"), "12345678")
        self.assertEqual(validate_password("é" * 128), "é" * 128)  # 256 bytes, 128 characters
        self.assertEqual(validate_password("🙂" * 8), "🙂" * 8)
        for bad in ["1234567", "x" * 129, ""]:
            self.assertRefused(validate_password, bad)

    def test_currency(self):
        for ok in ["EUR", "USD", "GBP"]:
            self.assertEqual(validate_currency(ok), ok)
        for bad in ["eur", "JPY", "", None, 1]:
            self.assertRefused(validate_currency, bad)

    def test_uuid(self):
        canonical = "0b9b6b4c-8f4a-4d2c-9a7e-5f0c3e1d2a6b"
        self.assertEqual(parse_uuid(canonical.upper()), canonical)
        for bad in ["", "nope", "1234", canonical + "0", None, 7, "x" * 100]:
            self.assertIsNone(parse_uuid(bad))

    def test_idempotency_key(self):
        for ok in ["k", "x" * 64, " ~!", "a b"]:
            self.assertEqual(validate_idempotency_key(ok), ok)
        for bad in [None, "", "x" * 65, "tab\there", "é", "\x7f"]:
            with self.subTest(bad=bad):
                self.assertRefused(validate_idempotency_key, bad, 400, "idempotency_key_required")

    def test_limit(self):
        self.assertEqual(parse_limit(None), 50)
        self.assertEqual(parse_limit("1"), 1)
        self.assertEqual(parse_limit("100"), 100)
        for bad in ["0", "101", "-1", "", "abc", "1.5", " 5", "9" * 30]:
            with self.subTest(bad=bad):
                self.assertRefused(parse_limit, bad)


if __name__ == "__main__":
    unittest.main()
