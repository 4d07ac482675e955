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

-- migration 2: stories
-- A story is every article about one event (cluster/). Every article with a row in story_member has been
-- assigned; articles without one are clustered by the next `scooptrace cluster` (incremental).
-- The first-report fields (story.first_article_id, first_report_evidence, story_member.is_first_report)
-- start as "earliest independent article" and may be refined by a later stage with UPDATE.
CREATE TABLE story (
    story_id VARCHAR PRIMARY KEY,         -- sha1 of the founding article_id: a rebuild gives the same ids
    founding_article_id VARCHAR NOT NULL, -- the article that opened the story (earliest by time, then id)
    headline VARCHAR,                     -- title of the first report
    first_article_id VARCHAR,             -- the first report: earliest member that is not a copy
    first_report_evidence VARCHAR,        -- a human-readable sentence: why that article is the first report
    first_report_method VARCHAR,          -- 'earliest' (cluster/) or the method of the stage that refined it
    first_published_at TIMESTAMPTZ,       -- published_at of the earliest member
    last_published_at TIMESTAMPTZ,        -- published_at of the latest member
    n_articles INTEGER NOT NULL,
    n_outlets INTEGER NOT NULL,
    languages VARCHAR[],                  -- distinct languages of the members, sorted
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE story_member (
    article_id VARCHAR PRIMARY KEY,
    story_id VARCHAR NOT NULL,
    score DOUBLE,                         -- similarity to the story when the article joined; NULL for the founder
    syndicated_from_article_id VARCHAR,   -- the original of a wire or syndicated copy, else NULL
    syndication_evidence VARCHAR,         -- why it is a copy (canonical link, identical body, ...)
    is_first_report BOOLEAN NOT NULL DEFAULT FALSE,
    assigned_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX story_member_story ON story_member (story_id);

-- How many assigned articles contain each token (title or lead): the clustering core's word statistics,
-- kept so an incremental run weighs words exactly as a rebuild would.
CREATE TABLE cluster_token_df (
    token VARCHAR PRIMARY KEY,
    df INTEGER NOT NULL
);

-- Facts about the stored clustering, e.g. the fingerprint of the parameters and word lists it was made with.
CREATE TABLE cluster_state (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE VIEW stories AS
SELECT s.story_id, s.headline, s.first_article_id, fa.outlet AS first_outlet,
       coalesce(fa.published_at, s.first_published_at) AS first_published_at, s.last_published_at,
       s.n_articles, s.n_outlets, s.languages, s.first_report_evidence,
       s.founding_article_id, s.first_report_method, s.updated_at
FROM story s LEFT JOIN article fa ON fa.article_id = s.first_article_id;

CREATE VIEW story_timeline AS
SELECT m.story_id, a.article_id, a.url, a.outlet, a.title, a.language, a.published_at,
       CAST(round(epoch(a.published_at) - epoch(fa.published_at)) AS BIGINT) AS lag_seconds,
       m.is_first_report, m.syndicated_from_article_id, m.syndication_evidence, m.score,
       a.published_at_source, a.first_seen_at
FROM story_member m
JOIN article a ON a.article_id = m.article_id
JOIN story s ON s.story_id = m.story_id
LEFT JOIN article fa ON fa.article_id = s.first_article_id;
