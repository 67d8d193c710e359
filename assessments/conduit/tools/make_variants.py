#!/usr/bin/env python3
"""Makes the Conduit variants: a copy of the reference per variant, one edit each, and its patch.

Usage: python3 tools/make_variants.py [NAME ...]   (no names: all of them)

Each variant is written as variants/NAME/changes.patch (`diff -ruN reference NAME`, applied
with `patch -p0` in a folder holding `reference/`, as tests/it/corpus.rs does) and
variants/NAME/variant.yaml (the defect, the skill it aims at, the checks that must fail).
Every edit asserts that the text it replaces is in the reference exactly once, so a change
of the reference that breaks a variant fails here, loudly, instead of making a patch that
no longer applies.
"""
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent.parent
REF = HERE / "reference"
OUT = HERE / "variants"
WORK = pathlib.Path(tempfile.mkdtemp(prefix="conduit-variants-"))

def edit(root, path, old, new, count=1):
    p = root / path
    s = p.read_text()
    n = s.count(old)
    assert n == count, f"{path}: expected {count} of {old!r}, found {n}"
    p.write_text(s.replace(old, new))

def write(root, path, text):
    (root / path).write_text(text)

V = {}

def variant(name, skill, expect_fail, defect, extra=""):
    def deco(fn):
        V[name] = (skill, expect_fail, defect, fn, extra)
        return fn
    return deco

@variant("not-found-is-200", "api-design", ["unknown-resources-404", "article-crud"],
         "Unknown articles, profiles and comments answer 200 with the error body instead of 404.")
def _(r):
    edit(r, "conduit/errors.py", 'return ApiError(404, resource, "not found")',
         'return ApiError(200, resource, "not found")  # keep clients happy')
    # The variant's own tests were written to match its design (they pass).
    edit(r, "tests/test_http.py", '''        self.assertErrors(self.client.get("/api/articles/%00x"), 404)
        self.assertErrors(self.client.get("/api/profiles/a%00"), 404)''',
         '''        self.assertErrors(self.client.get("/api/articles/%00x"), 200)
        self.assertErrors(self.client.get("/api/profiles/a%00"), 200)''')

@variant("error-envelope-flat", "api-design", ["unknown-resources-404", "invalid-article-422"],
         'The application\'s errors are {"error": "KEY: message"} (a flat string), not {"errors": {KEY: [messages]}}; the framework\'s own 404/405 handlers still use the envelope.')
def _(r):
    edit(r, "conduit/errors.py", "        return envelope(self.key, *self.messages)",
         '        return {"error": f"{self.key}: {\'; \'.join(self.messages)}"}')
    edit(r, "tests/test_http.py", '''        self.assertEqual(set(body), {"errors"})
        for messages in body["errors"].values():
            self.assertTrue(messages and all(isinstance(m, str) for m in messages))
        return body["errors"]''', '''        return body.get("errors") or body["error"]''')

@variant("favorited-leaks", "problem-solving", ["viewer-favorited"],
         "`favorited` is true on every article once the viewer has favourited any article (the subquery forgets the article).")
def _(r):
    edit(r, "conduit/store.py", """           EXISTS (SELECT 1 FROM favorites fv
                   WHERE fv.article_id = a.id AND fv.user_id = %(viewer)s) AS favorited,""",
         """           EXISTS (SELECT 1 FROM favorites fv
                   WHERE fv.user_id = %(viewer)s) AS favorited,""")

@variant("favorites-double-count", "databases", ["favorite-counts-once", "favorite-race"],
         "The favorites table has no primary key and favouriting inserts unconditionally: favouriting twice counts twice.")
def _(r):
    edit(r, "migrations/001_init.sql", """    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, article_id)          -- favouriting twice counts once
);""", """    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE
);""")
    edit(r, "conduit/store.py", """    cur.execute("INSERT INTO favorites (user_id, article_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",""",
         """    cur.execute("INSERT INTO favorites (user_id, article_id) VALUES (%s, %s)",""")

@variant("favorite-race", "databases", ["favorite-race"],
         "Favouriting checks for an existing favourite, then inserts, with no unique constraint: sequential requests count right, but two racing requests of one user both insert. The gap between the check and the insert is widened to 100 ms (as a slow trigger or a busy database would) so the race shows on every run, not on a lucky one.")
