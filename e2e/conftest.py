"""Shared fixtures of the end-to-end suite: the bulkops binary, a runner that executes it as a
subprocess against the real Hatchet started by scripts/hatchet-up.sh (or against a hatchet-sim),
and the parsing of its JSON summary, progress lines and per-item report.

Nothing here skips: a missing env file, a server that does not answer or a binary that cannot be
built fails the test that needs it, with the reason.

bulkops is run with `--state <tmp>/state.db -o json --log-format json` and the connection taken
from the env file (HATCHET_CLIENT_TOKEN, HATCHET_CLIENT_SERVER_URL, HATCHET_CLIENT_TENANT_ID,
HATCHET_CLIENT_TLS_STRATEGY). Every other HATCHET_* and BULKOPS_* variable of the pytest process
is removed from its environment, and its working directory is the test's tmp dir, so neither the
developer's shell nor the repository leaks into a run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Any single bulkops invocation that takes longer than this is a hang, not slowness.
BULKOPS_TIMEOUT_S = 900.0
CONNECTION_VARS = (
    "HATCHET_CLIENT_TOKEN",
    "HATCHET_CLIENT_SERVER_URL",
    "HATCHET_CLIENT_TENANT_ID",
    "HATCHET_CLIENT_TLS_STRATEGY",
)


# --------------------------------------------------------------------------------------------------
# The binary
# --------------------------------------------------------------------------------------------------
def _build_bulkops() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target.is_absolute():
        target = REPO_ROOT / target
    build = subprocess.run(
        ["cargo", "build", "--quiet", "--locked", "-p", "bulkops", "--bin", "bulkops"],
        cwd=REPO_ROOT, capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"cargo build of bulkops failed:\n{build.stderr[-4000:]}", pytrace=False)
    path = target / "debug" / "bulkops"
    if not path.is_file():
        pytest.fail(f"cargo build did not produce {path}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def bulkops_bin() -> Path:
    """$BULKOPS_BIN (scripts/test.sh sets it), else a fresh debug build in $CARGO_TARGET_DIR."""
    configured = os.environ.get("BULKOPS_BIN")
    if configured:
        path = Path(configured)
        if not path.is_file():
            pytest.fail(f"BULKOPS_BIN={configured} does not exist (build it first)", pytrace=False)
        return path
    return _build_bulkops()


# --------------------------------------------------------------------------------------------------
# The real server
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def hatchet_env() -> dict[str, str]:
    """The env file written by scripts/hatchet-up.sh, after checking that the API answers."""
    import hatchet_helpers as hh  # fails loudly (with the fix) when the env file is missing

    path = hh.env_file_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: start the real Hatchet with `bash scripts/hatchet-up.sh`",
                    pytrace=False)
    env = hh.load_env(path)
    missing = [k for k in CONNECTION_VARS + ("ITEST_FLAG_DIR", "HATCHET_DATABASE_URL") if not env.get(k)]
    if missing:
        pytest.fail(f"{path} lacks {missing}: re-run `bash scripts/hatchet-up.sh`", pytrace=False)
    url = env["HATCHET_CLIENT_SERVER_URL"].rstrip("/") + "/api/ready"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            if r.status != 200:
                raise OSError(f"HTTP {r.status}")
    except OSError as e:
        pytest.fail(f"the Hatchet API at {url} does not answer ({e}): run `bash scripts/hatchet-up.sh`",
                    pytrace=False)
    return env


# --------------------------------------------------------------------------------------------------
# Running bulkops
# --------------------------------------------------------------------------------------------------
@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    elapsed: float

    @property
    def summary(self) -> dict[str, Any]:
        """The JSON summary: the last stdout line (`-o json`)."""
        lines = [ln for ln in self.stdout.splitlines() if ln.strip()]
        assert lines, f"bulkops printed nothing on stdout\n{self.describe()}"
        try:
            return json.loads(lines[-1])
        except json.JSONDecodeError as e:
            raise AssertionError(f"last stdout line is not JSON ({e})\n{self.describe()}") from None

    @property
    def counts(self) -> dict[str, int]:
        return self.summary["counts"]

    @property
    def stderr_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.strip()]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The JSON log and progress lines on stderr (`--log-format json`)."""
        out = []
        for ln in self.stderr_lines:
            try:
                out.append(json.loads(ln))
            except json.JSONDecodeError:
                pass
        return out

    def describe(self) -> str:
        return (f"$ bulkops {' '.join(self.args)}\nexit {self.returncode} after {self.elapsed:.1f}s\n"
                f"--- stdout (tail)\n{self.stdout[-3000:]}\n--- stderr (tail)\n{self.stderr[-5000:]}")


