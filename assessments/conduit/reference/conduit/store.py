"""All SQL. Every function takes a cursor inside the caller's transaction.

Lists are one query for the page (authors, favourite counts and the viewer's flags joined in,
never a query per row) and one for the total.
"""

from psycopg2 import errors as pg_errors

from .slugs import slugify, with_suffix

# --- users and profiles -------------------------------------------------------------------

_USER_COLUMNS = "id, username, email, bio, image"


def create_user(cur, username, email, password_hash):
    """The new user row, or the name of the field already taken ("email" or "username")."""
    cur.execute("SAVEPOINT create_user")
    try:
        cur.execute(f"INSERT INTO users (username, email, password_hash) VALUES (%s, %s, %s) "
                    f"RETURNING {_USER_COLUMNS}", (username, email, password_hash))
    except pg_errors.UniqueViolation as exc:
        cur.execute("ROLLBACK TO SAVEPOINT create_user")
        return None, _taken_field(exc)
    return cur.fetchone(), None


def _taken_field(exc):
    constraint = getattr(exc.diag, "constraint_name", "") or ""
    return "email" if "email" in constraint else "username"


def taken_field(cur, username, email, exclude_id=None):
    """Which of username/email another user already has (checked before a write)."""
    if email is not None:
        cur.execute("SELECT 1 FROM users WHERE lower(email) = lower(%s) AND id IS DISTINCT FROM %s",
                    (email, exclude_id))
        if cur.fetchone():
            return "email"
    if username is not None:
        cur.execute("SELECT 1 FROM users WHERE username = %s AND id IS DISTINCT FROM %s",
                    (username, exclude_id))
        if cur.fetchone():
            return "username"
    return None


def user_by_id(cur, user_id):
    cur.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = %s", (user_id,))
    return cur.fetchone()


def user_for_login(cur, email):
    cur.execute(f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE lower(email) = lower(%s)",
                (email,))
    return cur.fetchone()


def update_user(cur, user_id, changes):
    """Apply {column: value} (columns from a fixed set); the row, or the field already taken."""
    allowed = {"username", "email", "password_hash", "bio", "image"}
    assert set(changes) <= allowed
    if not changes:
        return user_by_id(cur, user_id), None
    assignments = ", ".join(f"{column} = %({column})s" for column in sorted(changes))
    cur.execute("SAVEPOINT update_user")
    try:
        cur.execute(f"UPDATE users SET {assignments} WHERE id = %(id)s RETURNING {_USER_COLUMNS}",
                    {**changes, "id": user_id})
    except pg_errors.UniqueViolation as exc:
        cur.execute("ROLLBACK TO SAVEPOINT update_user")
        return None, _taken_field(exc)
    return cur.fetchone(), None


def profile(cur, username, viewer_id):
    """(id, username, bio, image, following) of a user by name, or None."""
    cur.execute("""
        SELECT u.id, u.username, u.bio, u.image,
               EXISTS (SELECT 1 FROM follows f
                       WHERE f.follower_id = %s AND f.followed_id = u.id) AS following
        FROM users u WHERE u.username = %s""", (viewer_id, username))
    return cur.fetchone()


def follow(cur, follower_id, followed_id):
    cur.execute("INSERT INTO follows (follower_id, followed_id) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING", (follower_id, followed_id))


def unfollow(cur, follower_id, followed_id):
    cur.execute("DELETE FROM follows WHERE follower_id = %s AND followed_id = %s",
                (follower_id, followed_id))


# --- articles -----------------------------------------------------------------------------

# The viewer is %(viewer)s (NULL when anonymous): favorited/following are false for NULL.
_ARTICLE_SELECT = """
    SELECT a.id, a.slug, a.title, a.description, {body} AS body, a.tag_list,
           a.created_at, a.updated_at, a.author_id,
           u.username, u.bio, u.image,
           (SELECT count(*) FROM favorites fc WHERE fc.article_id = a.id) AS favorites_count,
           EXISTS (SELECT 1 FROM favorites fv
                   WHERE fv.article_id = a.id AND fv.user_id = %(viewer)s) AS favorited,
           EXISTS (SELECT 1 FROM follows fo
                   WHERE fo.followed_id = a.author_id AND fo.follower_id = %(viewer)s) AS following
    FROM articles a JOIN users u ON u.id = a.author_id
"""


def article(cur, slug, viewer_id):
    cur.execute(_ARTICLE_SELECT.format(body="a.body") + " WHERE a.slug = %(slug)s",
                {"slug": slug, "viewer": viewer_id})
    return cur.fetchone()