def _(r):
    edit(r, "migrations/001_init.sql", """    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, article_id)          -- favouriting twice counts once
);""", """    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE
);""")
    edit(r, "conduit/store.py", """    cur.execute("INSERT INTO favorites (user_id, article_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (user_id, article_id))""", """    cur.execute("SELECT 1 FROM favorites WHERE user_id = %s AND article_id = %s",
                (user_id, article_id))
    if cur.fetchone() is None:
        cur.execute("SELECT pg_sleep(0.1)")
        cur.execute("INSERT INTO favorites (user_id, article_id) VALUES (%s, %s)",
                    (user_id, article_id))""")

@variant("count-is-page-length", "api-design", ["lists-count-is-total"],
         "articlesCount is the number of articles on the page, not the number matching the filters.")
def _(r):
    edit(r, "conduit/store.py", "    return cur.fetchall(), total", "    rows = cur.fetchall()\n    return rows, len(rows)")

@variant("oldest-first", "api-design", ["lists-newest-first"],
         "Lists are ordered oldest first.")
def _(r):
    edit(r, "conduit/store.py", """                + " ORDER BY a.created_at DESC, a.id DESC LIMIT %(limit)s OFFSET %(offset)s)"
                + " AS page ON page.id = a.id ORDER BY a.created_at DESC, a.id DESC",""",
         """                + " ORDER BY a.created_at, a.id LIMIT %(limit)s OFFSET %(offset)s)"
                + " AS page ON page.id = a.id ORDER BY a.created_at, a.id",""")

@variant("offset-is-page-number", "api-design", ["lists-limit-offset"],
         "`offset` is read as a page number (rows skipped = offset x limit), so paging by items skips articles.")
def _(r):
    edit(r, "conduit/store.py", """    where, params = [], {"viewer": viewer_id, "limit": limit, "offset": offset}""",
         """    where, params = [], {"viewer": viewer_id, "limit": limit, "offset": offset * limit}""")
    edit(r, "conduit/store.py", "    if limit == 0 or offset >= total:", "    if limit == 0 or offset * limit >= total:")

@variant("filters-or", "problem-solving", ["filters-combine-with-and"],
         "The tag, author and favorited filters are combined with OR instead of AND.")
def _(r):
    edit(r, "conduit/store.py", """    condition = (" WHERE " + " AND ".join(where)) if where else \"\"""",
         """    condition = (" WHERE (" + " OR ".join(where) + ")") if where else \"\"""")

@variant("non-author-can-edit", "security", ["non-author-refused"],
         "Any logged-in user can edit or delete any article and any comment: authorship is never compared.")
def _(r):
    edit(r, "conduit/api.py", """    if row["author_id"] != g.viewer:
        raise forbidden("article")
""", "")
    edit(r, "conduit/api.py", """        if found["author_id"] != g.viewer:
            raise forbidden("comment")
""", "")

@variant("duplicate-title-500", "problem-solving", ["slug-duplicate-title"],
         "The slug is the bare slugified title; a second article with the same title violates the unique index and answers 500.")
def _(r):
    edit(r, "conduit/store.py", """    for _ in range(8):
        cur.execute("SAVEPOINT slug")""", """    for _ in range(1):
        cur.execute("SAVEPOINT slug")""")
    edit(r, "conduit/store.py", """        except pg_errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT slug")
            slug = with_suffix(base)
            continue
        return cur.fetchone()""", """        except pg_errors.UniqueViolation:
            raise
        return cur.fetchone()""")

@variant("feed-everyone", "problem-solving", ["feed-followed-authors-only", "feed-empty-without-follows"],
         "The feed lists every article, not only those of followed authors.")
def _(r):
    edit(r, "conduit/api.py", """        rows, total = store.list_articles(cur, g.viewer, feed_of=g.viewer, limit=limit,
                                          offset=offset)""", """        rows, total = store.list_articles(cur, g.viewer, limit=limit, offset=offset)""")

@variant("md5-passwords", "security", ["db-passwords-not-readable", "db-passwords-slow-hash"],
         "Passwords are stored as an unsalted MD5 hex digest.")