@dataclass
class Bulkops:
    """bulkops as a subprocess, with one state store and one connection (real server or sim)."""

    binary: Path
    workdir: Path
    connection: dict[str, str]
    state: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state = self.workdir / "state.db"

    def env(self, overrides: dict[str, str | None] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("HATCHET_") and not k.startswith("BULKOPS_")}
        env.update(self.connection)
        env["RUST_BACKTRACE"] = "1"
        for k, v in (overrides or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def argv(self, args: list[str], output_json: bool = True) -> list[str]:
        base = [str(self.binary), "--state", str(self.state), "--log-format", "json"]
        if output_json:
            base += ["-o", "json"]
        return base + [str(a) for a in args]

    def run(self, *args: Any, env: dict[str, str | None] | None = None,
            timeout: float = BULKOPS_TIMEOUT_S, output_json: bool = True) -> Result:
        argv = self.argv(list(args), output_json)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, cwd=self.workdir, env=self.env(env), capture_output=True,
                               text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
            raise AssertionError(f"bulkops {' '.join(map(str, args))} did not finish within {timeout}s\n"
                                 f"--- stdout\n{out[-3000:]}\n--- stderr\n{err[-5000:]}") from None
        return Result([str(a) for a in args], p.returncode, p.stdout, p.stderr, time.monotonic() - t0)

    def ok(self, *args: Any, **kw: Any) -> Result:
        """Runs bulkops and asserts exit 0 with a finished summary."""
        r = self.run(*args, **kw)
        assert r.returncode == 0, f"bulkops failed\n{r.describe()}"
        return r

    def spawn(self, *args: Any, env: dict[str, str | None] | None = None) -> "Spawned":
        """Starts bulkops in the background (for kill -9 tests); stderr is read line by line."""
        argv = self.argv(list(args))
        err_path = self.workdir / f"spawn-{time.monotonic_ns()}.stderr"
        err_file = err_path.open("w")
        p = subprocess.Popen(argv, cwd=self.workdir, env=self.env(env), stdout=subprocess.PIPE,
                             stderr=err_file, text=True, stdin=subprocess.DEVNULL)
        return Spawned([str(a) for a in args], p, err_path, err_file)

    def report(self, job: str) -> list[dict[str, Any]]:
        """`bulkops report JOB --format json`: one object per item."""
        r = self.run("report", job, "--format", "json", output_json=False)
        assert r.returncode == 0, f"bulkops report failed\n{r.describe()}"
        return [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]

    def jobs(self) -> list[dict[str, Any]]:
        """`bulkops -o json jobs list`."""
        if not self.state.exists():
            return []
        r = self.run("jobs", "list")
        assert r.returncode == 0, f"bulkops jobs list failed\n{r.describe()}"
        return [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]


@dataclass
class Spawned:
    args: list[str]
    process: subprocess.Popen[str]
    stderr_path: Path
    _stderr_file: Any

    def progress(self) -> list[dict[str, Any]]:
        out = []
        for ln in self.stderr_path.read_text().splitlines():
            try:
                ev = json.loads(ln)
            except json.JSONDecodeError:
                continue
            if ev.get("event") == "progress":
                out.append(ev)
        return out

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._stderr_file.close()

    def wait(self, timeout: float = BULKOPS_TIMEOUT_S) -> Result:
        t0 = time.monotonic()
        out, _ = self.process.communicate(timeout=timeout)
        self._stderr_file.close()
        return Result(self.args, self.process.returncode, out, self.stderr_path.read_text(),
                      time.monotonic() - t0)

    def ensure_dead(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if not self._stderr_file.closed:
            self._stderr_file.close()


def real_connection(env: dict[str, str]) -> dict[str, str]:
    return {k: env[k] for k in CONNECTION_VARS}


@pytest.fixture
def bulkops(tmp_path: Path, bulkops_bin: Path, hatchet_env: dict[str, str]) -> Iterator[Bulkops]:
    """bulkops against the real Hatchet, with a fresh state store in the test's tmp dir."""
    yield Bulkops(bulkops_bin, tmp_path / "bulkops", real_connection(hatchet_env))


# --------------------------------------------------------------------------------------------------
# Assertions shared by the tests
# --------------------------------------------------------------------------------------------------
def outcome_counts(report: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in report:
        out[row["outcome"]] = out.get(row["outcome"], 0) + 1
    return out


def by_outcome(report: list[dict[str, Any]], outcome: str) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in report if row["outcome"] == outcome}


def assert_counts(result: Result, **expected: int) -> None:
    """Checks the summary counts named in `expected` (e.g. total=, done=, skipped=)."""
    counts = result.counts
    got = {k: counts.get(k) for k in expected}
    assert got == expected, f"summary counts {counts}, expected {expected}\n{result.describe()}"
