"""Benchmarks bulkops against a real, local Hatchet (scripts/hatchet-up.sh), side by side in one run.

Cancel: N QUEUED runs (itest-unserved, no worker serves them), fresh runs for each contender:
  - bulkops with its defaults (latency-aware window), and with fixed settings (--rate/--concurrency);
  - the Python SDK's bulk_cancel_by_filters_with_pagination with its defaults (--sdk);
  - one filter-mode cancel call (Hatchet's own; it stops at 20,000);
  - another bulkops binary with its defaults (--baseline BIN).
  Wall time until every run is listed CANCELLED, and the latency a probe client sees listing runs
  every 200 ms: p50/p99 during the job against an idle baseline taken just before it.
Replay: F FAILED standalone + D FAILED three-task DAG runs (the e2e worker fails them, and lets the
  replays complete), fresh runs for each contender:
  - bulkops with its defaults (closed-loop pacing), and with the old fixed pacing (chunks of 50,
    replay_interval 2 s);
  - the SDK's bulk_replay_by_filters_with_pagination with its defaults (--sdk);
  - another bulkops binary with its defaults, e.g. a build of main to compare against (--baseline BIN).
  Runs/s over bulkops' wall time, and exactness on the server: runs (and DAG tasks) replayed
  exactly once, never, or more than once; the machine's CPU busy while the runs first ran and while
  they were replayed, and the contender's own CPU time (whose cores set the pace).
Writes a section at the end of docs/benchmarks.md (or --out), replacing an earlier one. Not a test:
numbers on a shared machine are for comparison within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e"))

import hatchet_helpers as hh  # noqa: E402  (loads the server's env file)

BEGIN, END = "<!-- bench-real:begin -->", "<!-- bench-real:end -->"
RUNS = "/api/v1/stable/tenants/{tenant}/workflow-runs"


class Probe(threading.Thread):
    """A client listing the tenant's runs every 200 ms, as a dashboard would; keeps each latency."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()
        self.rest = hh.Rest(timeout=60)

    def run(self) -> None:
        while not self.stopped.is_set():
            t = time.monotonic()
            r = self.rest.get(RUNS, since=hh.utcnow() - dt.timedelta(hours=1), only_tasks=False,
                              include_payloads=False, limit=50, offset=0)
            if r.status < 300:
                self.samples.append((t, r.elapsed * 1000))
            self.stopped.wait(max(0.0, 0.2 - (time.monotonic() - t)))

    def between(self, t0: float, t1: float) -> list[float]:
        return [ms for at, ms in self.samples if t0 <= at <= t1]


