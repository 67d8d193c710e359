-- Conduit's schema: users, follows, articles (tags as a text array), favorites, comments.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text        NOT NULL,
    email         text        NOT NULL,
    password_hash text        NOT NULL,          -- bcrypt
    bio           text,
    image         text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are unique whatever their case; usernames exactly (they appear in URLs).
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (username);

CREATE TABLE follows (
    follower_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (follower_id, followed_id)
);
CREATE INDEX follows_followed_idx ON follows (followed_id);

CREATE TABLE articles (
    id          bigserial PRIMARY KEY,
    slug        text        NOT NULL UNIQUE,
    title       text        NOT NULL,
    description text        NOT NULL,
    body        text        NOT NULL,
    tag_list    text[]      NOT NULL DEFAULT '{}',
    author_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Lists are newest first: the global list walks this index, the feed and `author=` the
-- second, `tag=` the GIN index.
CREATE INDEX articles_created_idx ON articles (created_at DESC, id DESC);
CREATE INDEX articles_author_created_idx ON articles (author_id, created_at DESC, id DESC);
CREATE INDEX articles_tags_idx ON articles USING gin (tag_list);

CREATE TABLE favorites (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, article_id)          -- favouriting twice counts once
);
CREATE INDEX favorites_article_idx ON favorites (article_id);

CREATE TABLE comments (
    id         bigserial PRIMARY KEY,
    article_id bigint      NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX comments_article_idx ON comments (article_id, created_at DESC, id DESC);