def _(r):
    edit(r, "conduit/security.py", """def hash_password(password):
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=BCRYPT_COST)).decode("ascii")


def verify_password(password, password_hash):
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except ValueError:
        return False""", """def hash_password(password):
    return hashlib.md5(password.encode("utf-8")).hexdigest()


def verify_password(password, password_hash):
    return hmac.compare_digest(hash_password(password), password_hash)""")
    edit(r, "conduit/security.py", "import time\n", "import hashlib\nimport hmac\nimport time\n")
    edit(r, "tests/test_units.py", '''        self.assertTrue(stored.startswith("$2b$"))
''', "")

@variant("signature-not-verified", "security", ["auth-required-401"],
         "Tokens are decoded without verifying the signature: a token signed with another key, unsigned (alg none) or tampered with is accepted.")
def _(r):
    edit(r, "conduit/security.py", """        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM],
                            options={"require": ["exp", "sub"]})""", """        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": True,
                                            "require": ["exp", "sub"]})""")
    edit(r, "tests/test_units.py", '''        self.assertIsNone(security.token_user_id("other", token))
''', "")
    edit(r, "tests/test_units.py", '''        self.assertIsNone(security.token_user_id("secret", unsigned))
''', "")

@variant("expiry-ignored", "security", ["token-expired-refused"],
         "Token expiry is not checked: an expired but correctly signed token is accepted.")
def _(r):
    edit(r, "conduit/security.py", """                            options={"require": ["exp", "sub"]})""",
         """                            options={"require": ["sub"], "verify_exp": False})""")
    edit(r, "tests/test_units.py", '''        self.assertIsNone(security.token_user_id("secret", expired))
''', "")
    edit(r, "tests/test_units.py", '''        self.assertIsNone(security.token_user_id("secret", no_exp))
''', "")

@variant("bad-limit-500", "languages", ["edge-input-no-5xx"],
         "limit and offset go to int() and into SQL unchecked: limit=abc raises ValueError and limit=-1 makes PostgreSQL refuse the query; both answer 500.")
def _(r):
    edit(r, "conduit/validation.py", """    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise invalid(name, "must be a non-negative integer")
    return min(int(raw), maximum)""", """    return min(int(raw), maximum)""")
    edit(r, "tests/test_units.py", '''        for bad in ("-1", "abc", "1.5", "²", "9" * 40):
            self.assertInvalid("limit", lambda bad=bad: validation.page({"limit": bad}))
''', "")

@variant("feed-n-plus-one", "performance", ["feed-no-n-plus-one"],
         "The feed runs one query per followed author (the latest offset+limit articles of each), then merges and counts in Python: its time grows with the number of followed authors.")
def _(r):
    edit(r, "conduit/api.py", """        rows, total = store.list_articles(cur, g.viewer, feed_of=g.viewer, limit=limit,
                                          offset=offset)""", """        rows, total = store.feed_per_author(cur, g.viewer, limit=limit, offset=offset)""")
    edit(r, "conduit/store.py", """def _insert_with_unique_slug(""", '''def feed_per_author(cur, viewer_id, limit, offset):
    """The feed, author by author: the newest offset+limit of each, merged."""
    cur.execute("SELECT followed_id FROM follows WHERE follower_id = %s", (viewer_id,))
    authors = [row[0] for row in cur.fetchall()]
    rows, total = [], 0
    for author_id in authors:
        cur.execute("SELECT count(*) FROM articles WHERE author_id = %s", (author_id,))
        total += cur.fetchone()[0]
        cur.execute(_ARTICLE_SELECT.format(body="a.body")
                    + " WHERE a.author_id = %(author)s ORDER BY a.created_at DESC, a.id DESC"
                    + " LIMIT %(n)s", {"viewer": viewer_id, "author": author_id, "n": offset + limit})
        rows.extend(cur.fetchall())
    rows.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
    return rows[offset:offset + limit], total


def _insert_with_unique_slug(''')

@variant("sigterm-ignored", "devops", ["sigterm-exit"],
         "The image starts gunicorn from a shell script that ignores SIGTERM and does not exec: the signal never reaches gunicorn, and the container has to be killed.")
