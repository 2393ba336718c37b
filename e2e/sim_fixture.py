"""hatchet-sim for the SDK conformance suite: start/stop the binary, its control API, and an
official `hatchet_sdk.Hatchet` client that talks to it and to nothing else.

The sim binary is $HATCHET_SIM_BIN when set; otherwise `cargo build -p hatchet-sim` is run and
$CARGO_TARGET_DIR/debug/hatchet-sim (default target/) is used. It is started on 127.0.0.1, port 0,
and prints one JSON line `{"url","token","tenant"}` (crates/hatchet-sim/README.md).

The client is built in a sanitized environment: every HATCHET_CLIENT_* variable (the real-Hatchet
e2e helpers load theirs into os.environ) is removed, the sim's token / server URL / TLS strategy
are set, and the working directory is an empty temp dir, because the SDK's pydantic settings read
`.env`, `.env.hatchet`, `.env.dev` and `.env.local` from the CWD. The environment and the CWD are
restored as soon as the client exists; the client keeps its config object and never re-reads env.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0


def sim_binary(name: str = "hatchet-sim", env: str = "HATCHET_SIM_BIN") -> Path:
    """$<env> (e.g. $HATCHET_SIM_BIN), or a fresh `cargo build -p <name>` in the repo's target dir."""
    configured = os.environ.get(env)
    if configured:
        path = Path(configured)
        if not path.is_file():
            pytest.fail(f"{env}={configured} does not exist (build it first)")
        return path
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target.is_absolute():
        target = REPO_ROOT / target
    build = subprocess.run(
        ["cargo", "build", "--quiet", "-p", name],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.fail(f"cargo build -p {name} failed:\n{build.stderr[-4000:]}")
    path = target / "debug" / name
    if not path.is_file():
        pytest.fail(f"cargo build -p {name} did not produce {path}")
    return path


def iso(t: datetime) -> str:
    """UTC RFC 3339 with microseconds and a `Z`."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str) -> datetime:
    """The sim's timestamps (RFC 3339, `Z`, up to nanoseconds) as aware datetimes (microseconds)."""
    value = value.replace("Z", "+00:00")
    if "." in value:
        head, rest = value.split(".", 1)
        frac, tz = rest[:-6], rest[-6:]
        value = f"{head}.{frac[:6].ljust(6, '0')}{tz}"
    return datetime.fromisoformat(value)


@dataclass
class Sim:
    """A running hatchet-sim process and its control API."""

    process: subprocess.Popen[bytes]
    url: str
    token: str
    tenant: str
    cancel_delay_s: float
    replay_delay_s: float
    stderr_path: Path
    _stderr_file: Any = field(repr=False, default=None)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def seed(self, **body: Any) -> dict[str, Any]:
        """POST /_sim/seed; datetimes are sent as UTC RFC 3339."""
        body = {k: iso(v) if isinstance(v, datetime) else v for k, v in body.items()}
        return self._call("POST", "/_sim/seed", body)

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/stats")

    def dump(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/dump")

    def runs_of(self, workflow: str) -> list[dict[str, Any]]:
        """The dump's runs of one workflow (compact rows: id, status, cancels, replays, ...)."""
        return [r for r in self.dump()["runs"] if r["workflow"] == workflow]

    def request_count(self, key: str) -> int:
        """How many requests hit `METHOD /route/{template}` so far."""
        return int(self.stats()["requests"].get(key, 0))

    def stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_text()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self._stderr_file is not None:
            self._stderr_file.close()


def start_line(
    process: subprocess.Popen, stderr_file: Any, stderr_path: Path, name: str
) -> dict[str, Any]:
    """The JSON line a simulator prints once it serves; fails the test (and stops the process)
    when none comes within START_TIMEOUT_S."""
    line: list[bytes] = []
    assert process.stdout is not None
    reader = threading.Thread(
        target=lambda: line.append(process.stdout.readline()), daemon=True
    )
    reader.start()
    reader.join(START_TIMEOUT_S)
    if not line or not line[0].strip():
        process.kill()
        process.wait(timeout=10)
        stderr_file.close()
        pytest.fail(
            f"{name} printed no start line within {START_TIMEOUT_S}s; "
            f"stderr:\n{stderr_path.read_text()[-4000:]}"
        )
    return json.loads(line[0])


def start_sim(
    workdir: Path, cancel_delay_ms: int = 400, replay_delay_ms: int = 400
) -> Sim:
    """Starts hatchet-sim on 127.0.0.1 (port 0) and reads its `{url, token, tenant}` line."""
    binary = sim_binary()
    stderr_path = workdir / "hatchet-sim.stderr"
    stderr_file = stderr_path.open("wb")
    process = subprocess.Popen(
        [
            str(binary),
            "--port",
            "0",
            "--cancel-delay-ms",
            str(cancel_delay_ms),
            "--replay-delay-ms",
            str(replay_delay_ms),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        cwd=workdir,
    )
    info = start_line(process, stderr_file, stderr_path, "hatchet-sim")
    assert info["url"].startswith("http://127.0.0.1:"), info
    return Sim(
        process=process,
        url=info["url"],
        token=info["token"],
        tenant=info["tenant"],
        cancel_delay_s=cancel_delay_ms / 1000,
        replay_delay_s=replay_delay_ms / 1000,
        stderr_path=stderr_path,
        _stderr_file=stderr_file,
    )


def _sim_env(sim: Sim) -> dict[str, str]:
    return {
        "HATCHET_CLIENT_TOKEN": sim.token,
        "HATCHET_CLIENT_TLS_STRATEGY": "none",
        "HATCHET_CLIENT_SERVER_URL": sim.url,
    }


def build_client(sim: Sim, workdir: Path) -> Any:
    """An official `Hatchet` client bound to the sim, built with a sanitized env and CWD.

    Explicit init values win over env and dotenv in pydantic-settings, and `_env_file=None` turns
    the dotenv files off; the env is sanitized as well for the nested settings (TLS, healthcheck,
    OTel) that build themselves from defaults. REST GET retries are turned off
    (`max_attempts=1`) so every sim answer is seen as-is and request counts stay exact.
    """
    from hatchet_sdk import ClientConfig, ClientTLSConfig, Hatchet
    from hatchet_sdk.config import TenacityConfig

    empty_dir = workdir / "client-cwd"
    empty_dir.mkdir(exist_ok=True)
    before = dict(os.environ)
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("HATCHET_CLIENT_"):
                mp.delenv(key)
        for key, value in _sim_env(sim).items():
            mp.setenv(key, value)
        mp.chdir(empty_dir)
        config = ClientConfig(
            _env_file=None,
            token=sim.token,
            server_url=sim.url,
            tenant_id=sim.tenant,
            host_port=f"127.0.0.1:{sim.port}",
            namespace="",
            tls_config=ClientTLSConfig(_env_file=None, strategy="none"),
            tenacity=TenacityConfig(_env_file=None, max_attempts=1),
        )
        hatchet = Hatchet(config=config)
    assert dict(os.environ) == before, "building the sim client leaked env changes"
    assert hatchet.config.server_url == sim.url
    assert hatchet.config.tenant_id == sim.tenant
    assert hatchet.config.token == sim.token
    assert hatchet.config.namespace == ""
    assert hatchet.config.tls_config.strategy == "none"
    return hatchet


@contextmanager
def running_sim(**delays: int) -> Iterator[Sim]:
    """A hatchet-sim process for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="hatchet-sim-") as tmp:
        running = start_sim(Path(tmp), **delays)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    """One hatchet-sim per test module."""
    with running_sim() as running:
        yield running


@pytest.fixture(scope="module")
def hatchet(sim: Sim) -> Iterator[Any]:
    """The official SDK client, pointed at the module's sim."""
    with tempfile.TemporaryDirectory(prefix="hatchet-sim-client-") as tmp:
        yield build_client(sim, Path(tmp))


@pytest.fixture
def own_sim() -> Iterator[tuple[Sim, Any]]:
    """A separate sim and client for one heavy test (tens of thousands of rows), so the module's
    shared sim stays small and its dumps fast."""
    with running_sim() as running, tempfile.TemporaryDirectory(prefix="hatchet-sim-client-") as tmp:
        yield running, build_client(running, Path(tmp))
