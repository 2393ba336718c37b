"""Benchmarks bulkops against the simulator, side by side with the official SDK helper, in one run.

Measures wall time, throughput and peak RSS (GNU time) of:
  - bulkops runs cancel over N runs, at several N (memory must not grow with job size);
  - the Python SDK's bulk_cancel_by_filters_with_pagination (chunks of 500, sleep 3 s) over the
    same scenario.
Writes a Markdown table to docs/benchmarks.md (or --out). Not a test: numbers on a shared,
noisy machine are for comparison within one run.
"""

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request

UTC = dt.timezone.utc


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


class Sim:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--port", "0", "--cancel-delay-ms", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.url, self.token = hello["url"], hello["token"]

    def seed(self, n, workflow):
        now = dt.datetime.now(UTC)
        return post(self.url + "/_sim/seed", {
            "runs": n, "status": "QUEUED", "workflow": workflow,
            "created_from": (now - dt.timedelta(days=3)).isoformat(),
            "created_to": (now - dt.timedelta(minutes=5)).isoformat(),
        })

    def cancelled(self, workflow):
        return get(self.url + "/_sim/stats")["runs_by_workflow"][workflow]["CANCELLED"]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def timed(cmd, env, cwd):
    """Runs cmd under GNU time; returns (seconds, peak RSS MiB, exit code)."""
    with tempfile.NamedTemporaryFile("r") as t:
        started = time.monotonic()
        code = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", t.name] + cmd, env=env, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        rss_kib = int(t.read().strip().splitlines()[-1])
    return elapsed, rss_kib / 1024, code


SDK_HELPER = """
import datetime as dt, os, sys
from hatchet_sdk import Hatchet
from hatchet_sdk.clients.rest.models.v1_task_status import V1TaskStatus
h = Hatchet()
until = dt.datetime.now(dt.timezone.utc)
h.runs.bulk_cancel_by_filters_with_pagination(
    since=until - dt.timedelta(days=4), until=until,
    statuses=[V1TaskStatus.QUEUED], workflow_ids=[sys.argv[1]])
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--sdk-size", type=int, default=20000)
    ap.add_argument("--rate", default="1000")
    ap.add_argument("--out", default="docs/benchmarks.md")
    args = ap.parse_args()
    bulkops = os.path.join(args.bin_dir, "bulkops")
    rows = []
    work = tempfile.mkdtemp()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HATCHET_CLIENT_", "BULKOPS_"))}

    def run_bulkops(n, label):
        sim = Sim(os.path.join(args.bin_dir, "hatchet-sim"))
        try:
            sim.seed(n, "bench")
            env = dict(base_env, HATCHET_CLIENT_TOKEN=sim.token)
            cmd = [bulkops, "--state", os.path.join(work, f"{label}-{n}.db"), "--log-format", "json",
                   "runs", "cancel", "--since", "4d", "--status", "QUEUED", "--workflow", "bench",
                   "--yes", "--rate", args.rate, "--concurrency", "8"]
            secs, rss, code = timed(cmd, env, work)
            done = sim.cancelled("bench")
            rows.append((label, n, done, secs, done / secs if secs else 0, rss, code))
        finally:
            sim.stop()

    for n in [int(s) for s in args.sizes.split(",")]:
        run_bulkops(n, "bulkops")
    run_bulkops(args.sdk_size, "bulkops")

    sim = Sim(os.path.join(args.bin_dir, "hatchet-sim"))
    try:
        wf = sim.seed(args.sdk_size, "bench")["workflow_id"]
        env = dict(base_env, HATCHET_CLIENT_TOKEN=sim.token, HATCHET_CLIENT_SERVER_URL=sim.url,
                   HATCHET_CLIENT_TLS_STRATEGY="none", HATCHET_CLIENT_HOST_PORT="127.0.0.1:1")
        secs, rss, code = timed([sys.executable, "-c", SDK_HELPER, wf], env, work)
        done = sim.cancelled("bench")
        rows.append(("hatchet-sdk bulk_cancel_by_filters_with_pagination", args.sdk_size, done, secs,
                     done / secs if secs else 0, rss, code))
    finally:
        sim.stop()

    lines = [
        "# Benchmarks",
        "",
        f"Run {dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores), "
        f"by `bash scripts/bench.sh`, against hatchet-sim (release build, cancel delay 0) on loopback. "
        f"bulkops: `--rate {args.rate} --concurrency 8 --chunk-size 500`, verification on. "
        "The SDK helper uses its defaults (chunks of 500, 3 s sleep after each). Peak RSS from GNU time. "
        "Same machine, same run, one after another; the machine is shared, so compare rows, not absolutes.",
        "",
        "| tool | runs matching | runs cancelled | wall time (s) | runs/s | peak RSS (MiB) | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, n, done, secs, rate, rss, code in rows:
        lines.append(f"| {label} | {n:,} | {done:,} | {secs:.1f} | {rate:,.0f} | {rss:.1f} | {code} |")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
