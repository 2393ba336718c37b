-- Every process running a job, for replicas sharing it: live while its process runs (same
-- host) or its heartbeat is recent (another host). The job's own lease (jobs.owner) is the
-- replica that enumerates.
CREATE TABLE replicas (
    job_id    TEXT NOT NULL,
    owner     TEXT NOT NULL,
    heartbeat TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job_id, owner)
);
