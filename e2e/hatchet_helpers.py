"""Helpers for the bulkops end-to-end tests against the local Hatchet (scripts/hatchet-up.sh).

Importing this module loads the env file written by hatchet-up.sh into os.environ (unless
HATCHET_CLIENT_TOKEN is already set), so import it BEFORE anything that builds a Hatchet client
(itest_worker builds one at import time). Env file: $HATCHET_ENV_FILE, else
$BULKOPS_CACHE/hatchet-run/env, else ~/.cache/bulkops/hatchet-run/env.

Main entry points:
    tag = new_tag("cancel")                                  # unique metadata value for one test
    ids = trigger("fail", 500, tag)                          # itest-task runs, fast (bulk gRPC, no waiting)
    ids = trigger_unserved(2000, tag)                        # QUEUED forever (no worker serves it)
    ids = trigger_dag("fail", 3, tag)                        # itest-dag runs (dag-c fails)
    wait_for_count(tag, "FAILED", 500, timeout=120)          # polls external-ids until OLAP shows them
    sched = create_scheduled_many(50, tag)                   # API scheduled runs (concurrent aio_create)
    crons = create_crons_many(10, tag)                       # API crons
    rest = Rest(); rest.get("/api/v1/stable/tenants/{tenant}/workflow-runs", since=..., only_tasks="false")

Metadata: every helper tags runs/schedules/crons with {"itest": tag}. Filter with
additional_metadata=["itest:<tag>"] (REST) or {"itest": tag} (SDK).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

META_KEY = "itest"
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


# --------------------------------------------------------------------------------------------------
# Env file
# --------------------------------------------------------------------------------------------------
def env_file_path() -> Path:
    if os.getenv("HATCHET_ENV_FILE"):
        return Path(os.environ["HATCHET_ENV_FILE"])
    cache = os.getenv("BULKOPS_CACHE") or str(Path.home() / ".cache" / "bulkops")
    return Path(cache) / "hatchet-run" / "env"


def load_env(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Parse the KEY=value env file written by hatchet-up.sh."""
    p = Path(path) if path else env_file_path()
    out: dict[str, str] = {}
    for line in p.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out[k] = v
    return out


def apply_env(path: str | os.PathLike[str] | None = None, override: bool = False) -> dict[str, str]:
    env = load_env(path)
    for k, v in env.items():
        if override or k not in os.environ:
            os.environ[k] = v
    return env


if not os.getenv("HATCHET_CLIENT_TOKEN"):
    if not env_file_path().exists():
        # Loud, with the fix: the e2e suite never skips because the server is missing.
        raise RuntimeError(f"{env_file_path()} does not exist and HATCHET_CLIENT_TOKEN is not set: "
                           "start the real Hatchet with `bash scripts/hatchet-up.sh` first")
    apply_env()

# Imported after the env is in place: Hatchet() reads it at construction.
from hatchet_sdk import BulkCancelReplayOpts  # noqa: E402
from hatchet_sdk.clients.rest.models.v1_task_status import V1TaskStatus  # noqa: E402

from itest_worker import (  # noqa: E402,F401
    CODE_CRON,
    DagInput,
    ItestInput,
    hatchet,
    itest_dag,
    itest_task,
    itest_unserved,
)

TENANT = hatchet._client.config.tenant_id
SERVER_URL = os.environ.get("HATCHET_CLIENT_SERVER_URL", "http://127.0.0.1:8080").rstrip("/")


