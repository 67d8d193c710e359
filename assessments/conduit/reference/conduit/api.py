"""The HTTP endpoints of Conduit (blueprint `api`, mounted at /api)."""

import functools

from flask import Blueprint, current_app, g, request

from . import serializers, store, validation
from .errors import ApiError, conflict, forbidden, invalid, not_found, unauthorized
from .http import auth_token, json_response, read_json_body, wrapped
from .security import (burn_password_check, hash_password, issue_token, token_user_id,
                       verify_password)

api = Blueprint("api", __name__, url_prefix="/api")


def _db():
    return current_app.extensions["conduit.db"]


def _secret():
    return current_app.extensions["conduit.settings"].jwt_secret


def _viewer(required):
    """The id of the user the request's token names: None when anonymous (if allowed).

    A token that is present but not valid — wrong signature, `alg: none`, expired, a user
    that no longer exists — is a 401 even where auth is optional.
    """
    token = auth_token()
    if token is None:
        if required:
            raise unauthorized()
        return None
    user_id = token_user_id(_secret(), token) if token else None
    if user_id is None:
        raise unauthorized()
    with _db().transaction() as cur:
        row = store.user_by_id(cur, user_id)
    if row is None:
        raise unauthorized()
    g.token = token
    return user_id


def auth(required):
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            g.viewer = _viewer(required)
            return view(*args, **kwargs)
        return wrapper
    return decorate


# --- users ------------------------------------------------------------------------------

def _user_response(row, status=200, token=None):
    token = token or issue_token(_secret(), row["id"], row["username"])
    return json_response({"user": serializers.user(row, token)}, status)


@api.post("/users")
def register():
    data = wrapped(read_json_body(), "user")
    username = validation.username(data, required=True)
    email = validation.email(data, required=True)
    password = validation.password(data, required=True)
    with _db().transaction() as cur:
        taken = store.taken_field(cur, username, email)
        if taken:
            raise conflict(taken)
    password_hash = hash_password(password)  # slow on purpose: outside any transaction
    with _db().transaction() as cur:
        row, taken = store.create_user(cur, username, email, password_hash)
    if taken:  # another registration won the race
        raise conflict(taken)
    return _user_response(row, 201)


@api.post("/users/login")
def login():
    data = wrapped(read_json_body(), "user")
    email = validation.text(data, "email", required=True, max_len=254)
    password = validation.text(data, "password", required=True, max_len=1024)
    with _db().transaction() as cur:
        row = store.user_for_login(cur, email.strip())
    if row is None:
        burn_password_check(password)
    elif verify_password(password, row["password_hash"]):
        return _user_response(row)
    raise invalid_credentials()


def invalid_credentials():
    return ApiError(401, "credentials", "email or password is invalid")


@api.get("/user")
@auth(required=True)
def current_user():
    with _db().transaction() as cur:
        row = store.user_by_id(cur, g.viewer)
    return _user_response(row, token=g.token)


@api.put("/user")
@auth(required=True)
def update_user():
    data = wrapped(read_json_body(), "user")
    changes = {}
    if data.get("username") is not None:
        changes["username"] = validation.username(data, required=True)
    if data.get("email") is not None:
        changes["email"] = validation.email(data, required=True)
    for field, max_len in (("bio", 10_000), ("image", 2048)):
        if field in data:
            value = validation.optional_profile_text(data, field, max_len)
            changes[field] = value if value else None
    password = validation.password(data, required=False) if data.get("password") is not None else None
    with _db().transaction() as cur:
        taken = store.taken_field(cur, changes.get("username"), changes.get("email"), g.viewer)
    if taken:
        raise conflict(taken)
    if password is not None:
        changes["password_hash"] = hash_password(password)
    with _db().transaction() as cur:
        row, taken = store.update_user(cur, g.viewer, changes)
    if taken:
        raise conflict(taken)
    # A new username would not change the token's subject (the id): the token stays valid.
    return _user_response(row, token=g.token)


# --- profiles ---------------------------------------------------------------------------

def _profile(cur, username, viewer):
    row = store.profile(cur, username, viewer)
    if row is None:
        raise not_found("profile")
    return row


@api.get("/profiles/<username>")
@auth(required=False)
def get_profile(username):
    with _db().transaction() as cur:
        row = _profile(cur, username, g.viewer)
    return json_response({"profile": serializers.profile(row)})


@api.post("/profiles/<username>/follow")
@auth(required=True)
def follow(username):
    with _db().transaction() as cur:
        row = _profile(cur, username, g.viewer)
        store.follow(cur, g.viewer, row["id"])
    return json_response({"profile": serializers.profile(row, following=True)})


@api.delete("/profiles/<username>/follow")
@auth(required=True)
def unfollow(username):
    with _db().transaction() as cur:
        row = _profile(cur, username, g.viewer)
        store.unfollow(cur, g.viewer, row["id"])
    return json_response({"profile": serializers.profile(row, following=False)})


# --- articles ---------------------------------------------------------------------------

def _article(cur, slug, viewer):
    row = store.article(cur, slug, viewer)
    if row is None:
        raise not_found("article")
    return row


