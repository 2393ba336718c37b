-- The store's first schema: the same tables as the SQLite store, plus each chunk's lease
-- (owner, lease_until) so that several processes can share a job's chunks.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    identity      TEXT NOT NULL,
    name          TEXT,
    spec          TEXT NOT NULL,
    since         TIMESTAMPTZ NOT NULL,
    until         TIMESTAMPTZ NOT NULL,
    state         TEXT NOT NULL,
    cursor        TEXT,
    enumerated    BOOLEAN NOT NULL DEFAULT FALSE,
    chunk_size    BIGINT NOT NULL,
    item_count    BIGINT NOT NULL DEFAULT 0,
    page_count    BIGINT NOT NULL DEFAULT 0,
    chunk_count   BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    started_by    TEXT NOT NULL,
    reason        TEXT,
    rate          DOUBLE PRECISION,
    resend_rounds INTEGER NOT NULL DEFAULT 0,
    owner         TEXT,
    heartbeat     TIMESTAMPTZ,
    -- Creation order, for listings (created_at can tie).
    created_seq   BIGSERIAL NOT NULL
);
CREATE INDEX jobs_identity ON jobs (identity, state);
-- At most one unfinished job per identity.
CREATE UNIQUE INDEX jobs_one_open_per_identity ON jobs (identity)
    WHERE state IN ('running', 'paused');
CREATE TABLE pages (
    job_id TEXT NOT NULL,
    page   BIGINT NOT NULL,
    scope  TEXT,
    PRIMARY KEY (job_id, page)
);
CREATE TABLE items (
    job_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    id          TEXT NOT NULL,
    page        BIGINT NOT NULL,
    chunk       BIGINT,
    state       TEXT NOT NULL,
    reason      TEXT,
    http_status INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ,
    payload     TEXT,
    PRIMARY KEY (job_id, seq)
);
CREATE UNIQUE INDEX items_id ON items (job_id, id);
CREATE INDEX items_by_chunk ON items (job_id, chunk, state, seq);
CREATE INDEX items_state ON items (job_id, state, seq);
CREATE INDEX items_by_page ON items (job_id, page, state, seq);
CREATE TABLE chunks (
    job_id      TEXT NOT NULL,
    chunk       BIGINT NOT NULL,
    state       TEXT NOT NULL,
    -- Who is sending it and until when: another process takes it only once the lease passed.
    owner       TEXT,
    lease_until TIMESTAMPTZ,
    PRIMARY KEY (job_id, chunk)
);
CREATE INDEX chunks_state ON chunks (job_id, state, chunk);
CREATE TABLE manifests (
    digest TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    id     TEXT NOT NULL,
    PRIMARY KEY (digest, seq)
);