class Cpu:
    """The machine's CPU (all cores) from /proc/stat, and the CPU time of this process and its
    children: what a stretch of the run kept busy, and how much of it was the contender (bulkops
    runs as a child, the SDK helper in this process)."""

    def __init__(self) -> None:
        self.busy, self.total, self.own = self.read()

    @staticmethod
    def read() -> tuple[int, int, float]:
        ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        own = sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                     resource.getrusage(resource.RUSAGE_CHILDREN)))
        return sum(ticks) - idle, sum(ticks), own

    def since(self) -> tuple[float, float]:
        """(% of the machine busy since this was made, CPU seconds of this process and its children
        since then)."""
        busy, total, own = self.read()
        return 100 * (busy - self.busy) / max(1, total - self.total), own - self.own


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def bulkops(binary: str, work: str, args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, dict]:
    """Runs bulkops with the server's connection; returns (seconds, exit code, JSON summary)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BULKOPS_")}
    state = tempfile.mktemp(suffix=".db", dir=work)
    cmd = [binary, "--state", state, "--log-format", "json", "-o", "json", *args]
    t0 = time.monotonic()
    p = subprocess.run(cmd, env={**base, **(env or {})}, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    secs = time.monotonic() - t0
    # Its log beside the state (RUST_LOG=bulkops=debug shows each replay request and its wait).
    Path(state).with_suffix(".log").write_text(p.stderr)
    try:
        summary = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        summary = {}
    return secs, p.returncode, summary


def wait_cancelled(tag: str, n: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        done = hh.count_runs(tag, "CANCELLED")
        if done >= n or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def cancel_scenario(a: argparse.Namespace, contender: str, run) -> dict:
    tag = hh.new_tag("bench-cancel")
    since = hh.utcnow() - dt.timedelta(minutes=1)
    ids = hh.trigger_unserved(a.cancel_runs, tag)
    hh.wait_for_count(tag, "QUEUED", len(ids), timeout=600, interval=2)
    probe = Probe()
    probe.start()
    time.sleep(a.idle_s)
    idle_end = t0 = time.monotonic()
    load_before = os.getloadavg()[0]
    detail, expected = run(tag, since)
    # A contender expects what it was told the server took (the filter call: at most 20,000).
    cancelled = wait_cancelled(tag, len(ids) if expected is None else expected, a.cancel_timeout_s)
    t1 = time.monotonic()
    probe.stopped.set()
    probe.join()
    idle = probe.between(idle_end - a.idle_s, idle_end)
    during = probe.between(t0, t1)
    left = hh.external_ids(tag, ["QUEUED"])
    if left:
        hh.cancel_ids(left)  # what a capped contender left behind
    return {"contender": contender, "runs": len(ids), "cancelled": cancelled, "secs": t1 - t0,
            "idle_p50": pct(idle, 50), "idle_p99": pct(idle, 99),
            "during_p50": pct(during, 50), "during_p99": pct(during, 99),
            "detail": f"{detail}; load {load_before:.1f} → {os.getloadavg()[0]:.1f}"}


def retry(row: dict) -> int:
    return row.get("retryCount") or 0


def replay_exactness(tag: str, ids: list[str], timeout: float) -> dict:
    """Waits until every run and task is replayed and COMPLETED (or timeout); counts each run once
    (every task at retryCount 1), never (some at 0) or more than once (some at 2 or more)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = {r["metadata"]["id"]: r for r in hh.list_runs(tag)}
        counts = {"once": 0, "never": 0, "twice": 0}
        for i in ids:
            row = rows.get(i, {})
            retries = [retry(row)] + [retry(c) for c in row.get("children") or []]
            if max(retries) >= 2:
                counts["twice"] += 1
            elif min(retries) == 0:
                counts["never"] += 1
            else:
                counts["once"] += 1
        settled = all(rows.get(i, {}).get("status") == "COMPLETED" for i in ids)
        if (counts["once"] == len(ids) and settled) or time.monotonic() > deadline:
            return counts
        time.sleep(2)


def replay_scenario(a: argparse.Namespace, contender: str, run) -> dict:
    tag = hh.new_tag("bench-replay")
    since = hh.utcnow() - dt.timedelta(minutes=1)
    # How long the server takes to run these runs once, from their trigger until all show FAILED: a
    # replay runs each of them again, so this is the most it could replay in the same time.
    t0, cpu = time.monotonic(), Cpu()
    ids = hh.trigger("fail", a.replay_runs, tag, flag=tag) + hh.trigger_dag("fail", a.replay_dags, tag, flag=tag)
    hh.wait_for_count(tag, "FAILED", len(ids), timeout=900, interval=0.5)
    fresh_secs, (fresh_busy, _) = time.monotonic() - t0, cpu.since()
    hh.set_flag(tag)  # the replays find the flag and complete
    cpu = Cpu()
    secs, detail = run(tag, since)
    busy, client_cpu = cpu.since()
    counts = replay_exactness(tag, ids, a.replay_timeout_s)
    return {"contender": contender, "runs": len(ids), "secs": secs, "runs_per_s": len(ids) / secs,
            "fresh_per_s": len(ids) / fresh_secs, "fresh_busy": fresh_busy, "busy": busy,
            "client_cpu": client_cpu, **counts, "detail": detail}


