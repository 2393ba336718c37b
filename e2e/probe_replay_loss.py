"""Does a bulk replay replay every task it returns? (Hatchet v0.104.7: no; see docs/hatchet-behaviour.md)

For each strategy: fail N runs, replay them in ID mode with the given chunk size and pause, wait until
the OLAP rows settle, and count how many runs actually got a new attempt (retryCount 0 -> 1).
The REST response lists every id either way; the engine drops whole ~100-task batches when the
per-tenant replay advisory lock is busy ("could not acquire advisory lock for replaying tasks").

Run: $(scripts/python-env.sh)/bin/python e2e/probe_replay_loss.py [--n 1000] [--strategies 1000:0,500:3,100:0,100:1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hatchet_helpers as hh  # noqa: E402


def engine_lock_errors() -> int:
    return open(os.environ["HATCHET_RUN_DIR"] + "/logs/engine.log").read().count(
        "could not acquire advisory lock for replaying tasks")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--strategies", default="1000:0,500:3,100:0,100:1")
    a = ap.parse_args()
    R = hh.rest()
    out = {}
    for strat in a.strategies.split(","):
        chunk, pause = int(strat.split(":")[0]), float(strat.split(":")[1])
        tag = hh.new_tag(f"rl{chunk}-{pause:g}")
        ids = hh.trigger("fail", a.n, tag)
        hh.wait_for_count(tag, "FAILED", a.n, timeout=300)
        e0 = engine_lock_errors()
        returned, t = 0, time.monotonic()
        for k in range(0, len(ids), chunk):
            r = R.post("/api/v1/stable/tenants/{tenant}/tasks/replay", {"externalIds": ids[k:k + chunk]})
            assert r.status == 200, r
            returned += len(r.json["ids"])
            if pause and k + chunk < len(ids):
                time.sleep(pause)
        call_s = time.monotonic() - t
        # settle: the replayed runs fail again within seconds; wait until the counts stop changing
        last, stable = None, 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and stable < 4:
            rows = hh.list_runs(tag)
            c = Counter((x["status"], x["retryCount"]) for x in rows)
            stable = stable + 1 if c == last else 0
            last = c
            time.sleep(1)
        replayed = sum(v for (s, rc), v in last.items() if rc >= 1)
        out[strat] = {"n": a.n, "chunk": chunk, "pause_s": pause, "response_ids": returned,
                      "requests_s": round(call_s, 2), "actually_replayed": replayed,
                      "lost": a.n - replayed, "status_retry_counts": {f"{s}/{rc}": v for (s, rc), v in last.items()},
                      "engine_lock_errors": engine_lock_errors() - e0}
        print(json.dumps({strat: out[strat]}), flush=True)


if __name__ == "__main__":
    main()
