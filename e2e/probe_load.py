"""Load probe against the local Hatchet: trigger throughput, OLAP lag, cancel flip time, memory.

Run (server up via scripts/hatchet-up.sh):
    $(scripts/python-env.sh)/bin/python e2e/probe_load.py [--queued 2000] [--failed 500] [--ok 500] [--dag 5]

Prints one JSON object with the measurements (recorded in docs/hatchet-behaviour.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hatchet_helpers as hh  # noqa: E402


def rss_mb() -> dict[str, float]:
    out: dict[str, float] = {}
    run = os.environ.get("HATCHET_RUN_DIR", "")
    for name in ("engine", "api", "worker"):
        try:
            pid = open(f"{run}/{name}.pid").read().strip()
            # the whole process group (the worker spawns an action-runner process)
            ps = subprocess.run(["ps", "-o", "rss=", "-g", pid], capture_output=True, text=True).stdout
            out[name] = round(sum(int(x) for x in ps.split()) / 1024, 1)
        except OSError:
            pass
    # PostgreSQL: proportional set size (shared buffers counted once across backends)
    pss = 0
    for pid in subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout.split():
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    out["postgres_pss"] = round(pss / 1024, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queued", type=int, default=2000)
    ap.add_argument("--failed", type=int, default=500)
    ap.add_argument("--ok", type=int, default=500)
    ap.add_argument("--dag", type=int, default=5)
    ap.add_argument("--cancel", type=int, default=500, help="how many of the queued runs to cancel (ID mode)")
    a = ap.parse_args()
    res: dict[str, object] = {"rss_mb_before": rss_mb()}
    tag = hh.new_tag("load")
    res["tag"] = tag

    t = time.monotonic()
    queued = hh.trigger_unserved(a.queued, tag + "-q")
    dt = time.monotonic() - t
    res["trigger_queued"] = {"n": a.queued, "s": round(dt, 2), "runs_per_s": round(a.queued / dt)}
    res["olap_lag_queued_s"] = round(hh.wait_for_count(tag + "-q", "QUEUED", a.queued, timeout=180, interval=0.5), 2)

    t = time.monotonic()
    hh.trigger("fail", a.failed, tag + "-f")
    dt = time.monotonic() - t
    res["trigger_failed"] = {"n": a.failed, "s": round(dt, 2), "runs_per_s": round(a.failed / dt)}
    res["all_failed_visible_s"] = round(hh.wait_for_count(tag + "-f", "FAILED", a.failed, timeout=300, interval=0.5), 2)

    t = time.monotonic()
    hh.trigger("ok", a.ok, tag + "-ok")
    dt = time.monotonic() - t
    res["trigger_ok"] = {"n": a.ok, "s": round(dt, 2)}
    res["all_completed_visible_s"] = round(hh.wait_for_count(tag + "-ok", "COMPLETED", a.ok, timeout=300, interval=0.5), 2)

    t = time.monotonic()
    hh.trigger_dag("fail", a.dag, tag + "-dag")
    res["dag_failed_visible_s"] = round(hh.wait_for_count(tag + "-dag", "FAILED", a.dag, timeout=120, interval=0.5), 2)

    # single run: trigger -> visible in list (OLAP lag for one run)
    lags = []
    for _ in range(5):
        one = hh.new_tag("lag")
        t = time.monotonic()
        hh.trigger_unserved(1, one)
        lags.append(round(hh.wait_for_count(one, "QUEUED", 1, timeout=60, interval=0.1) , 2))
    res["olap_lag_single_run_s"] = lags

    # cancel in ID mode via the SDK (chunks of 500) and time until all show CANCELLED
    to_cancel = queued[: a.cancel]
    t = time.monotonic()
    hh.cancel_ids(to_cancel)
    call = time.monotonic() - t
    flip = hh.wait_for_statuses(to_cancel, "CANCELLED", timeout=180, interval=0.5, tag=tag + "-q")
    res["cancel"] = {"n": len(to_cancel), "call_s": round(call, 2), "all_cancelled_visible_after_call_s": round(flip, 2)}
    res["counts"] = {k: hh.status_counts(k) for k in (tag + "-q", tag + "-f", tag + "-ok", tag + "-dag")}
    res["rss_mb_after"] = rss_mb()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
