"""Rows to the JSON shapes of the spec: user, profile, article, comment."""

from datetime import timezone


def timestamp(value):
    """ISO 8601 in UTC with milliseconds: 2026-12-06T14:30:00.123Z."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user(row, token):
    return {"email": row["email"], "token": token, "username": row["username"],
            "bio": row["bio"], "image": row["image"]}


def profile(row, following=None):
    return {"username": row["username"], "bio": row["bio"], "image": row["image"],
            "following": bool(row["following"] if following is None else following)}


def article(row):
    return {
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "body": row["body"],
        "tagList": list(row["tag_list"]),
        "createdAt": timestamp(row["created_at"]),
        "updatedAt": timestamp(row["updated_at"]),
        "favorited": bool(row["favorited"]),
        "favoritesCount": int(row["favorites_count"]),
        "author": profile(row),
    }


def comment(row):
    return {"id": int(row["id"]), "createdAt": timestamp(row["created_at"]),
            "updatedAt": timestamp(row["updated_at"]), "body": row["body"],
            "author": profile(row)}
