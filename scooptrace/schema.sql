-- scooptrace database schema: one file, numbered migrations, each applied once and recorded in
-- schema_migrations. Tables are singular (feed, article, ...); the plural views are the public query API
-- of INTERFACE.md. Every instant is TIMESTAMPTZ, stored in UTC.

-- migration 1: feeds, articles, pages
CREATE TABLE feed (
    feed_id VARCHAR PRIMARY KEY,          -- sha1 of the URL as first configured: stable across redirects
    configured_url VARCHAR NOT NULL,      -- as written in the feeds file
    feed_url VARCHAR NOT NULL,            -- current URL: follows 301/308
    outlet VARCHAR NOT NULL,
    site_url VARCHAR,
    language VARCHAR,
    active BOOLEAN NOT NULL DEFAULT TRUE, -- false: no longer in the feeds file used by ingest
    retired_at TIMESTAMPTZ,               -- 410 Gone: never fetched again
    etag VARCHAR,                         -- stored exactly as the server sent it
    last_modified VARCHAR,                -- stored exactly as the server sent it
    last_fetched_at TIMESTAMPTZ,
    last_status INTEGER,                  -- NULL when there was no HTTP response
    last_error VARCHAR,                   -- NULL when the last fetch was fine
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_fetch_after TIMESTAMPTZ,         -- Retry-After or exponential backoff
    body_sha1 VARCHAR,                    -- skip parsing when a 200 body is byte-identical to the last one
    added_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE article (
    article_id VARCHAR PRIMARY KEY,       -- sha1 of the first normalised URL seen, 16 hex digits
    url VARCHAR NOT NULL,                 -- canonical URL (normalised; rel=canonical on the same site)
    outlet VARCHAR,
    feed_id VARCHAR,                      -- the feed it was first seen in; NULL for imported articles
    title VARCHAR,
    language VARCHAR,                     -- ISO 639-1
    published_at TIMESTAMPTZ NOT NULL,
    published_at_source VARCHAR NOT NULL, -- page | feed | first_seen
    page_published_raw VARCHAR,           -- the page's own date claim, as extracted
    feed_published_raw VARCHAR,           -- the feed entry's date string, exactly as written
    first_seen_at TIMESTAMPTZ NOT NULL,
    summary VARCHAR,
    text VARCHAR,
    author VARCHAR,
    site_name VARCHAR,
    canonical_url VARCHAR,                -- the page's rel=canonical, as found (any site)
    page_state VARCHAR NOT NULL,          -- pending | extracted | failed | robots | not_fetched
    page_error VARCHAR,
    origin VARCHAR NOT NULL,              -- feed | import
    updated_at TIMESTAMPTZ NOT NULL
);

-- Every URL under which an article was seen (entry links with tracking parameters, canonical links).
CREATE TABLE article_url (
    url VARCHAR PRIMARY KEY,
    article_id VARCHAR NOT NULL
);

-- Outbound links of the article body, with anchor text, for citations.
CREATE TABLE article_link (
    article_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    href VARCHAR NOT NULL,
    anchor VARCHAR
);

-- The fetched HTML, zlib-compressed, so a better extractor can run again without fetching.
CREATE TABLE page (
    article_id VARCHAR PRIMARY KEY,
    url VARCHAR NOT NULL,
    http_status INTEGER,
    fetched_at TIMESTAMPTZ NOT NULL,
    html_zlib BLOB
);

CREATE TABLE run (
    run_id VARCHAR PRIMARY KEY,
    command VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    summary JSON
);

CREATE VIEW articles AS
SELECT a.article_id, a.url, a.outlet, f.feed_url, a.title, a.language, a.published_at, a.published_at_source,
       a.first_seen_at, a.summary, a.text, a.author, a.site_name, a.page_state, a.page_error,
       a.feed_published_raw, a.page_published_raw, a.origin
FROM article a LEFT JOIN feed f USING (feed_id);

CREATE VIEW feed_status AS
SELECT f.feed_url, f.outlet, f.last_fetched_at, f.last_status, f.last_error, f.consecutive_failures,
       f.etag, f.last_modified,
       (SELECT count(*) FROM article a WHERE a.feed_id = f.feed_id) AS n_articles,
       f.configured_url, f.site_url, f.language, f.active, f.retired_at, f.next_fetch_after
FROM feed f;
