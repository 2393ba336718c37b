-- Processes about to run a job, registered by the job's identity before their first request
-- (the token check, the workflow lookups, the first look at the selection): the replicas
-- already running count them in the rate split, so a job's requests stay within its rate from
-- every process's first one (issue 11 point 2). A row goes when its process becomes a replica
-- (then `replicas` counts it), stands by, or is gone.
CREATE TABLE arrivals (
    identity  TEXT NOT NULL,
    owner     TEXT NOT NULL,
    heartbeat TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (identity, owner)
);
