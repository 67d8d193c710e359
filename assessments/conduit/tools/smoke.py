#!/usr/bin/env python3
"""A by-hand smoke test of a running Conduit service (standard library only).

Usage: python3 smoke.py http://HOST:PORT [JWT_SECRET]

Walks every endpoint of the contract once, prints each exchange's status, and stops at
the first surprise. Not part of grading: the assessment's suites are. It exists to check
the reference (or a variant) by hand before a full `assay run`.
"""

import base64
import hashlib
import hmac
import json
import random
import string
import sys
import threading
import time
import urllib.error
import urllib.request

BASE = sys.argv[1].rstrip("/")
SECRET = sys.argv[2] if len(sys.argv) > 2 else None


def call(method, path, body=None, token=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Token {token}")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    ms = (time.perf_counter() - start) * 1000
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = text
    print(f"{method:6} {path[:70]:70} {status} {ms:6.1f} ms")
    return status, payload


def expect(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def word():
    return "".join(random.choice(string.ascii_lowercase) for _ in range(8))


def register(name=None):
    name = name or "u" + word()
    email = f"{name}@example.test"
    status, body = call("POST", "/api/users", {"user": {"username": name, "email": email, "password": "password-" + name}})
    expect(status in (200, 201), f"register {body}")
    return name, email, body["user"]["token"]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resign(token, **changes):
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


def main():
    status, body = call("GET", "/api/tags")
    expect(status == 200 and isinstance(body["tags"], list), "tags")
    a, a_email, at = register()
    b, _, bt = register()
    status, body = call("POST", "/api/users/login", {"user": {"email": a_email, "password": "password-" + a}})
    expect(status == 200 and body["user"]["username"] == a, "login")
    expect(call("POST", "/api/users/login", {"user": {"email": a_email, "password": "nope-nope"}})[0] in (401, 422), "bad login")
    expect(call("POST", "/api/users", {"user": {"username": a, "email": "x" + a_email, "password": "password1"}})[0] in (409, 422), "dup")
    expect(call("GET", "/api/user", token=at)[1]["user"]["email"] == a_email, "current user")
    expect(call("GET", "/api/user")[0] == 401, "401 without token")
    status, body = call("PUT", "/api/user", {"user": {"bio": "hi", "image": None}}, token=at)
    expect(status == 200 and body["user"]["bio"] == "hi", "update user")
    expect(call("POST", f"/api/profiles/{a}/follow", token=bt)[1]["profile"]["following"] is True, "follow")
    expect(call("GET", f"/api/profiles/{a}")[1]["profile"]["following"] is False, "anon following")
    tag = "t" + word()
    status, body = call("POST", "/api/articles", {"article": {"title": "Hello World", "description": "d", "body": "b", "tagList": [tag, "x" + tag]}}, token=at)
    expect(status == 201 and set(body["article"]["tagList"]) == {tag, "x" + tag}, "create")
    slug = body["article"]["slug"]
    status, body = call("POST", "/api/articles", {"article": {"title": "Hello World", "description": "d", "body": "b"}}, token=bt)
    expect(status == 201 and body["article"]["slug"] != slug, "same title")
    expect(call("GET", f"/api/articles/{slug}")[0] == 200, "get")
    expect(call("PUT", f"/api/articles/{slug}", {"article": {"body": "x"}}, token=bt)[0] == 403, "non-author 403")
    status, body = call("PUT", f"/api/articles/{slug}", {"article": {"title": "Hello again"}}, token=at)
    expect(status == 200 and body["article"]["slug"] != slug, "retitle")
    slug = body["article"]["slug"]
    status, body = call("POST", f"/api/articles/{slug}/favorite", token=bt)
    expect(body["article"]["favoritesCount"] == 1 and body["article"]["favorited"], "favorite")
    expect(call("POST", f"/api/articles/{slug}/favorite", token=bt)[1]["article"]["favoritesCount"] == 1, "twice")
    expect(call("DELETE", f"/api/articles/{slug}/favorite", token=at)[1]["article"]["favoritesCount"] == 1, "unfav other")
    status, body = call("GET", f"/api/articles?tag={tag}&author={a}&favorited={b}", token=bt)
    expect(body["articlesCount"] == 1 and body["articles"][0]["favorited"] and body["articles"][0]["author"]["following"], "filters")
    status, body = call("GET", "/api/articles/feed", token=bt)
    expect(body["articlesCount"] >= 1 and all(x["author"]["username"] == a for x in body["articles"]), "feed")
    expect(call("GET", "/api/articles/feed", token=at)[1]["articlesCount"] == 0, "empty feed")
    status, body = call("POST", f"/api/articles/{slug}/comments", {"comment": {"body": "nice"}}, token=bt)
    expect(status == 201 and isinstance(body["comment"]["id"], int), "comment")
    cid = body["comment"]["id"]
    expect(call("GET", f"/api/articles/{slug}/comments")[1]["comments"][0]["id"] == cid, "comments")
    expect(call("DELETE", f"/api/articles/{slug}/comments/{cid}", token=at)[0] == 403, "comment 403")
    expect(call("DELETE", f"/api/articles/{slug}/comments/{cid}", token=bt)[0] == 204, "comment delete")
    expect(call("GET", "/api/articles/nope-" + word())[0] == 404, "404")
    expect(call("POST", "/api/articles", {"article": {"title": ""}}, token=at)[0] == 422, "422")
    expect(call("POST", "/api/articles", raw=b"{", token=at)[0] in (400, 422), "malformed")
    expect(call("GET", "/api/articles?limit=-1")[0] < 500, "limit -1")
    expect(call("PATCH", "/api/tags")[0] == 405, "405")
    if SECRET:
        expect(call("GET", "/api/user", token=resign(at))[0] == 200, "re-signed token")
        expect(call("GET", "/api/user", token=resign(at, exp=int(time.time()) - 3600))[0] == 401, "expired")
        h = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        p = at.split(".")[1]
        expect(call("GET", "/api/user", token=f"{h}.{p}.")[0] == 401, "alg none")
    # Eight users favouriting at once, each twice.
    users = [register() for _ in range(8)]
    status, body = call("POST", "/api/articles", {"article": {"title": "Race", "description": "d", "body": "b"}}, token=at)
    race = body["article"]["slug"]
    threads = [threading.Thread(target=call, args=("POST", f"/api/articles/{race}/favorite"), kwargs={"token": t})
               for _, _, t in users for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect(call("GET", f"/api/articles/{race}")[1]["article"]["favoritesCount"] == 8, "race count")
    expect(call("DELETE", f"/api/articles/{slug}", token=at)[0] == 204, "delete")
    print("smoke: all good")


if __name__ == "__main__":
    main()