def earlier_cancel_table(text: str) -> list[str]:
    """The cancel table of the section being replaced, when this run measured no cancel: kept, with
    the date of the run that measured it."""
    if BEGIN not in text or END not in text:
        return []
    old = text[text.index(BEGIN):text.index(END)].splitlines()
    starts = [i for i, line in enumerate(old) if line.startswith("Cancel ")]
    if not starts:
        return []
    table = []
    for line in old[starts[0]:]:
        if table and not line.strip() and table[-1].startswith("|"):
            break
        table.append(line)
    when = next((line.split(" on ")[0] for line in old if line.startswith("Run ")), "an earlier run")
    head = table[0].removesuffix(":")
    return [f"{head} (from the run of {when.removeprefix('Run ')}, not run again):", *table[1:], ""]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the bulkops binary (release build)")
    ap.add_argument("--cancel-runs", type=int, default=25_000)
    ap.add_argument("--replay-runs", type=int, default=1_000)
    ap.add_argument("--replay-dags", type=int, default=200)
    ap.add_argument("--fixed", default="--rate 1000 --concurrency 16",
                    help="the fixed bulkops settings the defaults are compared with")
    ap.add_argument("--sdk", action="store_true", help="also the SDK helpers (minutes each)")
    ap.add_argument("--baseline", metavar="BIN",
                    help="also cancel and replay with this bulkops binary (an earlier build, e.g. main's), side by side")
    ap.add_argument("--only", choices=["cancel", "replay"], help="one scenario")
    ap.add_argument("--idle-s", type=float, default=10.0)
    ap.add_argument("--cancel-timeout-s", type=float, default=600.0)
    ap.add_argument("--replay-timeout-s", type=float, default=600.0)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-real-")
    print(f"bulkops state and logs: {work}", file=sys.stderr)
    started = dt.datetime.now(dt.timezone.utc)

    def bulkops_cancel(extra: list[str], binary: str | None = None):
        def run(tag, since):
            secs, code, summary = bulkops(binary or a.bin, work, [
                "runs", "cancel", "--since", hh.iso(since), "--status", "QUEUED",
                "--workflow", "itest-unserved", "--metadata", f"itest={tag}", "--yes", *extra])
            return f"exit {code}, {summary.get('counts', {}).get('done', '?')} done, bulkops {secs:.1f} s", None
        return run

    def sdk_cancel(tag, since):
        hh.hatchet.runs.bulk_cancel_by_filters_with_pagination(
            since=since, until=hh.utcnow(), statuses=[hh.V1TaskStatus.QUEUED],
            additional_metadata={hh.META_KEY: tag})
        return "defaults: chunks of 500, sleep 3 s", None

    def filter_cancel(tag, since):
        r = hh.rest().post("/api/v1/stable/tenants/{tenant}/tasks/cancel", {"filter": {
            "since": hh.iso(since), "until": hh.iso(hh.utcnow()), "statuses": ["QUEUED"],
            "additionalMetadata": [f"{hh.META_KEY}:{tag}"]}})
        taken = len((r.json or {}).get("ids") or []) if r.status < 300 else 0
        return f"one call, HTTP {r.status}, {taken:,} ids taken", taken

    cancels, replays = [], []
    if a.only in (None, "cancel"):
        cancels.append(cancel_scenario(a, "bulkops (defaults)", bulkops_cancel([])))
        cancels.append(cancel_scenario(a, f"bulkops `{a.fixed}`", bulkops_cancel(a.fixed.split())))
        if a.baseline:
            version = subprocess.run([a.baseline, "--version"], capture_output=True, text=True).stdout.strip()
            cancels.append(cancel_scenario(a, f"baseline `{Path(a.baseline).name}` ({version}, defaults)",
                                           bulkops_cancel([], binary=a.baseline)))
        if a.sdk:
            cancels.append(cancel_scenario(a, "SDK bulk_cancel_by_filters_with_pagination", sdk_cancel))
        cancels.append(cancel_scenario(a, "Hatchet filter-mode cancel", filter_cancel))

    def bulkops_replay(extra: list[str], env: dict[str, str] | None = None, binary: str | None = None):
        def run(tag, since):
            secs, code, summary = bulkops(binary or a.bin, work, [
                "runs", "replay", "--since", hh.iso(since), "--status", "FAILED",
                "--metadata", f"itest={tag}", "--yes", *extra], env)
            counts = summary.get("counts", {})
            return secs, f"exit {code}, {counts.get('done', '?')} done, {counts.get('failed', '?')} failed"
        return run

    def sdk_replay(tag, since):
        t0 = time.monotonic()
        hh.hatchet.runs.bulk_replay_by_filters_with_pagination(
            since=since, until=hh.utcnow(), statuses=[hh.V1TaskStatus.FAILED],
            additional_metadata={hh.META_KEY: tag})
        return time.monotonic() - t0, "defaults: chunks of 500, sleep 3 s"

    if a.only in (None, "replay"):
        replays.append(replay_scenario(a, "bulkops (defaults: closed loop)", bulkops_replay([])))
        if a.baseline:
            version = subprocess.run([a.baseline, "--version"], capture_output=True, text=True).stdout.strip()
            replays.append(replay_scenario(a, f"baseline `{Path(a.baseline).name}` ({version}, defaults)",
                                           bulkops_replay([], binary=a.baseline)))
        replays.append(replay_scenario(a, "bulkops fixed pacing (`--chunk-size 50`, replay_interval 2 s)",
                                       bulkops_replay(["--chunk-size", "50"], {"BULKOPS_REPLAY_INTERVAL": "2s"})))
        if a.sdk:
            replays.append(replay_scenario(a, "SDK bulk_replay_by_filters_with_pagination", sdk_replay))

    out = Path(a.out)
    text = out.read_text() if out.exists() else "# Benchmarks\n"
    version = subprocess.run([a.bin, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    lines = [BEGIN, "## Against a real Hatchet", "",
             f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, shared with other "
             f"work: noisy, compare rows within this run), by `bash scripts/bench-real.sh` against the local "
             f"Hatchet of `scripts/hatchet-up.sh` ({os.environ.get('BULKOPS_HATCHET_VERSION', 'v0.104.7')}, "
             f"Postgres message queue, server, database and worker on the same machine); {version} at {commit}. "
             "Fresh runs for each contender. The probe lists 50 runs every 200 ms; idle = the "
             f"{a.idle_s:.0f} s before the job.", ""]
    if cancels:
        lines += [f"Cancel {a.cancel_runs:,} QUEUED runs, time until all are listed CANCELLED:", "",
                  "| contender | cancelled | wall time (s) | runs/s | probe p50 idle → during (ms) | probe p99 idle → during (ms) | notes |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for c in cancels:
            lines.append(f"| {c['contender']} | {c['cancelled']:,} | {c['secs']:.1f} | {c['cancelled'] / c['secs']:,.0f} "
                         f"| {c['idle_p50']:.1f} → {c['during_p50']:.1f} | {c['idle_p99']:.1f} → {c['during_p99']:.1f} | {c['detail']} |")
        lines.append("")
    else:
        lines += earlier_cancel_table(text)
    if replays:
        lines += [f"Replay {a.replay_runs:,} FAILED + {a.replay_dags} FAILED three-task DAG runs (runs/s over the "
                  "contender's own wall time; exactness read back from the server once the replays settled; the "
                  "server's own pace: the same runs, just before, from their trigger until all showed FAILED, the most "
                  "a replay that runs each of them again could reach; the machine's CPU busy, both cores, while the runs "
                  "first ran and while the contender replayed them, and the contender's own CPU time, a part of that):", "",
                  "| contender | runs | wall time (s) | runs/s | server's own pace (runs/s) | CPU busy: own pace → replay (%) "
                  "| contender's CPU (s) | replayed once | never | more than once | notes |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in replays:
            lines.append(f"| {r['contender']} | {r['runs']:,} | {r['secs']:.1f} | {r['runs_per_s']:.1f} "
                         f"| {r['fresh_per_s']:.1f} | {r['fresh_busy']:.0f} → {r['busy']:.0f} "
                         f"| {r['client_cpu']:.2f} | {r['once']:,} "
                         f"| {r['never']:,} | {r['twice']:,} | {r['detail']} |")
        lines.append("")
    lines.append(END)
    section = "\n".join(lines) + "\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