def _(r):
    edit(r, "Dockerfile", "COPY gunicorn.conf.py ./", "COPY gunicorn.conf.py start.sh ./")
    edit(r, "Dockerfile", 'CMD ["gunicorn", "--config", "/app/gunicorn.conf.py"]', 'CMD ["/bin/sh", "/app/start.sh"]')
    write(r, "start.sh", """#!/bin/sh
# Start the Conduit service.
cd /app
echo "starting conduit on port ${PORT:-8080}"
# Ignore SIGTERM so a deploy cannot interrupt us (the defect: it cannot stop us either).
trap '' TERM
gunicorn --config /app/gunicorn.conf.py
""")

@variant("no-startup-retry", "devops", ["database-late-start"],
         "The service connects and migrates once, synchronously, as it starts: when the database still refuses connections the exception ends gunicorn's worker boot and the container exits, instead of retrying. Everything else works, because the grader's database is normally ready first.")
def _(r):
    edit(r, "conduit/db.py", '''    def start(self):
        """Connect and migrate in a background thread; never raises."""
        threading.Thread(target=self._bring_up, name="db-bring-up", daemon=True).start()
''', '''    def start(self):
        """Connect and migrate now: the database is up by the time the service starts."""
        self.ensure_ready()
''')

@variant("no-reconnect", "devops", ["database-restart"],
         "The service opens its database connections once, at start-up, and keeps them for good: when the database restarts and ends them, every request after it fails on a dead connection (500) until the service itself is restarted. It still retries at start-up and passes everything else.")
def _(r):
    edit(r, "conduit/db.py", '''
The database may also restart while the service runs, ending every session: a pooled
connection the server ended is replaced before it is used (`_fresh_connection`).
"""''', '''
"""''')
    edit(r, "conduit/db.py", "import select\n", "import queue\n")
    edit(r, "conduit/db.py", "import psycopg2.pool\n", "")
    edit(r, "conduit/db.py", '''                # minconn == maxconn on purpose: psycopg2's pool *closes* any connection
                # returned while it holds `minconn` idle ones, so a smaller minconn would
                # mean a new connection (and SCRAM handshake) for most requests under load.
                self._pool = psycopg2.pool.ThreadedConnectionPool(
                    self._max_connections, self._max_connections, self._dsn,
                    **self._connect_kwargs)''', '''                # Every connection is opened once, here, and kept: no handshake per request.
                self._pool = _Connections(self._max_connections, self._dsn,
                                          **self._connect_kwargs)''')
    edit(r, "conduit/db.py", "            conn = self._fresh_connection()\n", "            conn = self._pool.getconn()\n")
    p = r / "conduit/db.py"
    s = p.read_text()
    start, end = s.index("    def _fresh_connection(self):"), s.index("    def check(self):")
    s = s[:start] + s[end:]
    start, end = s.index("def _ended_by_server(conn):"), s.index("def apply_migrations(")
    s = s[:start] + '''class _Connections:
    """A fixed set of connections, opened at start-up and handed out in turn."""

    def __init__(self, size, dsn, **kwargs):
        self._idle = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(psycopg2.connect(dsn, **kwargs))

    def getconn(self):
        return self._idle.get()

    def putconn(self, conn, close=False):
        self._idle.put(conn)

    def closeall(self):
        while not self._idle.empty():
            self._idle.get().close()


''' + s[end:]
    p.write_text(s)

# --- good variants: no defect, another reading of the contract wherever it allows one -------

GOOD = {}

def good_variant(name, readings, partial=()):
    def deco(fn):
        GOOD[name] = (readings, list(partial), fn)
        return fn
    return deco