def new_tag(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    """RFC 3339 with Z and microseconds (what the list endpoints expect)."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------------------------------
# Raw REST (status codes and bodies exactly as the server sends them)
# --------------------------------------------------------------------------------------------------
class RestResponse:
    def __init__(self, status: int, body: bytes, elapsed: float):
        self.status = status
        self.raw = body
        self.elapsed = elapsed

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    def __repr__(self) -> str:
        return f"<{self.status} {self.raw[:200]!r}>"


class Rest:
    """Minimal bearer-token REST client. `{tenant}` in a path is replaced by the tenant id.

    Query values that are lists are sent exploded (k=a&k=b), booleans as true/false.
    """

    def __init__(self, base: str | None = None, token: str | None = None, timeout: float = 120.0):
        self.base = (base or SERVER_URL).rstrip("/")
        self.token = token or os.environ["HATCHET_CLIENT_TOKEN"]
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None, **query: Any) -> RestResponse:
        path = path.replace("{tenant}", TENANT)
        q: list[tuple[str, str]] = []
        for k, v in query.items():
            if v is None:
                continue
            for item in v if isinstance(v, (list, tuple)) else [v]:
                if isinstance(item, bool):
                    item = "true" if item else "false"
                elif isinstance(item, datetime):
                    item = iso(item)
                q.append((k, str(item)))
        url = self.base + path + ("?" + urllib.parse.urlencode(q) if q else "")
        data = None if body is None else json.dumps(body, default=_json_default).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        t = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return RestResponse(r.status, r.read(), time.monotonic() - t)
        except urllib.error.HTTPError as e:
            return RestResponse(e.code, e.read(), time.monotonic() - t)

    def get(self, path: str, **query: Any) -> RestResponse:
        return self.request("GET", path, **query)

    def post(self, path: str, body: Any = None, **query: Any) -> RestResponse:
        return self.request("POST", path, body if body is not None else {}, **query)

    def patch(self, path: str, body: Any, **query: Any) -> RestResponse:
        return self.request("PATCH", path, body, **query)

    def delete(self, path: str, **query: Any) -> RestResponse:
        return self.request("DELETE", path, **query)


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return iso(o)
    raise TypeError(type(o))


_rest: Rest | None = None


def rest() -> Rest:
    global _rest
    if _rest is None:
        _rest = Rest()
    return _rest


def _ok(r: RestResponse) -> Any:
    if r.status >= 300:
        raise RuntimeError(f"HTTP {r.status}: {r.raw[:500]!r}")
    return r.json


# --------------------------------------------------------------------------------------------------
# Triggering
# --------------------------------------------------------------------------------------------------
def trigger_many(wf: Any, inputs: Sequence[Any], tag: str, extra_meta: dict[str, str] | None = None,
                 batch: int = 1000) -> list[str]:
    """Trigger runs of `wf` with bulk gRPC calls (no result listeners); returns the run ids.

    Batches of <= 1000 (the SDK's own chunk size). Measured on 2 cores: 1,500-2,400 runs/s for runs that
    stay queued, 340-1,000 runs/s while the worker executes them (docs/hatchet-behaviour.md).
    """
    meta = {META_KEY: tag, **(extra_meta or {})}
    ids: list[str] = []
    for k in range(0, len(inputs), batch):
        items = [wf.create_bulk_run_item(input=i, additional_metadata=meta) for i in inputs[k:k + batch]]
        ids += [r.workflow_run_id for r in wf.run_many(items, wait_for_result=False)]
    return ids


def trigger(mode: str, n: int, tag: str, sleep_s: float = 3600.0, flag: str = "",
            extra_meta: dict[str, str] | None = None) -> list[str]:
    """n runs of itest-task. mode: ok -> COMPLETED, fail -> FAILED (unless flag file set), sleep -> RUNNING."""
    return trigger_many(itest_task, [ItestInput(mode=mode, n=i, sleep_s=sleep_s, flag=flag) for i in range(n)],
                        tag, extra_meta)


def trigger_unserved(n: int, tag: str, extra_meta: dict[str, str] | None = None) -> list[str]:
    """n runs of itest-unserved: stay QUEUED (schedule_timeout 24h, no worker)."""
    from hatchet_sdk import EmptyModel
    return trigger_many(itest_unserved, [EmptyModel()] * n, tag, extra_meta)


def trigger_dag(mode: str, n: int, tag: str, sleep_s: float = 3600.0, flag: str = "",
                extra_meta: dict[str, str] | None = None) -> list[str]:
    """n runs of itest-dag (3 tasks). mode=fail: dag-c fails -> run FAILED."""
    return trigger_many(itest_dag, [DagInput(mode=mode, n=i, sleep_s=sleep_s, flag=flag) for i in range(n)],
                        tag, extra_meta)


# --------------------------------------------------------------------------------------------------
# Flags (turn mode=fail into success for a later replay)
# --------------------------------------------------------------------------------------------------
def flag_dir() -> Path:
    return Path(os.environ["ITEST_FLAG_DIR"])


def set_flag(name: str) -> None:
    (flag_dir() / name).touch()


def clear_flag(name: str) -> None:
    (flag_dir() / name).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------
# Listing and waiting (REST reads OLAP tables, which lag: always poll)
# --------------------------------------------------------------------------------------------------
def external_ids(tag: str | None = None, statuses: Iterable[str] | None = None,
                 since: datetime | None = None, until: datetime | None = None,
                 workflow_ids: Iterable[str] | None = None) -> list[str]:
    """GET .../workflow-runs/external-ids (run ids; unpaginated; since is strict '>')."""
    since = since or utcnow() - timedelta(days=1)
    r = rest().get("/api/v1/stable/tenants/{tenant}/workflow-runs/external-ids",
                   since=since, until=until, statuses=list(statuses or []) or None,
                   additional_metadata=[f"{META_KEY}:{tag}"] if tag else None,
                   workflow_ids=list(workflow_ids or []) or None)
    return _ok(r) or []  # the server answers `null`, not [], when nothing matches


def count_runs(tag: str, status: str | None = None, since: datetime | None = None) -> int:
    return len(external_ids(tag, [status] if status else None, since=since))


def list_runs(tag: str | None = None, statuses: Iterable[str] | None = None, since: datetime | None = None,
              until: datetime | None = None, only_tasks: bool = False, page: int = 1000,
              max_rows: int = 100_000, **extra: Any) -> list[dict]:
    """All rows of GET .../workflow-runs (offset pagination, stops at the first short page)."""
    since = since or utcnow() - timedelta(days=1)
    until = until or utcnow()  # pin the window: new runs would shift pages
    rows: list[dict] = []
    offset = 0
    while len(rows) < max_rows:
        r = _ok(rest().get("/api/v1/stable/tenants/{tenant}/workflow-runs", since=since, until=until,
                           only_tasks=only_tasks, include_payloads=False, offset=offset, limit=page,
                           statuses=list(statuses or []) or None,
                           additional_metadata=[f"{META_KEY}:{tag}"] if tag else None, **extra))
        batch = r.get("rows") or []
        rows += batch
        if len(batch) < page:
            break
        offset += page
    return rows


def wait_for_count(tag: str, status: str, n: int, timeout: float = 120.0, interval: float = 1.0,
                   at_least: bool = False, since: datetime | None = None) -> float:
    """Poll until exactly (or at least) n runs tagged `tag` show `status`. Returns seconds waited."""
    t0 = time.monotonic()
    last = -1
    while True:
        last = count_runs(tag, status, since=since)
        if last == n or (at_least and last >= n):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{tag}: {last} runs in {status} after {timeout}s, wanted {n}")
        time.sleep(interval)


def wait_for_statuses(ids: Sequence[str], status: str, timeout: float = 120.0, interval: float = 1.0,
                      tag: str | None = None) -> float:
    """Poll until every id in `ids` is listed with `status` (via external-ids filtered by status)."""
    want = set(ids)
    t0 = time.monotonic()
    while True:
        have = set(external_ids(tag, [status])) & want
        if have == want:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{len(want - have)} of {len(want)} runs not {status} after {timeout}s")
        time.sleep(interval)


def status_counts(tag: str) -> dict[str, int]:
    return {s: count_runs(tag, s) for s in ("QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED")}


def run_status(run_id: str) -> str:
    return _ok(rest().get(f"/api/v1/stable/workflow-runs/{run_id}/status"))


# --------------------------------------------------------------------------------------------------
# Cancel / replay (reference implementations through the SDK, ID mode)
# --------------------------------------------------------------------------------------------------
def cancel_ids(ids: Sequence[str], chunk: int = 500) -> None:
    for k in range(0, len(ids), chunk):
        hatchet.runs.bulk_cancel(BulkCancelReplayOpts(ids=list(ids[k:k + chunk])))


def replay_ids(ids: Sequence[str], chunk: int = 50, pause: float = 2.0) -> None:
    """Replay in small, paced chunks. On this server (Postgres message queue) concurrent replay batches
    lose the per-tenant replay lock and are dropped silently: 1000 ids in one request replayed only
    ~200. 50 ids every 2 s (or 20 every 1 s) replayed all. Never replay QUEUED runs (it wedges them)."""
    for k in range(0, len(ids), chunk):
        if k:
            time.sleep(pause)
        hatchet.runs.bulk_replay(BulkCancelReplayOpts(ids=list(ids[k:k + chunk])))


def wait_for_retry_count(tag: str, ids: Sequence[str], retry_count: int, status: str | None = None,
                         timeout: float = 120.0, interval: float = 1.0) -> float:
    """After a replay, wait until every run in `ids` shows retryCount >= retry_count (and `status`, if given).

    Waiting for a status alone is wrong after a replay: the row keeps its old status (e.g. FAILED) until
    the OLAP tables catch up, so a FAILED -> replay -> FAILED check would pass before the replay ran.
    """
    want = set(ids)
    t0 = time.monotonic()
    while True:
        rows = {r["metadata"]["id"]: r for r in list_runs(tag)}
        done = {i for i in want if i in rows and (rows[i].get("retryCount") or 0) >= retry_count
                and (status is None or rows[i]["status"] == status)}
        if done == want:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{len(want - done)} of {len(want)} runs not at retryCount>={retry_count}"
                               f"{' ' + status if status else ''} after {timeout}s")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------------
# Scheduled runs and crons (API-created: method=API)
# --------------------------------------------------------------------------------------------------
async def _gather_limited(coros: Iterable[Any], limit: int) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


def create_scheduled_many(n: int, tag: str, workflow: str = "itest-task",
                          trigger_at: datetime | None = None, spread: timedelta = timedelta(minutes=1),
                          input: dict | None = None, concurrency: int = 16) -> list[str]:
    """n scheduled runs via REST (SDK aio_create); trigger times start at trigger_at (default now+1 day)
    and step by `spread`. Returns the scheduled-run ids (metadata.id)."""
    base = trigger_at or utcnow() + timedelta(days=1)
    inp = input if input is not None else {"mode": "ok"}

    async def go() -> list[Any]:
        return await _gather_limited(
            (hatchet.scheduled.aio_create(workflow, base + spread * i, inp, {META_KEY: tag, "i": str(i)})
             for i in range(n)), concurrency)

    return [s.metadata.id for s in asyncio.run(go())]


def create_crons_many(n: int, tag: str, workflow: str = "itest-task", expression: str = "0 4 1 1 *",
                      input: dict | None = None, concurrency: int = 16) -> list[str]:
    """n crons via REST (SDK aio_create), named <tag>-<i>. Returns cron ids (metadata.id)."""
    inp = input if input is not None else {"mode": "ok"}

    async def go() -> list[Any]:
        return await _gather_limited(
            (hatchet.cron.aio_create(workflow, f"{tag}-{i}", expression, inp, {META_KEY: tag})
             for i in range(n)), concurrency)

    return [c.metadata.id for c in asyncio.run(go())]


def list_scheduled(tag: str | None = None, page: int = 500, **extra: Any) -> list[dict]:
    rows: list[dict] = []
    offset = 0
    while True:
        r = _ok(rest().get("/api/v1/tenants/{tenant}/workflows/scheduled", offset=offset, limit=page,
                           additionalMetadata=[f"{META_KEY}:{tag}"] if tag else None, **extra))
        batch = r.get("rows") or []
        rows += batch
        if len(batch) < page:
            return rows
        offset += page


def list_crons(tag: str | None = None, page: int = 500, **extra: Any) -> list[dict]:
    rows: list[dict] = []
    offset = 0
    while True:
        r = _ok(rest().get("/api/v1/tenants/{tenant}/workflows/crons", offset=offset, limit=page,
                           additionalMetadata=[f"{META_KEY}:{tag}"] if tag else None, **extra))
        batch = r.get("rows") or []
        rows += batch
        if len(batch) < page:
            return rows
        offset += page


def workflow_id(name: str) -> str:
    rows = _ok(rest().get("/api/v1/tenants/{tenant}/workflows", name=name, limit=50)).get("rows") or []
    for r in rows:
        if r["name"] == name:
            return r["metadata"]["id"]
    raise KeyError(name)


def insert_code_defined_scheduled(workflow: str, trigger_at: datetime, tag: str,
                                  input: dict | None = None) -> str:
    """Insert a scheduled run with method=DEFAULT (as a code definition would) straight into the DB.

    hatchet-sdk 1.37.5 + engine v0.104.7 cannot declare scheduled runs in code (the v1 PutWorkflow has
    no scheduled-trigger field), so this reproduces the row shape with the engine's own SQL
    (CreateWorkflowTriggerScheduledRefForWorkflow, method left NULL -> 'DEFAULT'). Needs psql.
    Returns the scheduled-run id.
    """
    sql = """
WITH latest_version AS (
    SELECT "id" FROM "WorkflowVersion"
    WHERE "workflowId" = (SELECT "id" FROM "Workflow" WHERE "tenantId" = :'tenant'::uuid AND "name" = :'wf'
                          AND "deletedAt" IS NULL)
      AND "deletedAt" IS NULL
    ORDER BY "order" DESC LIMIT 1
)
INSERT INTO "WorkflowTriggerScheduledRef" ("id", "parentId", "triggerAt", "input", "additionalMetadata", "method", "priority")
VALUES (gen_random_uuid(), (SELECT "id" FROM latest_version), :'at'::timestamp, :'input'::jsonb, :'meta'::jsonb,
        'DEFAULT', 1)
RETURNING "id";
"""
    at = trigger_at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    out = subprocess.run(
        ["psql", os.environ["HATCHET_DATABASE_URL"], "-X", "-qAt", "-v", "ON_ERROR_STOP=1",
         "-v", f"tenant={TENANT}", "-v", f"wf={workflow}", "-v", f"at={at}",
         "-v", f"input={json.dumps(input or {'mode': 'ok'})}", "-v", f"meta={json.dumps({META_KEY: tag})}"],
        input=sql, capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip().splitlines()[-1]
