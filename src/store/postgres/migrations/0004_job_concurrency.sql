-- Each job's concurrency (chunks in flight at most), as it was created with: its resumes keep
-- it unless told another. NULL for jobs stored before (they resume with the configured one).
-- Numbered 0004: 0003 is the replicas' migration of another branch; merged, it comes first.
ALTER TABLE jobs ADD COLUMN concurrency INTEGER;
