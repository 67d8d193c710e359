"""HTTP behaviour that needs no database: the error envelope, auth, bodies, routing."""

import unittest

from conduit.app import create_app
from conduit.config import Settings
from conduit.db import Database


class HttpTest(unittest.TestCase):
    def setUp(self):
        settings = Settings(database_url="postgres://nobody@127.0.0.1:1/none", jwt_secret="s")
        app = create_app(settings, Database(settings.database_url), start_database=False)
        self.client = app.test_client()

    def assertErrors(self, response, status):
        self.assertEqual(response.status_code, status, response.data)
        self.assertEqual(response.mimetype, "application/json")
        body = response.get_json()
        self.assertEqual(set(body), {"errors"})
        for messages in body["errors"].values():
            self.assertTrue(messages and all(isinstance(m, str) for m in messages))
        return body["errors"]

    def test_unknown_route_and_wrong_method(self):
        self.assertErrors(self.client.get("/api/nope"), 404)
        self.assertErrors(self.client.patch("/api/tags"), 405)

    def test_required_auth_is_401(self):
        self.assertIn("token", self.assertErrors(self.client.get("/api/user"), 401))
        self.assertErrors(self.client.get("/api/user", headers={"Authorization": "Token nope"}), 401)
        self.assertErrors(self.client.get("/api/articles/feed",
                                          headers={"Authorization": "Basic eDp5"}), 401)

    def test_bodies_are_validated_before_the_database(self):
        self.assertErrors(self.client.post("/api/users", data="{"), 422)
        self.assertErrors(self.client.post("/api/users", json=[]), 422)
        self.assertIn("email", self.assertErrors(
            self.client.post("/api/users", json={"user": {"username": "ada", "password": "longenough"}}), 422))
        self.assertErrors(self.client.post("/api/users/login", json={"user": {"email": 1}}), 422)

    def test_database_not_ready_is_503_with_the_envelope(self):
        self.assertErrors(self.client.get("/api/tags"), 503)

    def test_nul_in_path_or_query_never_reaches_the_database(self):
        self.assertErrors(self.client.get("/api/articles/%00x"), 404)
        self.assertErrors(self.client.get("/api/profiles/a%00"), 404)
        self.assertErrors(self.client.get("/api/articles?tag=a%00"), 422)

    def test_oversized_body(self):
        self.assertErrors(self.client.post("/api/users", data="x" * (300 * 1024)), 413)


if __name__ == "__main__":
    unittest.main()