def list_articles(cur, viewer_id, *, tag=None, author=None, favorited_by=None, feed_of=None,
                  limit=20, offset=0):
    """(rows of the page, number of matching articles); filters are AND-combined."""
    where, params = [], {"viewer": viewer_id, "limit": limit, "offset": offset}
    if tag is not None:
        where.append("a.tag_list @> ARRAY[%(tag)s]::text[]")
        params["tag"] = tag
    if author is not None:
        where.append("a.author_id = (SELECT id FROM users WHERE username = %(author)s)")
        params["author"] = author
    if favorited_by is not None:
        where.append("""EXISTS (SELECT 1 FROM favorites ff JOIN users fu ON fu.id = ff.user_id
                                WHERE ff.article_id = a.id AND fu.username = %(favorited_by)s)""")
        params["favorited_by"] = favorited_by
    if feed_of is not None:
        where.append("a.author_id IN (SELECT followed_id FROM follows WHERE follower_id = %(feed_of)s)")
        params["feed_of"] = feed_of
    condition = (" WHERE " + " AND ".join(where)) if where else ""
    cur.execute("SELECT count(*) FROM articles a" + condition, params)
    total = cur.fetchone()[0]
    if limit == 0 or offset >= total:
        return [], total
    # The page's ids first (an index scan that skips `offset` entries cheaply), then the
    # joins and per-article subqueries for those rows only: PostgreSQL would otherwise
    # compute them for every skipped row too.
    cur.execute(_ARTICLE_SELECT.format(body="a.body")
                + " JOIN (SELECT a.id FROM articles a" + condition
                + " ORDER BY a.created_at DESC, a.id DESC LIMIT %(limit)s OFFSET %(offset)s)"
                + " AS page ON page.id = a.id ORDER BY a.created_at DESC, a.id DESC",
                params)
    return cur.fetchall(), total


def _insert_with_unique_slug(cur, title, statement, params):
    """Run an INSERT/UPDATE that sets slug = %(slug)s, retrying with a suffix while taken."""
    base = slugify(title)
    slug = base
    for _ in range(8):
        cur.execute("SAVEPOINT slug")
        try:
            cur.execute(statement, {**params, "slug": slug})
        except pg_errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT slug")
            slug = with_suffix(base)
            continue
        return cur.fetchone()
    raise RuntimeError("could not find a free slug")


def create_article(cur, author_id, title, description, body, tags):
    row = _insert_with_unique_slug(cur, title, """
        INSERT INTO articles (slug, title, description, body, tag_list, author_id)
        VALUES (%(slug)s, %(title)s, %(description)s, %(body)s, %(tags)s, %(author)s)
        RETURNING slug""",
        {"title": title, "description": description, "body": body, "tags": tags,
         "author": author_id})
    return row[0]


def update_article(cur, article_id, changes):
    """Apply {title?, description?, body?, tag_list?}; a new title gives a new slug."""
    columns = [c for c in ("description", "body", "tag_list") if c in changes]
    sets = [f"{c} = %({c})s" for c in columns] + ["updated_at = clock_timestamp()"]
    params = {**changes, "id": article_id}
    if "title" in changes:
        sets += ["title = %(title)s", "slug = %(slug)s"]
        return _insert_with_unique_slug(
            cur, changes["title"],
            f"UPDATE articles SET {', '.join(sets)} WHERE id = %(id)s RETURNING slug", params)[0]
    cur.execute(f"UPDATE articles SET {', '.join(sets)} WHERE id = %(id)s RETURNING slug", params)
    return cur.fetchone()[0]


def delete_article(cur, article_id):
    cur.execute("DELETE FROM articles WHERE id = %s", (article_id,))


def favorite(cur, user_id, article_id):
    # The primary key makes a second favourite (or a racing duplicate) a no-op.
    cur.execute("INSERT INTO favorites (user_id, article_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (user_id, article_id))


def unfavorite(cur, user_id, article_id):
    cur.execute("DELETE FROM favorites WHERE user_id = %s AND article_id = %s", (user_id, article_id))


def tags(cur):
    cur.execute("SELECT DISTINCT unnest(tag_list) AS tag FROM articles ORDER BY tag")
    return [row[0] for row in cur.fetchall()]


# --- comments -----------------------------------------------------------------------------

_COMMENT_SELECT = """
    SELECT c.id, c.body, c.created_at, c.updated_at, c.author_id, c.article_id,
           u.username, u.bio, u.image,
           EXISTS (SELECT 1 FROM follows fo
                   WHERE fo.followed_id = c.author_id AND fo.follower_id = %(viewer)s) AS following
    FROM comments c JOIN users u ON u.id = c.author_id
"""


def comments(cur, article_id, viewer_id):
    cur.execute(_COMMENT_SELECT + " WHERE c.article_id = %(article)s ORDER BY c.created_at DESC, c.id DESC",
                {"article": article_id, "viewer": viewer_id})
    return cur.fetchall()


def comment(cur, comment_id, viewer_id):
    cur.execute(_COMMENT_SELECT + " WHERE c.id = %(id)s", {"id": comment_id, "viewer": viewer_id})
    return cur.fetchone()


def create_comment(cur, article_id, author_id, body):
    cur.execute("INSERT INTO comments (article_id, author_id, body) VALUES (%s, %s, %s) RETURNING id",
                (article_id, author_id, body))
    return cur.fetchone()[0]


def delete_comment(cur, comment_id):
    cur.execute("DELETE FROM comments WHERE id = %s", (comment_id,))
