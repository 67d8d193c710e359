#!/usr/bin/env python3
"""Contract smoke test of a running ledger-api service: exercises every rule of the contract.

Usage:
    python3 contract_smoke.py http://HOST:PORT JWT_SECRET [--container NAME] [--skip-window]

Standard library only. Every request goes to the given base URL (the service under test,
on a network of your own). With --container NAME it also restarts that Docker container
to check persistence and times `docker stop -t 10` (SIGTERM) before starting it again.
The login rate-limit test waits for its 60-second window to pass near the end unless
--skip-window is given. Prints one line per check and a closing 'N passed, N failed' line;
exits 1 when a check failed.
"""

import argparse
import base64
import concurrent.futures as futures
import hashlib
import hmac
import http.client
import json
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from decimal import Decimal

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
MONEY = re.compile(r"^[0-9]+\.[0-9]{2}$")
LEAKS = re.compile(r"traceback|psycopg|select |insert |update |sqlstate|file \"|\.py\b",
                   re.IGNORECASE)
SECRET_PASSWORD = "correct-horse-battery-staple"


class Smoke:
    def __init__(self, base_url, secret, container=None):
        self.base = urllib.parse.urlsplit(base_url)
        self.secret = secret
        self.container = container
        self.passed = 0
        self.failed = 0
        self.run_id = uuid.uuid4().hex[:8]
        self.lock = threading.Lock()

    # --- plumbing ---------------------------------------------------------------------

    def call(self, method, path, body=None, token=None, headers=None, raw=None, timeout=30):
        """One request on a fresh connection; returns (status, headers, json_or_None, bytes)."""
        conn = http.client.HTTPConnection(self.base.hostname, self.base.port or 80, timeout=timeout)
        all_headers = {"Accept": "application/json"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        try:
            conn.request(method, path, body=data, headers=all_headers)
            response = conn.getresponse()
            payload = response.read()
            status, response_headers = response.status, dict(response.getheaders())
        finally:
            conn.close()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        if 400 <= status < 600:
            self.check_error_body(method, path, status, parsed, payload)
        return status, response_headers, parsed, payload

    def check_error_body(self, method, path, status, parsed, payload):
        text = payload.decode("utf-8", "replace")
        shaped = (isinstance(parsed, dict) and set(parsed) == {"error"}
                  and isinstance(parsed["error"], dict)
                  and isinstance(parsed["error"].get("code"), str)
                  and re.fullmatch(r"[a-z0-9_]+", parsed["error"]["code"])
                  and isinstance(parsed["error"].get("message"), str))
        if status < 500 and not shaped:
            self.record(False, f"error body shape of {status} on {method} {path}", text[:200])
        if LEAKS.search(text) or SECRET_PASSWORD in text:
            self.record(False, f"no leak in error body of {status} on {method} {path}", text[:300])

    def record(self, ok, name, detail=""):
        with self.lock:
            if ok:
                self.passed += 1
            else:
                self.failed += 1
            print(f"{'PASS' if ok else 'FAIL'}  {name}" + ("" if ok or not detail else f"  -- {detail}"),
                  flush=True)
        return ok

    def expect(self, name, response, status, code=None):
        got_status, _, body, raw = response
        got_code = body.get("error", {}).get("code") if isinstance(body, dict) and "error" in body else None
        ok = got_status == status and (code is None or got_code == code)
        return self.record(ok, name, f"expected {status} {code or ''}, got {got_status} "
                                     f"{raw[:200].decode('utf-8', 'replace')}")

    def email(self, tag):
        return f"{tag}-{self.run_id}-{uuid.uuid4().hex[:6]}@example.test"

    def user(self, tag="user"):
        email = self.email(tag)
        status, _, body, _ = self.call("POST", "/v1/users", {"email": email, "password": SECRET_PASSWORD})
        assert status == 201, (status, body)
        status, _, login, _ = self.call("POST", "/v1/auth/token", {"email": email, "password": SECRET_PASSWORD})
        assert status == 200, (status, login)
        return {"id": body["id"], "email": email, "token": login["access_token"]}

    def account(self, user, currency="EUR"):
        status, _, body, _ = self.call("POST", "/v1/accounts", {"currency": currency}, user["token"])
        assert status == 201, (status, body)
        return body["id"]

    def deposit(self, user, account_id, amount, key=None):
        return self.call("POST", f"/v1/accounts/{account_id}/deposits", {"amount": amount}, user["token"],
                         {"Idempotency-Key": key or uuid.uuid4().hex})

    def transfer(self, user, from_id, to_id, amount, key=None):
        return self.call("POST", "/v1/transfers",
                         {"from_account_id": from_id, "to_account_id": to_id, "amount": amount},
                         user["token"], {"Idempotency-Key": key or uuid.uuid4().hex})

    def balance(self, user, account_id):
        status, _, body, _ = self.call("GET", f"/v1/accounts/{account_id}", token=user["token"])
        assert status == 200, (status, body)
        return body["balance"]

    def all_transactions(self, user, account_id, limit=100):
        items, cursor = [], None
        while True:
            query = f"?limit={limit}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            status, _, body, _ = self.call("GET", f"/v1/accounts/{account_id}/transactions{query}",
                                           token=user["token"])
            assert status == 200, (status, body)
            items += body["data"]
            cursor = body["next_cursor"]
            if cursor is None:
                return items

    def jwt(self, claims, key=None, alg="HS256", header=None):
        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        head = b64(json.dumps(header or {"alg": alg, "typ": "JWT"}).encode())
        body = b64(json.dumps(claims).encode())
        signing_input = f"{head}.{body}".encode()
        if alg == "none":
            return f"{head}.{body}."
        digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
        key = self.secret if key is None else key
        return f"{head}.{body}.{b64(hmac.new(key.encode(), signing_input, digest).digest())}"

    # --- checks -----------------------------------------------------------------------

    def health_and_routing(self):
        status, _, _, _ = self.call("GET", "/healthz")
        self.record(status == 200, "GET /healthz is 200")
        self.expect("unknown route is 404 not_found", self.call("GET", f"/nope-{self.run_id}"), 404, "not_found")
        self.expect("unknown /v1 route is 404", self.call("POST", "/v1/nothing", {}), 404, "not_found")
        response = self.call("DELETE", "/v1/users")
        self.expect("wrong method is 405 with an error body", response, 405)

    def registration(self):
        email = self.email("Reg")
        status, _, body, raw = self.call("POST", "/v1/users", {"email": email, "password": SECRET_PASSWORD})
        self.record(status == 201 and isinstance(body, dict) and set(body) == {"id", "email", "created_at"}
                    and body["email"] == email, "register: 201 {id, email, created_at}", raw[:200])
        if status == 201:
            self.record(RFC3339_UTC.match(body["created_at"]) is not None, "register: created_at RFC 3339 UTC",
                        body["created_at"])
            self.record(b"password" not in raw and b"$2" not in raw, "register: no password or hash echoed")
        self.expect("register: same email other case is 409 email_taken",
                    self.call("POST", "/v1/users", {"email": email.upper(), "password": SECRET_PASSWORD}),
                    409, "email_taken")
        long_local = "x" * (254 - len("@example.test"))
        self.expect("register: 254-character email accepted",
                    self.call("POST", "/v1/users", {"email": f"{long_local[:-8]}{uuid.uuid4().hex[:8]}@example.test",
                                                    "password": SECRET_PASSWORD}), 201)
        self.expect("register: 8 multi-byte characters accepted",
                    self.call("POST", "/v1/users", {"email": self.email("mb"), "password": "ééééééé🙂"}), 201)
        self.expect("register: 128 characters accepted",
                    self.call("POST", "/v1/users", {"email": self.email("long"), "password": "🙂" * 128}), 201)
        bad = {
            "missing email": {"password": SECRET_PASSWORD},
            "missing password": {"email": self.email("x")},
            "email not a string": {"email": 12, "password": SECRET_PASSWORD},
            "password not a string": {"email": self.email("x"), "password": 12345678},
            "email without @": {"email": "nobody.example.test", "password": SECRET_PASSWORD},
            "email with two @": {"email": "a@b@example.test", "password": SECRET_PASSWORD},
            "email empty local part": {"email": "@example.test", "password": SECRET_PASSWORD},
            "email empty domain": {"email": "someone@", "password": SECRET_PASSWORD},
            "email of 255 characters": {"email": "x" * 242 + "@example.test", "password": SECRET_PASSWORD},
            "password of 7 characters": {"email": self.email("x"), "password": "1234567"},
            "password of 129 characters": {"email": self.email("x"), "password": "p" * 129},
        }
        for name, body in bad.items():
            self.expect(f"register: {name} is 422 validation_failed",
                        self.call("POST", "/v1/users", body), 422, "validation_failed")
        self.expect("register: JSON array body is 422", self.call("POST", "/v1/users", [1]), 422, "validation_failed")
        self.expect("register: malformed JSON is 400 malformed_json",
                    self.call("POST", "/v1/users", raw=b'{"email": "a@b",'), 400, "malformed_json")
        self.expect("register: empty body is 400", self.call("POST", "/v1/users", raw=b""), 400)
        big = json.dumps({"email": self.email("big"), "password": "x" * (65 * 1024)}).encode()
        self.expect("register: body over 64 KiB is 413 payload_too_large",
                    self.call("POST", "/v1/users", raw=big), 413, "payload_too_large")

    def login(self):
        email = self.email("login")
        self.call("POST", "/v1/users", {"email": email, "password": SECRET_PASSWORD})
        status, _, body, raw = self.call("POST", "/v1/auth/token", {"email": email.upper(), "password": SECRET_PASSWORD})
        ok = (status == 200 and body.get("token_type") == "Bearer" and isinstance(body.get("access_token"), str)
              and isinstance(body.get("expires_in"), int) and 60 <= body["expires_in"] <= 86400)
        self.record(ok, "login: 200 {access_token, token_type Bearer, expires_in 60..86400} (email any case)",
                    raw[:200])
        if ok:
            head, claims = [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
                            for p in body["access_token"].split(".")[:2]]
            self.record(head.get("alg") == "HS256" and "exp" in claims and "sub" in claims,
                        "login: token is HS256 with sub and exp", f"{head} {claims}")
        self.expect("login: wrong password is 401 invalid_credentials",
                    self.call("POST", "/v1/auth/token", {"email": email, "password": "wrong-password"}),
                    401, "invalid_credentials")
        self.expect("login: unknown email is 401 invalid_credentials",
                    self.call("POST", "/v1/auth/token", {"email": self.email("ghost"), "password": "whatever1"}),
                    401, "invalid_credentials")
        for name, body in {"password missing": {"email": email}, "email a number": {"email": 5, "password": "x"},
                           "not an object": "text"}.items():
            self.expect(f"login: {name} is 422", self.call("POST", "/v1/auth/token", body), 422, "validation_failed")
        self.expect("login: malformed JSON is 400", self.call("POST", "/v1/auth/token", raw=b"{nope"), 400,
                    "malformed_json")

    def rate_limit(self):
        """Five failures lock the email (any case); returns (email, deadline) to check recovery later."""
        email = self.email("rl")
        other = self.email("rl-other")
        for address in (email, other):
            self.call("POST", "/v1/users", {"email": address, "password": SECRET_PASSWORD})
        first_failure = time.monotonic()
        statuses = []
        for i in range(5):
            address = email.upper() if i % 2 else email
            statuses.append(self.call("POST", "/v1/auth/token", {"email": address, "password": f"bad-{i}-pass"})[0])
        self.record(statuses == [401] * 5, "rate limit: five failures are 401", statuses)
        status, headers, body, raw = self.call("POST", "/v1/auth/token", {"email": email, "password": SECRET_PASSWORD})
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        ok = status == 429 and body["error"]["code"] == "rate_limited" and retry_after is not None \
            and retry_after.isdigit() and 1 <= int(retry_after) <= 60
        self.record(ok, "rate limit: 6th attempt, right password, is 429 rate_limited with Retry-After", raw[:200])
        self.expect("rate limit: counted case-insensitively",
                    self.call("POST", "/v1/auth/token", {"email": email.title(), "password": SECRET_PASSWORD}),
                    429, "rate_limited")
        self.expect("rate limit: other emails unaffected",
                    self.call("POST", "/v1/auth/token", {"email": other, "password": SECRET_PASSWORD}), 200)
        return email, first_failure + 60.5

    def rate_limit_recovers(self, email, deadline):
        # Many 429s happened since the window started: if they counted, the window would have moved.
        for _ in range(3):
            self.call("POST", "/v1/auth/token", {"email": email, "password": SECRET_PASSWORD})
        wait = deadline - time.monotonic()
        if wait > 0:
            print(f"....  waiting {wait:.0f} s for the rate-limit window to pass", flush=True)
            time.sleep(wait)
        self.expect("rate limit: after the window the right password works (429s did not count)",
                    self.call("POST", "/v1/auth/token", {"email": email, "password": SECRET_PASSWORD}), 200)

    def tokens(self):
        user = self.user("tok")
        now = int(time.time())
        good = self.jwt({"sub": user["id"], "exp": now + 300})
        self.expect("token: any valid HS256 token with JWT_SECRET is accepted",
                    self.call("GET", "/v1/accounts", token=good), 200)
        head, payload, signature = good.split(".")
        flipped = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
        bad = {
            "missing header": None,
            "alg none": self.jwt({"sub": user["id"], "exp": now + 300}, alg="none"),
            "alg None (capitalised)": self.jwt({"sub": user["id"], "exp": now + 300}, alg="none",
                                               header={"alg": "None", "typ": "JWT"}),
            "tampered signature": f"{head}.{payload}.{flipped}",
            "tampered payload": self.jwt({"sub": user["id"], "exp": now + 300}).split(".")[0] + "." +
                                base64.urlsafe_b64encode(json.dumps({"sub": user["id"], "exp": now + 9999}).encode())
                                .rstrip(b"=").decode() + "." + signature,
            "wrong key": self.jwt({"sub": user["id"], "exp": now + 300}, key=self.secret + "x"),
            "HS512": self.jwt({"sub": user["id"], "exp": now + 300}, alg="HS512"),
            "expired": self.jwt({"sub": user["id"], "exp": now - 5}),
            "no exp": self.jwt({"sub": user["id"]}),
            "no sub": self.jwt({"exp": now + 300}),
            "non-existent sub": self.jwt({"sub": str(uuid.uuid4()), "exp": now + 300}),
            "sub not a uuid": self.jwt({"sub": "admin", "exp": now + 300}),
            "garbage": "abc.def.ghi",
        }
        for name, token in bad.items():
            self.expect(f"token: {name} is 401 unauthorized", self.call("GET", "/v1/accounts", token=token),
                        401, "unauthorized")
        self.expect("token: Basic scheme is 401",
                    self.call("GET", "/v1/accounts", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
        self.expect("token: 'Bearer' without token is 401",
                    self.call("GET", "/v1/accounts", headers={"Authorization": "Bearer"}), 401)

    def accounts(self):
        alice, bob = self.user("alice"), self.user("bob")
        status, _, body, raw = self.call("POST", "/v1/accounts", {"currency": "USD"}, alice["token"])
        ok = (status == 201 and set(body) == {"id", "owner_id", "currency", "balance", "created_at"}
              and body["owner_id"] == alice["id"] and body["currency"] == "USD" and body["balance"] == "0.00"
              and RFC3339_UTC.match(body["created_at"]))
        self.record(ok, "accounts: 201 {id, owner_id, currency, balance 0.00, created_at}", raw[:200])
        ids = [body["id"], self.account(alice, "EUR"), self.account(alice, "GBP")]
        for currency in ["eur", "JPY", "", None, 5]:
            self.expect(f"accounts: currency {currency!r} is 422",
                        self.call("POST", "/v1/accounts", {"currency": currency}, alice["token"]),
                        422, "validation_failed")
        self.expect("accounts: missing currency is 422", self.call("POST", "/v1/accounts", {}, alice["token"]), 422)
        self.expect("accounts: no token is 401", self.call("POST", "/v1/accounts", {"currency": "EUR"}), 401)
        bob_account = self.account(bob, "EUR")
        status, _, body, _ = self.call("GET", "/v1/accounts", token=alice["token"])
        listed = [a["id"] for a in body["data"]]
        self.record(status == 200 and listed == ids, "accounts: list is the caller's, oldest first", listed)
        self.expect("accounts: GET own is 200", self.call("GET", f"/v1/accounts/{ids[0]}", token=alice["token"]), 200)
        self.expect("accounts: GET another user's is 404 not_found",
                    self.call("GET", f"/v1/accounts/{bob_account}", token=alice["token"]), 404, "not_found")
        self.expect("accounts: GET unknown id is 404",
                    self.call("GET", f"/v1/accounts/{uuid.uuid4()}", token=alice["token"]), 404, "not_found")
        for bad_id in ["not-a-uuid", "1", "%27%20OR%201=1--", ids[0] + "x"]:
            self.expect(f"accounts: GET malformed id {bad_id!r} is 404",
                        self.call("GET", f"/v1/accounts/{bad_id}", token=alice["token"]), 404, "not_found")
        self.expect("accounts: another user's transactions are 404",
                    self.call("GET", f"/v1/accounts/{bob_account}/transactions", token=alice["token"]), 404)
        self.expect("accounts: deposit to another user's account is 404",
                    self.deposit(alice, bob_account, "1.00"), 404, "not_found")
        self.record(self.balance(bob, bob_account) == "0.00", "accounts: that deposit moved nothing")

    def deposits(self):
        alice, bob = self.user("dep"), self.user("dep-b")
        account = self.account(alice, "EUR")
        path = f"/v1/accounts/{account}/deposits"
        self.expect("deposit: no token beats no key (401)", self.call("POST", path, {"amount": "1.00"}), 401)
        self.expect("deposit: missing Idempotency-Key is 400 idempotency_key_required",
                    self.call("POST", path, {"amount": "1.00"}, alice["token"]), 400, "idempotency_key_required")
        for name, key in {"65 characters": "k" * 65, "non-ASCII": "clé".encode("utf-8").decode("latin-1"),
                          "DEL character": "a\x7fb"}.items():
            self.expect(f"deposit: key of {name} is 400",
                        self.call("POST", path, {"amount": "1.00"}, alice["token"], {"Idempotency-Key": key}),
                        400, "idempotency_key_required")
        self.expect("deposit: 64-character key accepted", self.deposit(alice, account, "1.00", "K" * 64), 201)
        status, _, body, raw = self.deposit(alice, account, "0.10")
        ok = (status == 201 and set(body) == {"id", "account_id", "type", "amount", "balance_after",
                                              "counterparty_account_id", "created_at"}
              and body["type"] == "deposit" and body["amount"] == "0.10" and body["balance_after"] == "1.10"
              and body["counterparty_account_id"] is None and body["account_id"] == account
              and RFC3339_UTC.match(body["created_at"]))
        self.record(ok, "deposit: 201 transaction shape, balance_after exact", raw[:300])
        self.deposit(alice, account, "0.20")
        self.record(self.balance(alice, account) == "1.30", "deposit: 1.00 + 0.10 + 0.20 = 1.30 exactly")
        for amount in ["0", "0.00", "1.234", "-1", "1e2", " 1", "1.", ".5", "1000000.01", "", "١"]:
            self.expect(f"deposit: amount {amount!r} is 422", self.deposit(alice, account, amount), 422,
                        "validation_failed")
        for amount in [10, 10.5, None]:
            self.expect(f"deposit: amount {amount!r} (not a string) is 422",
                        self.call("POST", path, {"amount": amount}, alice["token"], {"Idempotency-Key": uuid.uuid4().hex}),
                        422, "validation_failed")
        self.expect("deposit: malformed JSON is 400",
                    self.call("POST", path, raw=b'{"amount":', token=alice["token"],
                              headers={"Idempotency-Key": uuid.uuid4().hex}), 400, "malformed_json")
        big_account = self.account(alice, "GBP")
        self.expect("deposit: 1000000.00 accepted", self.deposit(alice, big_account, "1000000.00"), 201)
        self.deposit(alice, big_account, "1000000")
        self.deposit(alice, big_account, "0.01")
        self.record(self.balance(alice, big_account) == "2000000.01", "deposit: large sums exact")
        self.expect("deposit: malformed account id is 404", self.deposit(alice, "nope", "1.00"), 404, "not_found")
        self.expect("deposit: unknown account is 404", self.deposit(alice, str(uuid.uuid4()), "1.00"), 404)

        # Idempotency, sequential.
        key = f"dep-{self.run_id}"
        self.expect("idempotency: refused body (422) does not use the key",
                    self.deposit(alice, account, "-5", key), 422, "validation_failed")
        self.expect("idempotency: refused JSON (400) does not use the key",
                    self.call("POST", path, raw=b"{", token=alice["token"], headers={"Idempotency-Key": key}), 400)
        self.expect("idempotency: refused token (401) does not use the key",
                    self.call("POST", path, {"amount": "99.00"}, "bad.token.here", {"Idempotency-Key": key}), 401)
        first = self.deposit(alice, account, "5.00", key)
        self.expect("idempotency: first use is 201", first, 201)
        before = self.balance(alice, account)
        again = self.call("POST", path, raw=b'{ "amount" : "5.00" }', token=alice["token"],
                          headers={"Idempotency-Key": key})
        self.record(again[0] == 201 and again[2] == first[2], "idempotency: same key, equal JSON replays the response",
                    again[3][:200])
        self.record(self.balance(alice, account) == before, "idempotency: the replay moved no money")
        self.expect("idempotency: same key, different body is 409 idempotency_conflict",
                    self.deposit(alice, account, "6.00", key), 409, "idempotency_conflict")
        other_account = self.account(alice, "EUR")
        self.expect("idempotency: same key, other account (path) is 409",
                    self.deposit(alice, other_account, "5.00", key), 409, "idempotency_conflict")
        bob_account = self.account(bob, "EUR")
        self.expect("idempotency: keys are scoped to the user", self.deposit(bob, bob_account, "5.00", key), 201)
        self.record(self.balance(bob, bob_account) == "5.00", "idempotency: the other user's deposit happened")
        key404 = f"dep404-{self.run_id}"
        first404 = self.deposit(alice, bob_account, "1.00", key404)
        again404 = self.deposit(alice, bob_account, "1.00", key404)
        self.record(first404[0] == 404 and again404[0] == 404 and first404[2] == again404[2],
                    "idempotency: a 404 outcome is replayed")
        self.expect("idempotency: a 404 outcome uses the key (other body: 409)",
                    self.deposit(alice, account, "1.00", key404), 409, "idempotency_conflict")

        # Idempotency, concurrent duplicates: exactly one effect.
        race_account = self.account(alice, "USD")
        key = f"race-{self.run_id}"
        with futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda _: self.deposit(alice, race_account, "7.00", key), range(16)))
        statuses = sorted({r[0] for r in results})
        ids = {r[2]["id"] for r in results if r[0] == 201}
        self.record(statuses == [201] and len(ids) == 1, "idempotency: 16 concurrent duplicates all get the one 201",
                    f"statuses {statuses}, {len(ids)} distinct transactions")
        self.record(self.balance(alice, race_account) == "7.00", "idempotency: concurrent duplicates moved money once",
                    self.balance(alice, race_account))

        # Concurrent distinct deposits: no lost update.
        with futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda _: self.deposit(alice, race_account, "0.01")[0], range(100)))
        self.record(results.count(201) == 100 and self.balance(alice, race_account) == "8.00",
                    "deposit: 100 concurrent deposits of 0.01 all counted", f"{self.balance(alice, race_account)}")

    def transfers(self):
        alice, bob = self.user("xfer"), self.user("xfer-b")
        a_eur, a_eur2, a_usd = self.account(alice, "EUR"), self.account(alice, "EUR"), self.account(alice, "USD")
        b_eur, b_usd = self.account(bob, "EUR"), self.account(bob, "USD")
        self.deposit(alice, a_eur, "100.00")
        self.deposit(bob, b_eur, "50.00")
        ghost = str(uuid.uuid4())
        self.expect("transfer: missing key is 400",
                    self.call("POST", "/v1/transfers", {"from_account_id": a_eur, "to_account_id": b_eur,
                                                        "amount": "1.00"}, alice["token"]),
                    400, "idempotency_key_required")
        shape = {
            "missing amount": {"from_account_id": ghost, "to_account_id": b_eur},
            "missing from": {"to_account_id": b_eur, "amount": "1.00"},
            "ids not strings": {"from_account_id": 1, "to_account_id": 2, "amount": "1.00"},
            "same account": {"from_account_id": a_eur, "to_account_id": a_eur, "amount": "1.00"},
            "bad amount, unknown accounts": {"from_account_id": ghost, "to_account_id": str(uuid.uuid4()),
                                             "amount": "0"},
            "same unknown account": {"from_account_id": ghost, "to_account_id": ghost, "amount": "1.00"},
        }
        for name, body in shape.items():
            self.expect(f"transfer: {name} is 422 validation_failed (shape before accounts)",
                        self.call("POST", "/v1/transfers", body, alice["token"], {"Idempotency-Key": uuid.uuid4().hex}),
                        422, "validation_failed")
        self.expect("transfer: source of another user is 404", self.transfer(alice, b_eur, a_eur, "1.00"), 404, "not_found")
        self.expect("transfer: unknown destination is 404", self.transfer(alice, a_eur, ghost, "1.00"), 404, "not_found")
        self.expect("transfer: malformed id is 404", self.transfer(alice, a_eur, "nope", "1.00"), 404, "not_found")
        self.expect("transfer: accounts before currency (other's USD source, EUR dest) is 404",
                    self.transfer(alice, b_usd, a_eur, "1.00"), 404, "not_found")
        self.expect("transfer: currency before funds is 422 currency_mismatch",
                    self.transfer(alice, a_eur, a_usd, "500.00"), 422, "currency_mismatch")
        self.expect("transfer: insufficient funds is 422 insufficient_funds",
                    self.transfer(alice, a_eur, b_eur, "100.01"), 422, "insufficient_funds")
        self.record(self.balance(alice, a_eur) == "100.00", "transfer: refused transfers moved nothing")
        status, _, body, raw = self.transfer(alice, a_eur, b_eur, "30.25")
        ok = (status == 201 and body["type"] == "transfer_out" and body["account_id"] == a_eur
              and body["counterparty_account_id"] == b_eur and body["amount"] == "30.25"
              and body["balance_after"] == "69.75")
        self.record(ok, "transfer: 201 transfer_out on the source, to another user's account", raw[:300])
        self.record(self.balance(alice, a_eur) == "69.75" and self.balance(bob, b_eur) == "80.25",
                    "transfer: both balances moved exactly")
        incoming = self.all_transactions(bob, b_eur)[0]
        self.record(incoming["type"] == "transfer_in" and incoming["counterparty_account_id"] == a_eur
                    and incoming["amount"] == "30.25" and incoming["balance_after"] == "80.25",
                    "transfer: one transfer_in on the destination", incoming)
        self.expect("transfer: exactly the whole balance is allowed", self.transfer(alice, a_eur, a_eur2, "69.75"), 201)
        self.record(self.balance(alice, a_eur) == "0.00", "transfer: balance reaches exactly 0.00")
        exact = self.account(alice, "EUR")
        self.deposit(alice, exact, "0.70")
        self.deposit(alice, exact, "0.10")
        self.expect("money: 0.70 + 0.10 covers a transfer of 0.80 (no binary floating point)",
                    self.transfer(alice, exact, a_eur2, "0.80"), 201)
        self.record(self.balance(alice, exact) == "0.00", "money: and leaves exactly 0.00", self.balance(alice, exact))

        key = f"xfer-funds-{self.run_id}"
        first = self.transfer(alice, a_eur, a_eur2, "10.00", key)
        self.deposit(alice, a_eur, "50.00")
        again = self.transfer(alice, a_eur, a_eur2, "10.00", key)
        self.record(first[0] == 422 and again[0] == 422 and again[2] == first[2],
                    "idempotency: an insufficient_funds outcome is replayed even after funding")
        key = f"xfer-ok-{self.run_id}"
        first = self.transfer(alice, a_eur, a_eur2, "10.00", key)
        again = self.transfer(alice, a_eur, a_eur2, "10.00", key)
        self.record(first[0] == 201 and again[0] == 201 and first[2] == again[2] and self.balance(alice, a_eur) == "40.00",
                    "idempotency: a transfer replay moves no money")
        self.expect("idempotency: transfer key reused with another body is 409",
                    self.transfer(alice, a_eur, a_eur2, "11.00", key), 409, "idempotency_conflict")

        # Concurrency: 40 transfers of 3.00 from 40.00 -> exactly 13 succeed, never below zero.
        target = self.account(bob, "EUR")
        with futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda _: self.transfer(alice, a_eur, target, "3.00"), range(40)))
        codes = [r[0] for r in results]
        funds = sum(1 for r in results if r[0] == 422 and r[2]["error"]["code"] == "insufficient_funds")
        self.record(codes.count(201) == 13 and funds == 27 and self.balance(alice, a_eur) == "1.00"
                    and self.balance(bob, target) == "39.00",
                    "concurrency: 40 racing transfers never overdraw (13 succeed, 27 insufficient)",
                    f"201={codes.count(201)} 422={funds} other={[c for c in codes if c not in (201, 422)]} "
                    f"balance={self.balance(alice, a_eur)}")

        # Opposite directions plus deposits at once: no deadlock, no lost update, sum conserved.
        x, y = self.account(alice, "GBP"), self.account(alice, "GBP")
        self.deposit(alice, x, "100.00")
        self.deposit(alice, y, "100.00")
        jobs = []
        for i in range(60):
            if i % 3 == 0:
                jobs.append(lambda: self.transfer(alice, x, y, "1.00"))
            elif i % 3 == 1:
                jobs.append(lambda: self.transfer(alice, y, x, "2.00"))
            else:
                jobs.append(lambda: self.deposit(alice, x, "0.50"))
        with futures.ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda job: job()[0], jobs))
        bx, by = self.balance(alice, x), self.balance(alice, y)
        self.record(codes.count(201) == 60 and Decimal(bx) + Decimal(by) == Decimal("210.00") and bx == "130.00",
                    "concurrency: opposite transfers + deposits, all 201, sums exact",
                    f"codes {sorted(set(codes))} x={bx} y={by}")
        history = self.all_transactions(alice, x)
        ordered = all(MONEY.match(t["balance_after"]) for t in history)
        running = [t["balance_after"] for t in history]
        self.record(ordered and running[0] == bx, "transactions: newest first, first balance_after is the balance",
                    running[:3])

    def pagination(self):
        alice, bob = self.user("page"), self.user("page-b")
        account = self.account(alice, "EUR")
        with futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda _: self.deposit(alice, account, "1.00"), range(130)))
        path = f"/v1/accounts/{account}/transactions"
        status, _, body, _ = self.call("GET", path, token=alice["token"])
        self.record(status == 200 and len(body["data"]) == 50 and isinstance(body["next_cursor"], str),
                    "pagination: default limit 50 with next_cursor")
        for limit in ["0", "101", "-1", "abc", "1.5", ""]:
            self.expect(f"pagination: limit={limit!r} is 422",
                        self.call("GET", f"{path}?limit={limit}", token=alice["token"]), 422, "validation_failed")
        self.expect("pagination: limit=100 is fine", self.call("GET", f"{path}?limit=100", token=alice["token"]), 200)
        for cursor in ["garbage", "eyJ4IjoxfQ", "%00", "AAAA"]:
            self.expect(f"pagination: malformed cursor {cursor!r} is 422",
                        self.call("GET", f"{path}?cursor={cursor}", token=alice["token"]), 422)
        self.expect("pagination: another user's account is 404",
                    self.call("GET", path, token=bob["token"]), 404, "not_found")

        # Stability: follow pages of 7 while deposits keep arriving.
        existing = {t["id"] for t in self.all_transactions(alice, account)}
        stop = threading.Event()

        def writer():
            for _ in range(40):  # bounded: the walk below must end even if paging is broken
                if stop.is_set():
                    return
                self.deposit(alice, account, "0.01")
                time.sleep(0.005)

        writers = [threading.Thread(target=writer) for _ in range(3)]
        for thread in writers:
            thread.start()
        try:
            seen, cursor, pages = [], None, 0
            while pages < 200:
                query = "?limit=7" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
                status, _, body, _ = self.call("GET", path + query, token=alice["token"])
                if status != 200:
                    break
                seen += body["data"]
                pages += 1
                cursor = body["next_cursor"]
                if cursor is None:
                    break
                time.sleep(0.01)
        finally:
            stop.set()
            for thread in writers:
                thread.join()
        ids = [t["id"] for t in seen]
        self.record(len(ids) == len(set(ids)), "pagination: no transaction twice while inserting",
                    f"{len(ids) - len(set(ids))} duplicates")
        self.record(existing <= set(ids), "pagination: every earlier transaction exactly once while inserting",
                    f"missing {len(existing - set(ids))}")
        times = [t["created_at"] for t in seen]
        self.record(times == sorted(times, reverse=True), "pagination: newest first")

    def odd_inputs(self):
        """Inputs that crash careless code: each must get a 4xx, never a 5xx or a trace."""
        user = self.user("odd")
        account = self.account(user, "EUR")
        probes = {
            "NUL in login email": ("POST", "/v1/auth/token", {"email": "a\u0000b@example.test", "password": "x" * 8}),
            "NUL in registration email": ("POST", "/v1/users", {"email": "a\u0000b@example.test", "password": "x" * 8}),
            "lone surrogate in email": ("POST", "/v1/users", {"email": "a\ud800b@example.test", "password": "x" * 8}),
            "lone surrogate in login email": ("POST", "/v1/auth/token", {"email": "a\ud800@example.test",
                                                                         "password": "x" * 8}),
            "deeply nested JSON": ("POST", "/v1/users", "[" * 20000 + "]" * 20000),
            "number 1e999 as amount": ("POST", f"/v1/accounts/{account}/deposits", '{"amount": 1e999}'),
            "NaN as amount": ("POST", f"/v1/accounts/{account}/deposits", '{"amount": NaN}'),
            "huge digit string amount": ("POST", f"/v1/accounts/{account}/deposits",
                                         json.dumps({"amount": "9" * 5000})),
            "invalid UTF-8 body": ("POST", "/v1/users", b"\xff\xfe{}"),
            "quote in login email": ("POST", "/v1/auth/token", {"email": "o'brien@example.test", "password": "x" * 8}),
            "quote in account id": ("GET", "/v1/accounts/'", None),
            "cursor of a JSON list": ("GET", f"/v1/accounts/{account}/transactions?cursor=WzFd", None),
        }
        for name, (method, path, body) in probes.items():
            if isinstance(body, str):
                raw, body = body.encode("utf-8", "surrogatepass"), None
            elif isinstance(body, bytes):
                raw, body = body, None
            else:
                raw = None
            if isinstance(body, dict):
                raw, body = json.dumps(body).encode(), None
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            status, _, _, payload = self.call(method, path, raw=raw, token=user["token"], headers=headers)
            self.record(400 <= status < 500, f"odd input: {name} is a 4xx", f"{status} {payload[:300]!r}")

    def sql_injection(self):
        user = self.user("sqli")
        payloads = {
            "tautology": "x' OR '1'='1",
            "comment": "x') OR TRUE --",
            "targeted": f"nobody') OR lower(email) = lower('{user['email']}') --",
        }
        for name, email in payloads.items():
            status = self.call("POST", "/v1/auth/token", {"email": email, "password": SECRET_PASSWORD})[0]
            self.record(status == 401, f"sql: injected login email ({name}) is 401", status)
        started = time.monotonic()
        self.call("POST", "/v1/auth/token",
                  {"email": "x') OR EXISTS (SELECT 1 FROM pg_sleep(2)) --", "password": "whatever12"})
        elapsed = time.monotonic() - started
        self.record(elapsed < 1.5, "sql: pg_sleep in the login email does not delay the answer", f"{elapsed:.2f} s")

    # --- docker-level checks ----------------------------------------------------------

    def docker_ip(self):
        out = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                              self.container], capture_output=True, text=True, check=True).stdout.split()
        return out[0]

    def wait_healthy(self, limit=60):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                self.base = urllib.parse.urlsplit(f"http://{self.docker_ip()}:{self.base.port or 80}")
                if self.call("GET", "/healthz", timeout=2)[0] == 200:
                    return True
            except (OSError, http.client.HTTPException, subprocess.CalledProcessError):
                pass
            time.sleep(0.2)
        return False

    def restart_and_stop(self):
        alice = self.user("persist")
        account = self.account(alice, "EUR")
        key = f"persist-{self.run_id}"
        first = self.deposit(alice, account, "12.34", key)
        subprocess.run(["docker", "restart", "-t", "10", self.container], check=True, capture_output=True)
        self.record(self.wait_healthy(), "restart: healthy again after docker restart")
        status, _, login, _ = self.call("POST", "/v1/auth/token", {"email": alice["email"], "password": SECRET_PASSWORD})
        self.record(status == 200, "restart: the user can still log in")
        status, _, body, _ = self.call("GET", f"/v1/accounts/{account}", token=alice["token"])
        self.record(status == 200 and body["balance"] == "12.34", "restart: account and balance survived",
                    f"{status} {body}")
        again = self.deposit(alice, account, "12.34", key)
        self.record(again[0] == 201 and again[2] == first[2], "restart: idempotency key still replays",
                    f"{again[0]} {again[2]}")
        status, _, body, _ = self.call("GET", f"/v1/accounts/{account}/transactions", token=alice["token"])
        self.record(status == 200 and len(body["data"]) == 1, "restart: transactions survived", f"{status} {body}")
        self.record(self.call("GET", "/v1/accounts", token=alice["token"])[0] == 200,
                    "restart: tokens issued before the restart still work")
        started = time.monotonic()
        subprocess.run(["docker", "stop", "-t", "10", self.container], check=True, capture_output=True)
        elapsed = time.monotonic() - started
        code = subprocess.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", self.container],
                              capture_output=True, text=True).stdout.strip()
        self.record(elapsed < 9.5, f"SIGTERM: docker stop took {elapsed:.2f} s (exit code {code})")
        subprocess.run(["docker", "start", self.container], check=True, capture_output=True)
        self.record(self.wait_healthy(), "SIGTERM: starts again afterwards")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("jwt_secret")
    parser.add_argument("--container", help="Docker container of the service: restart and SIGTERM checks")
    parser.add_argument("--skip-window", action="store_true", help="do not wait 60 s for the rate-limit window")
    args = parser.parse_args()
    smoke = Smoke(args.base_url, args.jwt_secret, args.container)
    limited = []

    def rate_limit():
        limited.append(smoke.rate_limit())

    def rate_limit_recovers():
        if limited and not args.skip_window:
            smoke.rate_limit_recovers(*limited[0])

    steps = [smoke.health_and_routing, smoke.registration, smoke.login, rate_limit, smoke.tokens,
             smoke.accounts, smoke.deposits, smoke.transfers, smoke.pagination, smoke.odd_inputs,
             smoke.sql_injection,
             rate_limit_recovers]
    if args.container:
        steps.append(smoke.restart_and_stop)
    for step in steps:
        try:
            step()
        except Exception as exc:  # a broken service must not stop the other checks
            smoke.record(False, f"{step.__name__} crashed", repr(exc)[:300])
    print(f"{smoke.passed} passed, {smoke.failed} failed")
    return 1 if smoke.failed else 0


if __name__ == "__main__":
    sys.exit(main())