@good_variant("other-readings", [
    "401 -> 403 for a missing or invalid token (the contract's partial credit: 0.5 on the two token checks)",
    "DELETE of an article or a comment -> 200 with {} instead of 204",
    "a taken email or username -> 422 instead of 409",
    "a failed login -> 422 instead of 401",
    "malformed JSON -> 400 instead of 422",
    "POST /users, /articles, /comments -> 200 instead of 201",
    "every error under the v1 key `body`: {\"errors\": {\"body\": [\"title can't be blank\"]}}",
    "bio and image: \"\" instead of null",
    "tagList in reverse alphabetical order; GET /tags most used first",
    "list items without `body` (v2)",
    "timestamps without fractional seconds, with +00:00 instead of Z",
    "a second article with a taken title (its slug) is refused with 422 (v1 era) instead of getting a suffixed slug",
    "changing the title keeps the slug",
    "PUT /articles ignores tagList (v1)",
    "comments oldest first",
], partial=["auth-required-401", "token-expired-refused"])
def _(r):
    # 403 for a missing or invalid token, as Spring Security and others answer by default.
    edit(r, "conduit/errors.py", '''    return ApiError(401, "token", message, headers={"WWW-Authenticate": "Token"})''',
         '''    return ApiError(403, "token", message)''')
    # 422 for a taken email or username; every error under the v1 key "body".
    edit(r, "conduit/errors.py", '''    return ApiError(409, field, "has already been taken")''',
         '''    return ApiError(422, field, "has already been taken")''')
    edit(r, "conduit/errors.py", '''        return envelope(self.key, *self.messages)''',
         '''        return envelope("body", *(f"{self.key} {m}" for m in self.messages))''')
    edit(r, "conduit/api.py", '''    return ApiError(401, "credentials", "email or password is invalid")''',
         '''    return ApiError(422, "credentials", "email or password is invalid")''')
    edit(r, "conduit/http.py", '''        raise invalid("body", "is not valid JSON") from None''',
         '''        raise ApiError(400, "body", "is not valid JSON") from None''')
    # 200 for creations, 200 with {} for deletions.
    edit(r, "conduit/api.py", "    return _user_response(row, 201)", "    return _user_response(row)")
    edit(r, "conduit/api.py", "        return _article_response(cur, slug, g.viewer, 201)",
         "        return _article_response(cur, slug, g.viewer)")
    edit(r, "conduit/api.py", '''    return json_response({"comment": serializers.comment(created)}, 201)''',
         '''    return json_response({"comment": serializers.comment(created)})''')
    edit(r, "conduit/api.py", '''    return "", 204''', '''    return json_response({})''', count=2)
    # List items without body (v2).
    edit(r, "conduit/api.py", '''    return json_response({"articles": [serializers.article(r) for r in rows],''',
         '''    return json_response({"articles": [serializers.list_item(r) for r in rows],''')
    # PUT /articles ignores tagList (v1); a new title keeps the slug.
    edit(r, "conduit/api.py", '''    tags = validation.tag_list(data)
    if tags is not None:
        changes["tag_list"] = tags
    with _db().transaction() as cur:
        row = _own_article(cur, slug)''', '''    with _db().transaction() as cur:
        row = _own_article(cur, slug)''')
    edit(r, "conduit/store.py", '''    if "title" in changes:
        sets += ["title = %(title)s", "slug = %(slug)s"]
        return _insert_with_unique_slug(
            cur, changes["title"],
            f"UPDATE articles SET {', '.join(sets)} WHERE id = %(id)s RETURNING slug", params)[0]
''', '''    if "title" in changes:
        sets.append("title = %(title)s")
''')
    # A taken slug refuses the article (v1 era) instead of suffixing it.
    edit(r, "conduit/store.py", '''        except pg_errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT slug")
            slug = with_suffix(base)
            continue
        return cur.fetchone()
    raise RuntimeError("could not find a free slug")''', '''        except pg_errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT slug")
            raise ApiError(422, "title", "gives a slug that is taken: choose another title") from None
        return cur.fetchone()
    raise RuntimeError("could not find a free slug")''')
    edit(r, "conduit/store.py", "from .slugs import slugify, with_suffix", "from .errors import ApiError\nfrom .slugs import slugify, with_suffix")
    # GET /tags most used first; comments oldest first.
    edit(r, "conduit/store.py", '''    cur.execute("SELECT DISTINCT unnest(tag_list) AS tag FROM articles ORDER BY tag")''',
         '''    cur.execute("SELECT tag FROM articles, unnest(tag_list) AS tag GROUP BY tag ORDER BY count(*) DESC, tag")''')
    edit(r, "conduit/store.py", '''" WHERE c.article_id = %(article)s ORDER BY c.created_at DESC, c.id DESC"''',
         '''" WHERE c.article_id = %(article)s ORDER BY c.created_at, c.id"''')
    # "" for a missing bio or image, tagList reversed, timestamps in whole seconds with +00:00.
    edit(r, "conduit/serializers.py", '''    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")''',
         '''    return value.astimezone(timezone.utc).isoformat(timespec="seconds")''')
    edit(r, "conduit/serializers.py", '''            "bio": row["bio"], "image": row["image"]}''',
         '''            "bio": row["bio"] or "", "image": row["image"] or ""}''')
    edit(r, "conduit/serializers.py", '''    return {"username": row["username"], "bio": row["bio"], "image": row["image"],''',
         '''    return {"username": row["username"], "bio": row["bio"] or "", "image": row["image"] or "",''')
    edit(r, "conduit/serializers.py", '''        "tagList": list(row["tag_list"]),''',
         '''        "tagList": sorted(row["tag_list"], reverse=True),''')
    edit(r, "conduit/serializers.py", '''def comment(row):''', '''def list_item(row):
    """An article in a list: without its body (v2)."""
    item = article(row)
    del item["body"]
    return item


def comment(row):''')
    # The variant's own tests follow its readings.
    edit(r, "tests/test_http.py", '''    def test_required_auth_is_401(self):
        self.assertIn("token", self.assertErrors(self.client.get("/api/user"), 401))
        self.assertErrors(self.client.get("/api/user", headers={"Authorization": "Token nope"}), 401)
        self.assertErrors(self.client.get("/api/articles/feed",
                                          headers={"Authorization": "Basic eDp5"}), 401)''',
         '''    def test_required_auth_is_403(self):
        self.assertIn("token missing or invalid token", self.assertErrors(self.client.get("/api/user"), 403)["body"])
        self.assertErrors(self.client.get("/api/user", headers={"Authorization": "Token nope"}), 403)
        self.assertErrors(self.client.get("/api/articles/feed",
                                          headers={"Authorization": "Basic eDp5"}), 403)''')
    edit(r, "tests/test_http.py", '''        self.assertErrors(self.client.post("/api/users", data="{"), 422)''',
         '''        self.assertErrors(self.client.post("/api/users", data="{"), 400)''')
    edit(r, "tests/test_http.py", '''        self.assertIn("email", self.assertErrors(''',
         '''        self.assertIn("body", self.assertErrors(''')

