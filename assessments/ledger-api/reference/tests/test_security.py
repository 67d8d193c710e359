"""Password hashing and access tokens."""

import time
import unittest

import jwt

from ledger.security import (TOKEN_TTL_SECONDS, hash_password, issue_token, token_subject,
                             verify_password)

SECRET = "test-secret"
USER = "0b9b6b4c-8f4a-4d2c-9a7e-5f0c3e1d2a6b"


class PasswordTest(unittest.TestCase):
    def test_bcrypt_cost_10_and_salted(self):
        first, second = hash_password("correct horse"), hash_password("correct horse")
        self.assertTrue(first.startswith("$2b$10$"))
        self.assertNotEqual(first, second)
        self.assertTrue(verify_password("correct horse", first))
        self.assertFalse(verify_password("correct horsE", first))

    def test_long_passwords_differ_past_72_bytes(self):
        stored = hash_password("a" * 100 + "1")
        self.assertFalse(verify_password("a" * 100 + "2", stored))


class TokenTest(unittest.TestCase):
    def test_round_trip(self):
        token, ttl = issue_token(SECRET, USER)
        self.assertEqual(ttl, TOKEN_TTL_SECONDS)
        self.assertEqual(token_subject(SECRET, token), USER)
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        self.assertEqual(claims["exp"] - claims["iat"], 3600)

    def test_refused_tokens(self):
        now = int(time.time())
        refused = {
            "wrong key": jwt.encode({"sub": USER, "exp": now + 60}, "other", algorithm="HS256"),
            "expired": jwt.encode({"sub": USER, "exp": now - 1}, SECRET, algorithm="HS256"),
            "no exp": jwt.encode({"sub": USER}, SECRET, algorithm="HS256"),
            "no sub": jwt.encode({"exp": now + 60}, SECRET, algorithm="HS256"),
            "alg none": jwt.encode({"sub": USER, "exp": now + 60}, None, algorithm="none"),
            "HS512": jwt.encode({"sub": USER, "exp": now + 60}, SECRET, algorithm="HS512"),
            "garbage": "not.a.token",
        }
        token, _ = issue_token(SECRET, USER)
        head, payload, signature = token.split(".")
        refused["tampered"] = f"{head}.{payload}.{signature[:-2]}AA"
        for name, token in refused.items():
            with self.subTest(name):
                self.assertIsNone(token_subject(SECRET, token))


if __name__ == "__main__":
    unittest.main()