def _article_response(cur, slug, viewer, status=200):
    return json_response({"article": serializers.article(_article(cur, slug, viewer))}, status)


def _list_response(rows, total):
    return json_response({"articles": [serializers.article(r) for r in rows],
                          "articlesCount": total})


def _filter(name):
    value = request.args.get(name)
    if value is not None and len(value) > 256:
        raise invalid(name, "is too long")
    return value


@api.get("/articles")
@auth(required=False)
def list_articles():
    limit, offset = validation.page(request.args)
    with _db().transaction() as cur:
        rows, total = store.list_articles(
            cur, g.viewer, tag=_filter("tag"), author=_filter("author"),
            favorited_by=_filter("favorited"), limit=limit, offset=offset)
    return _list_response(rows, total)


@api.get("/articles/feed")
@auth(required=True)
def feed():
    limit, offset = validation.page(request.args)
    with _db().transaction() as cur:
        rows, total = store.list_articles(cur, g.viewer, feed_of=g.viewer, limit=limit,
                                          offset=offset)
    return _list_response(rows, total)


@api.post("/articles")
@auth(required=True)
def create_article():
    data = wrapped(read_json_body(), "article")
    title = validation.text(data, "title", required=True, max_len=500)
    description = validation.text(data, "description", required=True, max_len=2000)
    body = validation.text(data, "body", required=True, max_len=100_000)
    tags = validation.tag_list(data) or []
    with _db().transaction() as cur:
        slug = store.create_article(cur, g.viewer, title, description, body, tags)
        return _article_response(cur, slug, g.viewer, 201)


@api.get("/articles/<slug>")
@auth(required=False)
def get_article(slug):
    with _db().transaction() as cur:
        return _article_response(cur, slug, g.viewer)


def _own_article(cur, slug):
    row = _article(cur, slug, g.viewer)
    if row["author_id"] != g.viewer:
        raise forbidden("article")
    return row


@api.put("/articles/<slug>")
@auth(required=True)
def update_article(slug):
    data = wrapped(read_json_body(), "article")
    changes = {}
    for field, max_len in (("title", 500), ("description", 2000), ("body", 100_000)):
        if data.get(field) is not None:
            changes[field] = validation.text(data, field, required=True, max_len=max_len)
    tags = validation.tag_list(data)
    if tags is not None:
        changes["tag_list"] = tags
    with _db().transaction() as cur:
        row = _own_article(cur, slug)
        if changes.get("title") == row["title"]:
            del changes["title"]  # same title, same slug
        new_slug = store.update_article(cur, row["id"], changes)
        return _article_response(cur, new_slug, g.viewer)


@api.delete("/articles/<slug>")
@auth(required=True)
def delete_article(slug):
    with _db().transaction() as cur:
        row = _own_article(cur, slug)
        store.delete_article(cur, row["id"])
    return "", 204


@api.post("/articles/<slug>/favorite")
@auth(required=True)
def favorite(slug):
    with _db().transaction() as cur:
        row = _article(cur, slug, g.viewer)
        store.favorite(cur, g.viewer, row["id"])
    with _db().transaction() as cur:  # committed: the count includes racing favourites
        return _article_response(cur, slug, g.viewer)


@api.delete("/articles/<slug>/favorite")
@auth(required=True)
def unfavorite(slug):
    with _db().transaction() as cur:
        row = _article(cur, slug, g.viewer)
        store.unfavorite(cur, g.viewer, row["id"])
    with _db().transaction() as cur:
        return _article_response(cur, slug, g.viewer)


# --- comments ---------------------------------------------------------------------------

@api.get("/articles/<slug>/comments")
@auth(required=False)
def list_comments(slug):
    with _db().transaction() as cur:
        row = _article(cur, slug, g.viewer)
        rows = store.comments(cur, row["id"], g.viewer)
    return json_response({"comments": [serializers.comment(r) for r in rows]})


@api.post("/articles/<slug>/comments")
@auth(required=True)
def create_comment(slug):
    data = wrapped(read_json_body(), "comment")
    body = validation.text(data, "body", required=True, max_len=20_000)
    with _db().transaction() as cur:
        row = _article(cur, slug, g.viewer)
        comment_id = store.create_comment(cur, row["id"], g.viewer, body)
        created = store.comment(cur, comment_id, g.viewer)
    return json_response({"comment": serializers.comment(created)}, 201)


@api.delete("/articles/<slug>/comments/<comment_id>")
@auth(required=True)
def delete_comment(slug, comment_id):
    with _db().transaction() as cur:
        article = _article(cur, slug, g.viewer)
        found = None
        if comment_id.isascii() and comment_id.isdigit() and len(comment_id) < 19:
            found = store.comment(cur, int(comment_id), g.viewer)
        if found is None or found["article_id"] != article["id"]:
            raise not_found("comment")
        if found["author_id"] != g.viewer:
            raise forbidden("comment")
        store.delete_comment(cur, found["id"])
    return "", 204


# --- tags -------------------------------------------------------------------------------

@api.get("/tags")
def list_tags():
    with _db().transaction() as cur:
        return json_response({"tags": store.tags(cur)})
