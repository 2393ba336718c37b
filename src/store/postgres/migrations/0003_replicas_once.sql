-- What replicas sharing a job each do once (issue 11 points 2, 3 and 6).
-- Who sent a chunk's requests (its holder when it finished): a replica settles only the items
-- it sent itself, or those of a sender that is gone.
ALTER TABLE chunks ADD COLUMN sent_by TEXT;
-- The replica that completed the job, in the transaction that found nothing left: the only one
-- that writes its report.
ALTER TABLE jobs ADD COLUMN finished_by TEXT;
-- Each firing of a scheduled job, claimed by the one service replica that runs it.
CREATE TABLE schedule_firings (
    schedule   TEXT NOT NULL,
    fired_at   TIMESTAMPTZ NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, fired_at)
);