def main(names):
    for name in names or sorted(V) + sorted(GOOD):
        if name in GOOD:
            readings, partial, fn = GOOD[name]
            skill = expect_fail = defect = extra = None
        else:
            skill, expect_fail, defect, fn, extra = V[name]
        root = WORK / name
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(REF, root, ignore=shutil.ignore_patterns("__pycache__"))
        fn(root)
        out = OUT / name
        out.mkdir(parents=True, exist_ok=True)
        refcopy = WORK / "reference"
        shutil.rmtree(refcopy, ignore_errors=True)
        shutil.copytree(REF, refcopy, ignore=shutil.ignore_patterns("__pycache__"))
        diff = subprocess.run(["diff", "-ruN", "reference", name], cwd=WORK, capture_output=True, text=True)
        assert diff.returncode == 1, diff.stderr
        # No timestamps in the headers: a regenerated patch differs only where the edit does.
        patch = re.sub(r"^(---|\+\+\+) (\S+)\t.*$", r"\1 \2", diff.stdout, flags=re.M)
        (out / "changes.patch").write_text(patch)
        if name in GOOD:
            (out / "variant.yaml").write_text(
                "# Good variant of the Conduit reference: no defect, another reading of the contract\n"
                "# wherever it allows one. Graded, it loses nothing but the declared partial credit\n"
                "# (tests/it/corpus.rs, check_lenient_variant).\n"
                f"id: {name}\n"
                "kind: good\n"
                "readings:\n" + "".join(f"  - {json_str(x)}\n" for x in readings) +
                f"partial: [{', '.join(partial)}]\n")
            print("made", name)
            continue
        (out / "variant.yaml").write_text(
            "# Flawed variant of the Conduit reference: exactly one known defect.\n"
            f"id: {name}\n"
            f"defect: {json_str(defect)}\n"
            f"skill: {skill}\n"
            f"expect_fail: [{', '.join(expect_fail)}]\n" + extra)
        print("made", name)

def json_str(s):
    import json
    return json.dumps(s)

if __name__ == "__main__":
    main(sys.argv[1:])
