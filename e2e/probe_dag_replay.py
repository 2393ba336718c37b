"""Probe: are replays of DAG runs lost at the "safe" pacing of docs/hatchet-behaviour.md D3?

D3 measured ≤ 50 ids per request, ≥ 2 s apart, with standalone runs (1 task each). A DAG run of
itest-dag has 3 tasks, and the engine replays in batches of ~100 tasks; 50 DAG runs are 150 tasks.
This replays FAILED runs in ID mode, one request per chunk, `PAUSE` s apart, for several chunk
sizes and kinds, and counts per run whether its tasks' retryCount rose (all, none, or only some).

    scripts/hatchet-up.sh
    $(scripts/python-env.sh)/bin/python e2e/probe_dag_replay.py [ROUNDS]

Prints one JSON object per (kind, chunk) with the counts. Never replays QUEUED runs (D1).
"""

from __future__ import annotations

import json
import sys
import time

import hatchet_helpers as hh
from hatchet_sdk import BulkCancelReplayOpts

PAUSE = 4.0
CASES = [("dag", 50), ("dag", 33), ("task", 50)]


def run_case(kind: str, chunk: int, chunks: int) -> dict:
    tag = hh.new_tag(f"probe-{kind}{chunk}")
    n = chunk * chunks
    ids = hh.trigger_dag("fail", n, tag) if kind == "dag" else hh.trigger("fail", n, tag)
    hh.wait_for_count(tag, "FAILED", n, timeout=300)
    for k in range(0, n, chunk):
        if k:
            time.sleep(PAUSE)
        hh.hatchet.runs.bulk_replay(BulkCancelReplayOpts(ids=ids[k:k + chunk]))
    time.sleep(20)  # replays show within seconds; failing again takes ~1 s more
    rows = {r["metadata"]["id"]: r for r in hh.list_runs(tag)}
    out = {"all": 0, "none": 0, "some": 0}
    lost_chunks: dict[int, int] = {}
    for pos, i in enumerate(ids):
        r = rows[i]
        retries = [c.get("retryCount") or 0 for c in r.get("children") or []] or [r.get("retryCount") or 0]
        key = "all" if min(retries) >= 1 else ("none" if max(retries) == 0 else "some")
        out[key] += 1
        if key != "all":
            lost_chunks[pos // chunk] = lost_chunks.get(pos // chunk, 0) + 1
    return {"kind": kind, "chunk": chunk, "requests": chunks, "runs": n, "pause_s": PAUSE,
            "replayed_all_tasks": out["all"], "replayed_no_task": out["none"], "replayed_some_tasks": out["some"],
            "not_fully_replayed_by_request": lost_chunks}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    for _ in range(rounds):
        for kind, chunk in CASES:
            print(json.dumps(run_case(kind, chunk, chunks=4)), flush=True)


if __name__ == "__main__":
    main()
