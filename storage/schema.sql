-- scooptrace database schema: one file, numbered migrations, each applied once and recorded in
-- schema_migrations. The database is a DuckLake (catalog + Parquet files): it has no PRIMARY KEY, UNIQUE or
-- index, so every write is made idempotent by the storage modules (anti-joins, MERGE INTO, delete-then-insert
-- of a key). Tables are singular (feed, article, ...); the plural views are the public query API of
-- INTERFACE.md. Every instant is TIMESTAMPTZ, stored in UTC.
--
-- Numbering restarted at 1 with the DuckLake format; `scooptrace migrate OLD.duckdb` moves a database of the
-- earlier single-file format (whose migrations 1-3 this file's migration 1 contains) into a DuckLake.

-- migration 1: feeds, articles, pages, stories, first reports, citations, signals (DuckLake)
CREATE TABLE storage_state (
    key VARCHAR NOT NULL,                 -- e.g. maintained_at: when the last DuckLake maintenance ran
    value VARCHAR
);

CREATE TABLE feed (
    feed_id VARCHAR NOT NULL,          -- sha1 of the URL as first configured: stable across redirects
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
    -- A feed's next fetch comes from its own publishing rhythm (ingest/schedule.py), kept in next_fetch_after;
    -- ttl_seconds is its RSS <ttl>, kept so a 304 still honours it.
    ttl_seconds INTEGER,
    stale BOOLEAN DEFAULT FALSE,          -- stopped publishing far beyond its own rhythm
    added_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE article (
    article_id VARCHAR NOT NULL,       -- sha1 of the first normalised URL seen, 16 hex digits
    url VARCHAR NOT NULL,                 -- canonical URL (normalised; rel=canonical on the same site)
    outlet VARCHAR,
    feed_id VARCHAR,                      -- the feed it was first seen in; NULL for imported articles
    title VARCHAR,
    language VARCHAR,                     -- ISO 639-1
    published_at TIMESTAMPTZ NOT NULL,
    published_at_source VARCHAR NOT NULL, -- page | feed | first_seen
    -- Precision is data: second | minute (a real instant), day (only the calendar day is known; published_at
    -- holds that day at 00:00 UTC), bound (only a latest possible instant is known). The interval
    -- earliest..latest holds the truth (earliest NULL when unknown).
    published_at_precision VARCHAR,
    published_at_earliest TIMESTAMPTZ,
    published_at_latest TIMESTAMPTZ,
    published_claims JSON,                -- every raw claim (page, feed, URL) and the decision, with notes
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
    -- A page that failed is retried when due: page_attempts counts the fetches tried, page_next_attempt_at is
    -- when the next one may run (NULL: given up, or never failed).
    page_attempts INTEGER DEFAULT 0,
    page_next_attempt_at TIMESTAMPTZ,
    origin VARCHAR NOT NULL,              -- feed | import
    updated_at TIMESTAMPTZ NOT NULL
);

-- Every URL under which an article was seen (entry links with tracking parameters, canonical links).
CREATE TABLE article_url (
    url VARCHAR NOT NULL,
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
    article_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    http_status INTEGER,
    fetched_at TIMESTAMPTZ NOT NULL,
    html_zlib BLOB
);

CREATE TABLE run (
    run_id VARCHAR NOT NULL,
    command VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    summary JSON
);

CREATE VIEW articles AS
SELECT a.article_id, a.url, a.outlet, f.feed_url, a.title, a.language, a.published_at, a.published_at_source,
       a.published_at_precision, a.published_at_earliest, a.published_at_latest, a.published_claims,
       a.first_seen_at, a.summary, a.text, a.author, a.site_name, a.page_state, a.page_error,
       a.feed_published_raw, a.page_published_raw, a.origin
FROM article a LEFT JOIN feed f USING (feed_id);

CREATE VIEW feed_status AS
SELECT f.feed_url, f.outlet, f.last_fetched_at, f.last_status, f.last_error, f.consecutive_failures,
       f.etag, f.last_modified,
       (SELECT count(*) FROM article a WHERE a.feed_id = f.feed_id) AS n_articles,
       CASE WHEN f.retired_at IS NULL AND f.active
            THEN coalesce(f.next_fetch_after, f.last_fetched_at, f.added_at) END AS next_due_at,
       coalesce(f.stale, FALSE) AS stale,
       f.configured_url, f.site_url, f.language, f.active, f.retired_at, f.next_fetch_after
FROM feed f;

-- A story is every article about one event (cluster/). Every article with a row in story_member has been
-- assigned; articles without one are clustered by the next `scooptrace cluster` (incremental).
-- The first-report fields (story.first_article_id, first_report_evidence, story_member.is_first_report)
-- start as "earliest independent article" and may be refined by a later stage with UPDATE.
CREATE TABLE story (
    story_id VARCHAR NOT NULL,         -- sha1 of the founding article_id: a rebuild gives the same ids
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
    article_id VARCHAR NOT NULL,
    story_id VARCHAR NOT NULL,
    score DOUBLE,                         -- similarity to the story when the article joined; NULL for the founder
    syndicated_from_article_id VARCHAR,   -- the original of a wire or syndicated copy, else NULL
    syndication_evidence VARCHAR,         -- why it is a copy (canonical link, identical body, ...)
    is_first_report BOOLEAN NOT NULL DEFAULT FALSE,
    assigned_at TIMESTAMPTZ NOT NULL
);

-- What the clustering read of each member, so a later change of the article (page extracted, better date,
-- canonical target arrived) is detected and re-decided exactly as a rebuild would.
CREATE TABLE cluster_member (
    article_id VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,    -- the article's published_at when it was clustered
    content_md5 VARCHAR NOT NULL,         -- digest of title, outlet, language, summary, text start, canonical_url
    canonical_article_id VARCHAR,         -- the other outlet's article its canonical link resolved to
    tokens VARCHAR[],                     -- its title and lead tokens, counted in cluster_token_df
    -- The merge pass joins fragments of one event into the oldest of them: each member keeps the story it
    -- was placed in, and the article whose placement merged stories records them, so a replay from an
    -- earlier point can undo later merges exactly as a rebuild would.
    fragment_id VARCHAR,
    merged_story_ids VARCHAR[]
);

-- How many assigned articles contain each token (title or lead): the clustering core's word statistics,
-- kept so an incremental run weighs words exactly as a rebuild would.
CREATE TABLE cluster_token_df (
    token VARCHAR NOT NULL,
    df INTEGER NOT NULL
);

-- Facts about the stored clustering, e.g. the fingerprint of the parameters and word lists it was made with.
CREATE TABLE cluster_state (
    key VARCHAR NOT NULL,
    value VARCHAR
);



CREATE VIEW story_timeline AS
SELECT m.story_id, a.article_id, a.url, a.outlet, a.title, a.language, a.published_at,
       CAST(round(epoch(a.published_at) - epoch(fa.published_at)) AS BIGINT) AS lag_seconds,
       m.is_first_report, m.syndicated_from_article_id, m.syndication_evidence, m.score,
       a.published_at_source, a.first_seen_at
FROM story_member m
JOIN article a ON a.article_id = m.article_id
JOIN story s ON s.story_id = m.story_id
LEFT JOIN article fa ON fa.article_id = s.first_article_id;

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

-- Articles whose text and links have been scanned for citations, with a digest of what was scanned, so an
-- article whose page is extracted later (or changes) is scanned again.
CREATE TABLE citation_scan (
    article_id VARCHAR NOT NULL,
    content_sha1 VARCHAR NOT NULL,
    scanned_at TIMESTAMPTZ NOT NULL
);

-- Outage signals: complaint counts (value) and status-page entries (text). Re-importing a file replaces its rows.
CREATE TABLE signal (
    signal_id VARCHAR NOT NULL,        -- sha1 of source, service, kind, ts (and text for status entries)
    source VARCHAR NOT NULL,              -- the imported file's name, or --source
    service VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE,                         -- complaints per interval; NULL for status entries
    kind VARCHAR NOT NULL,                -- complaints | status
    text VARCHAR,                         -- status entry title and summary
    imported_at TIMESTAMPTZ NOT NULL
);

-- Per story: how the first report was decided and how coverage spread.
CREATE TABLE story_report (
    story_id VARCHAR NOT NULL,
    first_article_id VARCHAR,
    first_claim VARCHAR,                  -- page | feed | feed_naive | feed_date_only | first_seen
    first_uncertain BOOLEAN,              -- a weaker or equal claim lies within the winner's uncertainty
    seconds_to_5_outlets BIGINT,          -- NULL when fewer outlets covered it
    seconds_to_10_outlets BIGINT,
    languages_reached STRUCT(language VARCHAR, first_at TIMESTAMPTZ, lag_seconds BIGINT)[],
    computed_at TIMESTAMPTZ NOT NULL,
    -- The first report on intervals: the articles whose intervals overlap the earliest one could each have
    -- been first (the winner first); the first report is certain when only one could.
    first_candidates VARCHAR[]
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
    computed_at TIMESTAMPTZ NOT NULL
);

-- Facts about the stored analysis (e.g. the fingerprint of the outlet alias data the citations were found with).
CREATE TABLE report_state (
    key VARCHAR NOT NULL,
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
       r.seconds_to_10_outlets, r.languages_reached, r.computed_at,
       NOT r.first_uncertain AS first_certain, r.first_candidates
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

-- The stories of the clustering stage (stories_base) with the first-report stage's columns: how sure the
-- first report is, how fast coverage spread, and the outage it lines up with (the service whose spike onset
-- is nearest before the first report; NULLs when no signal names a service of the story).
CREATE VIEW stories_base AS
SELECT s.story_id, s.headline, s.first_article_id, fa.outlet AS first_outlet,
       coalesce(fa.published_at, s.first_published_at) AS first_published_at, s.last_published_at,
       s.n_articles, s.n_outlets, s.languages, s.first_report_evidence,
       s.founding_article_id, s.first_report_method, s.updated_at
FROM story s LEFT JOIN article fa ON fa.article_id = s.first_article_id;

CREATE VIEW stories AS
WITH outage AS (
    SELECT *, row_number() OVER (
        PARTITION BY story_id ORDER BY onset_at IS NULL, abs(lag_seconds), statement_at IS NULL, service
    ) AS pick
    FROM story_signal
)
SELECT b.*,
       r.first_claim AS first_report_claim, r.first_uncertain AS first_report_uncertain,
       NOT coalesce(r.first_uncertain, FALSE) AS first_report_certain, r.first_candidates AS first_report_candidates,
       r.seconds_to_5_outlets, r.seconds_to_10_outlets, r.languages_reached,
       o.service AS outage_service, o.onset_at AS spike_onset_at, o.peak_at AS spike_peak_at,
       o.lag_seconds AS spike_to_first_report_seconds, o.statement_at AS first_statement_at,
       o.statement_text, o.summary AS outage_summary
FROM stories_base b
LEFT JOIN story_report r ON r.story_id = b.story_id
LEFT JOIN outage o ON o.story_id = b.story_id AND o.pick = 1;

-- migration 2: complaint spikes, watches and alerts
-- Written without keys or indexes (DuckLake has none): idempotence comes from anti-joins in alerts/store.py.

-- Every complaint spike the signals stage found (cluster/report_store.py rewrites them when signals change),
-- linked to a story or not: the alerts stage needs the spikes nobody has written about yet.
CREATE TABLE signal_spike (
    service VARCHAR NOT NULL,
    onset_at TIMESTAMPTZ NOT NULL,        -- where the rise began
    detected_at TIMESTAMPTZ NOT NULL,     -- the point that confirmed it: no run could have known it before
    peak_at TIMESTAMPTZ NOT NULL,
    peak_value DOUBLE NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL
);
-- So the next report update finds the spikes of signals imported before this migration.
DELETE FROM report_state WHERE key = 'signals_fingerprint';

-- A saved search (`scooptrace watch add`). One row per name.
CREATE TABLE watch (
    name VARCHAR NOT NULL,
    terms VARCHAR NOT NULL,               -- every term must match, in any language, through the aliases
    outlets VARCHAR[],                    -- empty: any outlet
    languages VARCHAR[],                  -- empty: any language
    min_outlets INTEGER,                  -- outlets_reached fires when a story reaches this many
    webhook VARCHAR,
    email VARCHAR,
    created_at TIMESTAMPTZ NOT NULL
);

-- An alert raised for a watch. alert_id is a digest of (watch, story_id, trigger[, language]): one row each.
CREATE TABLE alert (
    alert_id VARCHAR NOT NULL,
    watch VARCHAR NOT NULL,
    story_id VARCHAR NOT NULL,            -- 'spike:<service>:<onset>' for a spike no story covers yet
    trigger VARCHAR NOT NULL,             -- new_story | outlets_reached | language_reached |
                                          -- spike_without_coverage | coverage_after_spike | statement
    raised_at TIMESTAMPTZ NOT NULL,
    detail VARCHAR NOT NULL,              -- one or two sentences for people
    data JSON                             -- the facts behind it (first outlet, lag, language, ...)
);

-- One row per alert and channel (webhook, email), written in the same transaction as the alert as
-- 'pending'; 'delivered' once the receiver accepted it, 'failed' after too many failed runs.
CREATE TABLE alert_delivery (
    alert_id VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,             -- webhook | email
    target VARCHAR NOT NULL,              -- the URL or address at the time the alert was raised
    state VARCHAR NOT NULL,               -- pending | delivered | failed
    failures INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error VARCHAR,
    delivered_at TIMESTAMPTZ
);

-- Facts about the alerting runs (e.g. when the last one looked at the stories).
CREATE TABLE alert_state (
    key VARCHAR NOT NULL,
    value VARCHAR
);

CREATE VIEW watches AS
SELECT name, terms, outlets, languages, min_outlets, webhook, email, created_at
FROM watch;

CREATE VIEW alerts AS
WITH delivery AS (
    SELECT alert_id,
           max(delivered_at) FILTER (WHERE channel = 'webhook') AS webhook_at,
           max(delivered_at) FILTER (WHERE channel = 'email') AS email_at,
           list(channel ORDER BY channel) FILTER (WHERE state = 'pending') AS pending,
           list(channel ORDER BY channel) FILTER (WHERE state = 'failed') AS failed,
           string_agg(channel || ': ' || last_error, '; ' ORDER BY channel)
               FILTER (WHERE last_error IS NOT NULL AND state <> 'delivered') AS last_error
    FROM alert_delivery GROUP BY alert_id
)
SELECT a.alert_id, a.watch, a.story_id, a.trigger, a.raised_at, a.detail,
       CASE WHEN d.alert_id IS NULL THEN NULL
            ELSE struct_pack(webhook := d.webhook_at, email := d.email_at) END AS delivered_at,
       coalesce(d.pending, []) AS pending_channels, coalesce(d.failed, []) AS failed_channels,
       d.last_error AS delivery_error, a.data
FROM alert a LEFT JOIN delivery d USING (alert_id);
