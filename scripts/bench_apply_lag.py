"""What the apply-lag probe costs and what it does, against hatchet-sim, for one or two bulkops binaries.

Scenario: N queued runs of one workflow created over three days (as scripts/bench.py), a fresh
simulator (`--cancel-delay-ms 0`) and state file per row, cancelled with
`runs cancel --since 4d --status QUEUED --workflow bench --yes --rate 100000 --concurrency 32`:
  - no fault: the server applies every cancel at once; requests per 1,000 runs (every route, and
    the probe's run-details reads alone) and wall time;
  - `cancel_apply_rate` R with 200 ms latency and `--chunk-size 100` (so that a window of
    chunks in flight, 500 runs/s each, can send less than R): the server applies R runs/s in
    order, a backlog; the most a run waited (`cancel_apply_lag_max_ms`), the largest backlog,
    wall time.
Writes a section between markers in docs/benchmarks.md (or --out). Not a test: compare rows of one run.

    python3 scripts/bench_apply_lag.py --bin target/release/bulkops --sim target/release/hatchet-sim \
        [--baseline BIN] [--runs 300000] [--apply-rate 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench-apply-lag:begin -->", "<!-- bench-apply-lag:end -->"
DETAILS = "GET /api/v1/stable/workflow-runs/{v1-workflow-run}"


def call(url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def row(binary: str, sim_bin: str, runs: int, faults: dict, extra: list[str]) -> dict:
    sim = subprocess.Popen([sim_bin, "--port", "0", "--cancel-delay-ms", "0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        hello = json.loads(sim.stdout.readline())
        now = dt.datetime.now(dt.timezone.utc)
        call(hello["url"] + "/_sim/seed", {
            "runs": runs, "status": "QUEUED", "workflow": "bench",
            "created_from": (now - dt.timedelta(days=3)).isoformat(),
            "created_to": (now - dt.timedelta(minutes=5)).isoformat()})
        call(hello["url"] + "/_sim/faults", faults)
        state = tempfile.mktemp(suffix=".db")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BULKOPS_")}
        env["HATCHET_CLIENT_TOKEN"] = hello["token"]
        t0 = time.monotonic()
        p = subprocess.run([binary, "--state", state, "-o", "json", "runs", "cancel", "--since", "4d",
                            "--status", "QUEUED", "--workflow", "bench", "--yes", "--rate", "100000",
                            "--concurrency", "32", *extra], env=env, capture_output=True, text=True)
        wall = time.monotonic() - t0
        stats = call(hello["url"] + "/_sim/stats")
        load = os.getloadavg()[0]
    finally:
        sim.kill()
        sim.wait()
    requests = sum(stats["requests"].values())
    return {"exit": p.returncode, "wall": wall, "cancelled": stats["runs_by_workflow"]["bench"]["CANCELLED"],
            "per_1000": requests * 1000 / runs, "details_per_1000": stats["requests"].get(DETAILS, 0) * 1000 / runs,
            "lag_max_s": stats["cancel_apply_lag_max_ms"] / 1000, "backlog_max": stats["cancel_backlog_max"],
            "load": load}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--baseline", help="another bulkops binary (e.g. main's), measured beside --bin")
    ap.add_argument("--runs", type=int, default=300_000)
    ap.add_argument("--apply-rate", type=int, default=4_000)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    a = ap.parse_args()
    binaries = [("this branch", a.bin)] + ([("baseline", a.baseline)] if a.baseline else [])
    scenarios = [("no fault", {}, []),
                 (f"cancel_apply_rate {a.apply_rate:,}/s, latency 200 ms, `--chunk-size 100`",
                  {"cancel_apply_rate": a.apply_rate, "latency_ms": 200}, ["--chunk-size", "100"])]
    started = dt.datetime.now(dt.timezone.utc)
    rows = []
    for scenario, faults, extra in scenarios:
        for name, binary in binaries:
            r = row(binary, a.sim, a.runs, faults, extra)
            rows.append((scenario, f"{name} (`{Path(binary).name}`)", r))
            print(scenario, name, r, flush=True)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    lines = [BEGIN, "### The apply-lag probe against the simulator", "",
             f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, shared), by "
             f"`scripts/bench_apply_lag.py` at {commit}: {a.runs:,} queued runs over three days, a fresh "
             "simulator (`--cancel-delay-ms 0`) and state per row, `runs cancel --since 4d --status QUEUED "
             "--workflow bench --yes --rate 100000 --concurrency 32`, wall time until bulkops exits "
             "(every run verified CANCELLED); requests from `/_sim/stats`, every route.", "",
             "| server | bulkops | exit | cancelled | wall (s) | requests per 1,000 runs | of which probe looks | "
             "most a run waited (s) | largest backlog (runs) | load avg |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario, name, r in rows:
        lines.append(f"| {scenario} | {name} | {r['exit']} | {r['cancelled']:,} | {r['wall']:.1f} | "
                     f"{r['per_1000']:.2f} | {r['details_per_1000']:.2f} | {r['lag_max_s']:.1f} | "
                     f"{r['backlog_max']:,} | {r['load']:.1f} |")
    lines.append(END)
    section = "\n".join(lines) + "\n"
    out = Path(a.out)
    text = out.read_text()
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
