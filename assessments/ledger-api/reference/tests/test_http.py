"""HTTP behaviour that needs no database: error bodies, body limits, auth, idempotency keys."""

import json
import unittest

from ledger.app import create_app
from ledger.config import Settings
from ledger.db import Database
from ledger.idempotency import fingerprint


class HttpTest(unittest.TestCase):
    def setUp(self):
        settings = Settings(database_url="postgres://nobody@127.0.0.1:1/none", jwt_secret="s")
        app = create_app(settings, Database(settings.database_url), start_database=False)
        self.client = app.test_client()

    def assertError(self, response, status, code):
        self.assertEqual(response.status_code, status, response.data)
        self.assertEqual(response.mimetype, "application/json")
        body = response.get_json()
        self.assertEqual(set(body), {"error"})
        self.assertEqual(body["error"]["code"], code)
        self.assertIsInstance(body["error"]["message"], str)

    def test_unknown_route_and_wrong_method(self):
        self.assertError(self.client.get("/nope"), 404, "not_found")
        response = self.client.delete("/v1/users")
        self.assertError(response, 405, "method_not_allowed")
        self.assertIn("POST", response.headers["Allow"])

    def test_malformed_json_is_400_and_rule_breaking_json_is_422(self):
        self.assertError(self.client.post("/v1/users", data="{"), 400, "malformed_json")
        self.assertError(self.client.post("/v1/users", data=b"\xff"), 400, "malformed_json")
        self.assertError(self.client.post("/v1/users", data="NaN"), 400, "malformed_json")
        self.assertError(self.client.post("/v1/users", data=""), 400, "malformed_json")
        self.assertError(self.client.post("/v1/users", json=[]), 422, "validation_failed")
        self.assertError(self.client.post("/v1/users", json={"email": "x", "password": "12345678"}),
                         422, "validation_failed")
        self.assertError(self.client.post("/v1/users", json={"email": "a@b", "password": 12345678}),
                         422, "validation_failed")
        self.assertError(self.client.post("/v1/auth/token", json={"email": "a@b"}),
                         422, "validation_failed")

    def test_oversized_body_is_413(self):
        body = json.dumps({"email": "a@b", "password": "x" * (70 * 1024)})
        self.assertError(self.client.post("/v1/users", data=body), 413, "payload_too_large")

    def test_authentication_comes_first(self):
        for headers in [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                        {"Authorization": "Bearer not.a.token"}]:
            with self.subTest(headers=headers):
                self.assertError(self.client.get("/v1/accounts", headers=headers),
                                 401, "unauthorized")
                self.assertError(self.client.post("/v1/transfers", data="{", headers=headers),
                                 401, "unauthorized")

    def test_database_not_ready_is_503_and_healthz_says_so(self):
        response = self.client.post("/v1/users", json={"email": "a@b", "password": "12345678"})
        self.assertEqual(response.status_code, 503)
        self.assertEqual(self.client.get("/healthz").status_code, 503)


class FingerprintTest(unittest.TestCase):
    def test_equal_json_gives_equal_fingerprints(self):
        a = fingerprint("POST", "/v1/transfers", {"amount": "1.00", "to_account_id": "x"})
        b = fingerprint("POST", "/v1/transfers", {"to_account_id": "x", "amount": "1.00"})
        self.assertEqual(a, b)

    def test_method_path_and_body_matter(self):
        base = fingerprint("POST", "/v1/accounts/a/deposits", {"amount": "1.00"})
        self.assertNotEqual(base, fingerprint("POST", "/v1/accounts/b/deposits", {"amount": "1.00"}))
        self.assertNotEqual(base, fingerprint("POST", "/v1/accounts/a/deposits", {"amount": "1.0"}))
        self.assertNotEqual(base, fingerprint("PUT", "/v1/accounts/a/deposits", {"amount": "1.00"}))


if __name__ == "__main__":
    unittest.main()
