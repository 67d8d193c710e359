"""Slugs: a readable, URL-safe form of a title; a random suffix makes a taken one unique."""

import re
import secrets
import unicodedata

MAX_SLUG_BASE = 80


def slugify(title):
    """"Hello, World!" → "hello-world"; accents folded; "article" when nothing is left."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    slug = slug[:MAX_SLUG_BASE].rstrip("-")
    return slug or "article"


def with_suffix(base):
    return f"{base}-{secrets.token_hex(3)}"
