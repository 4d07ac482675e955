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

-- What the clustering read of each member, so a later change of the article (page extracted, better date,
-- canonical target arrived) is detected and re-decided exactly as a rebuild would.
CREATE TABLE cluster_member (
    article_id VARCHAR PRIMARY KEY,
    published_at TIMESTAMPTZ NOT NULL,    -- the article's published_at when it was clustered
    content_md5 VARCHAR NOT NULL,         -- digest of title, outlet, language, summary, text start, canonical_url
    canonical_article_id VARCHAR,         -- the other outlet's article its canonical link resolved to
    tokens VARCHAR[]                      -- its title and lead tokens, counted in cluster_token_df
);

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

-- migration 3: first report, citations, signals
-- Filled by cluster/report_store.py after cluster/store.py has updated the stories (ingest, import, cluster),
-- and by `scooptrace signals import`. It refines story.first_article_id, first_report_evidence, headline and
-- story_member.is_first_report with UPDATE (first_report_method 'claims').

-- Who credits whom. One row per citing article, cited outlet, kind and cited article.
CREATE TABLE citation (
    citing_article_id VARCHAR NOT NULL,
    cited_outlet VARCHAR NOT NULL,        -- the outlet's name as the article table spells it where known
    cited_article_id VARCHAR,             -- link: the stored article the URL points to; mention: that outlet's
                                          -- earliest article in the citing article's story; else NULL
    kind VARCHAR NOT NULL,                -- link | mention
    evidence VARCHAR,                     -- the sentence, or "anchor <href>"
    says_first BOOLEAN NOT NULL DEFAULT FALSE, -- "first reported by", "أول من أفاد", ... (not a plain "according to")
    found_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX citation_citing ON citation (citing_article_id);

-- Articles whose text and links have been scanned for citations, with a digest of what was scanned, so an
-- article whose page is extracted later (or changes) is scanned again.
CREATE TABLE citation_scan (
    article_id VARCHAR PRIMARY KEY,
    content_sha1 VARCHAR NOT NULL,
    scanned_at TIMESTAMPTZ NOT NULL
);

-- Outage signals: complaint counts (value) and status-page entries (text). Re-importing a file replaces its rows.
CREATE TABLE signal (
    signal_id VARCHAR PRIMARY KEY,        -- sha1 of source, service, kind, ts (and text for status entries)
    source VARCHAR NOT NULL,              -- the imported file's name, or --source
    service VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE,                         -- complaints per interval; NULL for status entries
    kind VARCHAR NOT NULL,                -- complaints | status
    text VARCHAR,                         -- status entry title and summary
    imported_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX signal_service_ts ON signal (service, ts);

-- Per story: how the first report was decided and how coverage spread.
CREATE TABLE story_report (
    story_id VARCHAR PRIMARY KEY,
    first_article_id VARCHAR,
    first_claim VARCHAR,                  -- page | feed | feed_naive | feed_date_only | first_seen
    first_uncertain BOOLEAN,              -- a weaker or equal claim lies within the winner's uncertainty
    seconds_to_5_outlets BIGINT,          -- NULL when fewer outlets covered it
    seconds_to_10_outlets BIGINT,
    languages_reached STRUCT(language VARCHAR, first_at TIMESTAMPTZ, lag_seconds BIGINT)[],
    computed_at TIMESTAMPTZ NOT NULL
);

-- A story lined up with the outage signals of a service it names.
CREATE TABLE story_signal (
    story_id VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    onset_at TIMESTAMPTZ,                 -- where the complaint spike began (not its peak); NULL: no spike
    peak_at TIMESTAMPTZ,
    peak_value DOUBLE,
    first_report_at TIMESTAMPTZ,
    lag_seconds BIGINT,                   -- first report minus spike onset
    statement_at TIMESTAMPTZ,             -- first status-page entry; NULL: no official statement yet
    statement_text VARCHAR,
    summary VARCHAR,                      -- one sentence for people
    computed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (story_id, service)
);

-- Facts about the stored analysis (e.g. the fingerprint of the outlet alias data the citations were found with).
CREATE TABLE report_state (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE VIEW citations AS
SELECT c.citing_article_id, c.cited_outlet, c.cited_article_id, c.kind, c.evidence, c.says_first,
       a.outlet AS citing_outlet, a.published_at AS citing_published_at, m.story_id
FROM citation c
JOIN article a ON a.article_id = c.citing_article_id
LEFT JOIN story_member m ON m.article_id = c.citing_article_id;

CREATE VIEW signals AS
SELECT source, service, ts, value, kind, text, imported_at
FROM signal;

CREATE VIEW story_reports AS
SELECT r.story_id, r.first_article_id, r.first_claim, r.first_uncertain, r.seconds_to_5_outlets,
       r.seconds_to_10_outlets, r.languages_reached, r.computed_at
FROM story_report r;

CREATE VIEW story_outages AS
SELECT story_id, service, onset_at, peak_at, peak_value, first_report_at, lag_seconds,
       round(lag_seconds / 60.0, 1) AS lag_minutes, statement_at, statement_text,
       statement_at IS NOT NULL AS has_official_statement, summary
FROM story_signal;

-- Per outlet: stories it reported first, how often others credit it, and how far behind it is when following.
CREATE VIEW outlet_stats AS
WITH per_story AS (
    SELECT a.outlet, m.story_id, bool_or(m.is_first_report) AS was_first,
           min(epoch(a.published_at) - epoch(fa.published_at)) AS lag_seconds
    FROM story_member m
    JOIN article a ON a.article_id = m.article_id
    JOIN story s ON s.story_id = m.story_id
    LEFT JOIN article fa ON fa.article_id = s.first_article_id
    WHERE a.outlet IS NOT NULL
    GROUP BY a.outlet, m.story_id
), coverage AS (
    -- A follower's lag is never below zero: an earlier time on paper is a weak claim or a copy.
    SELECT outlet, count(*) AS stories_covered,
           count(*) FILTER (WHERE was_first) AS stories_first,
           median(greatest(lag_seconds, 0)) FILTER (WHERE NOT was_first) AS median_lag_seconds_following
    FROM per_story GROUP BY outlet
), independent_citation AS (
    -- A syndicated copy repeats its original's credits: only independent articles count.
    SELECT c.*, a.outlet AS citing_outlet
    FROM citation c
    JOIN article a ON a.article_id = c.citing_article_id
    LEFT JOIN story_member m ON m.article_id = c.citing_article_id
    WHERE m.syndicated_from_article_id IS NULL AND a.outlet IS DISTINCT FROM c.cited_outlet
), credited AS (
    SELECT cited_outlet AS outlet,
           count(DISTINCT citing_article_id) AS times_credited,
           count(DISTINCT citing_article_id) FILTER (WHERE says_first) AS times_credited_first,
           count(DISTINCT citing_outlet) AS credited_by_outlets
    FROM independent_citation GROUP BY cited_outlet
), crediting AS (
    SELECT citing_outlet AS outlet, count(DISTINCT citing_article_id) AS articles_crediting_others,
           count(DISTINCT cited_outlet) AS outlets_credited
    FROM independent_citation GROUP BY citing_outlet
)
SELECT outlet,
       coalesce(cv.stories_covered, 0) AS stories_covered,
       coalesce(cv.stories_first, 0) AS stories_first,
       coalesce(cr.times_credited, 0) AS times_credited,
       coalesce(cr.times_credited_first, 0) AS times_credited_first,
       coalesce(cr.credited_by_outlets, 0) AS credited_by_outlets,
       CAST(round(cv.median_lag_seconds_following) AS BIGINT) AS median_lag_seconds_following,
       round(cv.median_lag_seconds_following / 60.0, 1) AS median_lag_minutes_following,
       coalesce(cg.articles_crediting_others, 0) AS articles_crediting_others,
       coalesce(cg.outlets_credited, 0) AS outlets_credited
FROM coverage cv
FULL OUTER JOIN credited cr USING (outlet)
LEFT JOIN crediting cg USING (outlet);

-- The stories view of migration 2, kept as stories_base, plus the first-report stage's columns: how sure the
-- first report is, how fast coverage spread, and the outage it lines up with (the service whose spike onset
-- is nearest before the first report; NULLs when no signal names a service of the story).
ALTER VIEW stories RENAME TO stories_base;

CREATE VIEW stories AS
WITH outage AS (
    SELECT *, row_number() OVER (
        PARTITION BY story_id ORDER BY onset_at IS NULL, abs(lag_seconds), statement_at IS NULL, service
    ) AS pick
    FROM story_signal
)
SELECT b.*,
       r.first_claim AS first_report_claim, r.first_uncertain AS first_report_uncertain,
       r.seconds_to_5_outlets, r.seconds_to_10_outlets, r.languages_reached,
       o.service AS outage_service, o.onset_at AS spike_onset_at, o.peak_at AS spike_peak_at,
       o.lag_seconds AS spike_to_first_report_seconds, o.statement_at AS first_statement_at,
       o.statement_text, o.summary AS outage_summary
FROM stories_base b
LEFT JOIN story_report r ON r.story_id = b.story_id
LEFT JOIN outage o ON o.story_id = b.story_id AND o.pick = 1;

-- migration 4: page retries, adaptive polling
-- A page that failed is retried when due: page_attempts counts the fetches tried, page_next_attempt_at is when
-- the next one may run (NULL: given up, or never failed). A feed's next fetch comes from its own publishing
-- rhythm (ingest/schedule.py) and is kept in feed.next_fetch_after; ttl_seconds is the feed's RSS <ttl>, kept
-- so a 304 still honours it; stale is true when the feed stopped publishing far beyond its rhythm.
ALTER TABLE article ADD COLUMN page_attempts INTEGER DEFAULT 0;
ALTER TABLE article ADD COLUMN page_next_attempt_at TIMESTAMPTZ;
ALTER TABLE feed ADD COLUMN ttl_seconds INTEGER;
ALTER TABLE feed ADD COLUMN stale BOOLEAN DEFAULT FALSE;
CREATE OR REPLACE VIEW feed_status AS
SELECT f.feed_url, f.outlet, f.last_fetched_at, f.last_status, f.last_error, f.consecutive_failures,
       f.etag, f.last_modified,
       (SELECT count(*) FROM article a WHERE a.feed_id = f.feed_id) AS n_articles,
       f.configured_url, f.site_url, f.language, f.active, f.retired_at, f.next_fetch_after,
       CASE WHEN f.retired_at IS NULL AND f.active
            THEN coalesce(f.next_fetch_after, f.last_fetched_at, f.added_at) END AS next_due_at,
       coalesce(f.stale, FALSE) AS stale
FROM feed f;
