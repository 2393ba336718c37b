"""Benchmarks bulkops against the simulator, side by side with the official SDK helper, in one run.

Measures, against hatchet-sim with no cancel delay:
  - bulkops runs cancel over N runs, with and without verification, at several N: wall time,
    throughput, CPU time and peak RSS (GNU time); memory must not grow with the job's size;
  - the Python SDK's bulk_cancel_by_filters_with_pagination(sleep_time=0) over the same scenario;
  - a resume: a cancel of N runs killed (SIGKILL) once half its chunks were sent, started again;
    the time from the start of the second process to its first cancel request at the simulator.
Writes a Markdown report to docs/benchmarks.md (or --out), with the targets of issue 9 and whether
each was met. Not a test: numbers on a shared, noisy machine are for comparison within one run.
"""

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

UTC = dt.timezone.utc
CHUNK = 500
ANALYSIS = "## What it shows"


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def get(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


class Sim:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--port", "0", "--cancel-delay-ms", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.url, self.token = hello["url"], hello["token"]

    def seed(self, n, workflow):
        now = dt.datetime.now(UTC)
        self.seeded_from = now - dt.timedelta(days=3)
        return post(self.url + "/_sim/seed", {
            "runs": n, "status": "QUEUED", "workflow": workflow,
            "created_from": self.seeded_from.isoformat(),
            "created_to": (now - dt.timedelta(minutes=5)).isoformat(),
        })

    def cancelled(self, workflow):
        return get(self.url + "/_sim/stats")["runs_by_workflow"][workflow]["CANCELLED"]

    def mutating_requests(self):
        """Requests that changed something so far; cheap enough to poll (it walks no runs)."""
        return get(self.url + "/_sim/requests")["mutating_requests"]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def time_cmd(cmd):
    """cmd under GNU time, reporting peak RSS (KiB) and user + system CPU seconds into a file."""
    out = tempfile.NamedTemporaryFile("r", delete=False)
    return ["/usr/bin/time", "-f", "%M %U %S", "-o", out.name] + cmd, out.name


def read_time(path):
    rss_kib, user, system = open(path).read().strip().splitlines()[-1].split()
    os.unlink(path)
    return int(rss_kib) / 1024, float(user) + float(system)


def timed(cmd, env, cwd):
    """Runs cmd; returns (seconds, peak RSS MiB, CPU seconds, exit code)."""
    wrapped, out = time_cmd(cmd)
    started = time.monotonic()
    code = subprocess.call(wrapped, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    rss, cpu = read_time(out)
    return elapsed, rss, cpu, code


SDK_HELPER = """
import datetime as dt, sys
from hatchet_sdk import Hatchet
from hatchet_sdk.clients.rest.models.v1_task_status import V1TaskStatus
h = Hatchet()
until = dt.datetime.now(dt.timezone.utc)
h.runs.bulk_cancel_by_filters_with_pagination(
    sleep_time=int(sys.argv[2]), since=until - dt.timedelta(days=4), until=until,
    statuses=[V1TaskStatus.QUEUED], workflow_ids=[sys.argv[1]])
"""


SDK_VERSION = "import importlib.metadata as m; print(m.version('hatchet-sdk'))"


def version_of(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def locked_version(package):
    """The version of `package` in Cargo.lock."""
    lines = open("Cargo.lock").read().split("\n")
    for at, line in enumerate(lines):
        if line == f'name = "{package}"':
            return lines[at + 1].split('"')[1]
    return "unknown"


def sqlite_version():
    """The SQLite that libsqlite3-sys bundles, from its header in cargo's registry."""
    version = locked_version("libsqlite3-sys")
    registry = os.path.join(os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")), "registry", "src")
    for index in os.listdir(registry) if os.path.isdir(registry) else []:
        header = os.path.join(registry, index, f"libsqlite3-sys-{version}", "sqlite3", "sqlite3.h")
        if os.path.exists(header):
            for line in open(header):
                if line.startswith("#define SQLITE_VERSION "):
                    return line.split('"')[1]
    return "unknown"


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--sdk-size", type=int, default=0, help="runs for the SDK helper (default: the largest size)")
    ap.add_argument("--resume-size", type=int, default=0, help="runs for the resume measurement (default: the largest size)")
    ap.add_argument("--rate", default="100000")
    ap.add_argument("--concurrency", default="32")
    ap.add_argument("--out", default="docs/benchmarks.md")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    largest = max(sizes)
    sdk_size = args.sdk_size or largest
    resume_size = args.resume_size or largest
    bulkops = os.path.join(args.bin_dir, "bulkops")
    sim_bin = os.path.join(args.bin_dir, "hatchet-sim")
    work = tempfile.mkdtemp()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HATCHET_CLIENT_", "BULKOPS_"))}
    load_before = os.getloadavg()
    rows = []  # (tool, runs matching, runs cancelled, seconds, runs/s, cpu s, rss MiB, exit)
    results = {}
    cpus = {}  # the same keys as results: user + system CPU seconds

    def cancel_cmd(sim, state, verify, since="4d"):
        cmd = [bulkops, "--state", state, "--log-format", "json", "runs", "cancel", "--since", since,
               "--status", "QUEUED", "--workflow", "bench", "--yes", "--rate", args.rate,
               "--concurrency", args.concurrency]
        return cmd if verify else cmd + ["--no-verify"]

    def run_bulkops(n, verify, tight=False):
        """`tight`: the window starts at the first run instead of a day before it."""
        sim = Sim(sim_bin)
        try:
            sim.seed(n, "bench")
            env = dict(base_env, HATCHET_CLIENT_TOKEN=sim.token)
            label = "bulkops" if verify else "bulkops --no-verify"
            since = "4d"
            if tight:
                label += ", window from the first run"
                since = (sim.seeded_from - dt.timedelta(seconds=1)).isoformat()
            state = os.path.join(work, f"{'verify' if verify else 'no-verify'}-{n}-{tight}.db")
            secs, rss, cpu, code = timed(cancel_cmd(sim, state, verify, since), env, work)
            done = sim.cancelled("bench")
            rows.append((label, n, done, secs, done / secs if secs else 0, cpu, rss, code))
            results[(label, n)] = (secs, done, rss, code)
            cpus[(label, n)] = cpu
        finally:
            sim.stop()

    for n in sizes:
        for verify in (False, True):
            run_bulkops(n, verify)
    for n in sizes:
        run_bulkops(n, False, tight=True)

    sdk_label = "hatchet-sdk bulk_cancel_by_filters_with_pagination(sleep_time=0)"
    sim = Sim(sim_bin)
    try:
        wf = sim.seed(sdk_size, "bench")["workflow_id"]
        env = dict(base_env, HATCHET_CLIENT_TOKEN=sim.token, HATCHET_CLIENT_SERVER_URL=sim.url,
                   HATCHET_CLIENT_TLS_STRATEGY="none", HATCHET_CLIENT_HOST_PORT="127.0.0.1:1")
        secs, rss, cpu, code = timed([sys.executable, "-c", SDK_HELPER, wf, "0"], env, work)
        done = sim.cancelled("bench")
        rows.append((sdk_label, sdk_size, done, secs, done / secs if secs else 0, cpu, rss, code))
        results[("sdk", sdk_size)] = (secs, done, rss, code)
        cpus[("sdk", sdk_size)] = cpu
    finally:
        sim.stop()

    # Resume: kill -9 once half the chunks were sent, then time the second process's first request.
    sim = Sim(sim_bin)
    try:
        sim.seed(resume_size, "bench")
        env = dict(base_env, HATCHET_CLIENT_TOKEN=sim.token)
        state = os.path.join(work, f"resume-{resume_size}.db")
        cmd = cancel_cmd(sim, state, True)
        half = resume_size // CHUNK // 2
        first = subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while sim.mutating_requests() < half and first.poll() is None:
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait()
        time.sleep(0.5)  # requests the killed process had on the wire reach the simulator
        sent_before = sim.mutating_requests()
        wrapped, time_out = time_cmd(cmd)
        started = time.monotonic()
        second = subprocess.Popen(wrapped, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first_request = None
        while second.poll() is None:
            if sim.mutating_requests() > sent_before:
                first_request = time.monotonic() - started
                break
            time.sleep(0.005)
        code = second.wait()
        secs = time.monotonic() - started
        rss, cpu = read_time(time_out)
        done = sim.cancelled("bench")
        rows.append((f"bulkops, resumed after kill -9 at {sent_before * CHUNK:,} runs sent", resume_size, done, secs,
                     (done - sent_before * CHUNK) / secs if secs else 0, cpu, rss, code))
        results["resume"] = (first_request, done, code)
    finally:
        sim.stop()
    load_after = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)

    def throughput(key):
        secs, done, _, code = results[key]
        return done / secs if secs and code == 0 else 0

    sdk_rate = throughput(("sdk", sdk_size))
    nv_rate = throughput(("bulkops --no-verify", largest))
    v_secs = results[("bulkops", largest)][0]
    sdk_secs = results[("sdk", sdk_size)][0] * largest / sdk_size
    rss_small = max(results[("bulkops --no-verify", min(sizes))][2], results[("bulkops", min(sizes))][2])
    rss_large = max(results[("bulkops --no-verify", largest)][2], results[("bulkops", largest)][2])
    first_request = results["resume"][0]
    # On a machine shared with other work, wall time measures the load as much as the tool:
    # the same ratios by CPU time (user + system, the SDK's scaled to the largest size).
    sdk_cpu = cpus[("sdk", sdk_size)] * largest / sdk_size
    nv_cpu = cpus[("bulkops --no-verify", largest)]
    v_cpu = cpus[("bulkops", largest)]
    by_cpu = lambda ours: f"; by CPU time {ours:.1f} s vs {sdk_cpu:.1f} s ({sdk_cpu / ours if ours else 0:.2f}× its speed)"
    tight = "bulkops --no-verify, window from the first run"
    tight_small, tight_large = results[(tight, min(sizes))][2], results[(tight, largest)][2]
    yes = lambda ok: "met" if ok else "**not met**"
    targets = [
        (f"{largest:,} runs with `--no-verify`: at least the SDK helper's throughput",
         f"{nv_rate:,.0f} vs {sdk_rate:,.0f} runs/s ({nv_rate / sdk_rate if sdk_rate else 0:.2f}×)" + by_cpu(nv_cpu),
         yes(sdk_rate and nv_rate >= sdk_rate)),
        (f"{largest:,} runs verified: within 1.5× of the SDK helper's time",
         f"{v_secs:.1f} s vs {sdk_secs:.1f} s ({v_secs / sdk_secs if sdk_secs else 0:.2f}×)"
         f"; by CPU time {v_cpu:.1f} s vs {sdk_cpu:.1f} s ({v_cpu / sdk_cpu if sdk_cpu else 0:.2f}×)",
         yes(sdk_secs and v_secs <= 1.5 * sdk_secs)),
        ("peak RSS ≤ 32 MiB", f"{rss_large:.1f} MiB at {largest:,}", yes(rss_large <= 32)),
        (f"flat: {min(sizes):,} vs {largest:,} within 10%",
         f"{rss_small:.1f} vs {rss_large:.1f} MiB ({(rss_large / rss_small - 1) * 100 if rss_small else 0:+.0f}%)",
         yes(rss_small and rss_large <= 1.1 * rss_small)),
        (f"the same two, the window starting at the first run (no empty day to enumerate)",
         f"{tight_small:.1f} vs {tight_large:.1f} MiB ({(tight_large / tight_small - 1) * 100 if tight_small else 0:+.0f}%)",
         yes(tight_small and tight_large <= 32 and tight_large <= 1.1 * tight_small)),
        (f"resume of a {resume_size:,}-run job killed at 50%: first request ≤ 1 s after start",
         "no request seen" if first_request is None else f"{first_request:.2f} s",
         yes(first_request is not None and first_request <= 1.0)),
    ]

    sdk_version = version_of([sys.executable, "-c", SDK_VERSION])
    lines = [
        "# Benchmarks",
        "",
        f"Run {dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bash scripts/bench.sh` (all rows in this one run, one "
        f"after another) on {platform.node()}: {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}. "
        f"The machine is shared with other engineers compiling: load average {load_before[0]:.1f} at the start, "
        f"{load_after[0]:.1f} at the end, so compare rows of one run, not absolutes; CPU time (user + system) "
        "is less disturbed by the load than wall time.",
        "",
        f"Versions: {version_of([bulkops, '--version'])} (release build, SQLite {sqlite_version()} bundled by "
        f"libsqlite3-sys {locked_version('libsqlite3-sys')}), {version_of(['rustc', '--version'])}, hatchet-sim (release, "
        f"`--cancel-delay-ms 0`, loopback), Python {platform.python_version()}, hatchet-sdk "
        f"{sdk_version}.",
        "",
        "Scenario: N queued runs of one workflow created over three days. Commands:",
        "",
        f"- bulkops: `bulkops --state S runs cancel --since 4d --status QUEUED --workflow bench --yes "
        f"--rate {args.rate} --concurrency {args.concurrency} [--no-verify]` (chunks of {CHUNK}, a fresh state file);",
        "- SDK helper: `Hatchet().runs.bulk_cancel_by_filters_with_pagination(sleep_time=0, since=now - 4d, "
        "until=now, statuses=[QUEUED], workflow_ids=[bench])` (chunks of 500);",
        "- \"window from the first run\": the same with `--since` one second before the first run instead of "
        "`4d` (whose first day has no runs), to tell the store's memory from enumeration's;",
        "- resume: the verified bulkops command, killed with SIGKILL once half its chunks reached the simulator, "
        "then started again; \"first request\" is the time from that start to the first cancel request the "
        "simulator counts (`GET /_sim/requests`, polled every 5 ms).",
        "",
        "Wall time and peak RSS from GNU time, runs cancelled from the simulator.",
        "",
        "| tool | runs matching | runs cancelled | wall time (s) | runs/s | CPU (s) | peak RSS (MiB) | exit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, n, done, secs, rate, cpu, rss, code in rows:
        lines.append(f"| {label} | {n:,} | {done:,} | {secs:.1f} | {rate:,.0f} | {cpu:.1f} | {rss:.1f} | {code} |")
    lines += ["", "## Targets (issue 9)", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in targets]
    text = "\n".join(lines) + "\n"
    # The written analysis below the tables is kept: it is read against the numbers above it.
    if os.path.exists(args.out):
        old = open(args.out).read()
        if ANALYSIS in old:
            text += "\n" + old[old.index(ANALYSIS):]
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
