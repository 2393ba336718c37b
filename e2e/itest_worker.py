"""Python worker for the bulkops end-to-end suite (Hatchet v0.104.7, hatchet-sdk 1.37.5).

Started by scripts/hatchet-up.sh (`python e2e/itest_worker.py`), with the HATCHET_CLIENT_* variables of
the env file in its environment. Tests import this module only for the workflow objects and input
models (`from itest_worker import itest_task, ItestInput, ...`); the `__main__` guard keeps the worker
from starting on import (the SDK spawns processes, so the guard is required anyway).

Workflows (names are what the REST API shows; no namespace is used):

* ``itest-task`` (standalone task, retries=0, schedule_timeout 24h, execution_timeout 2h), input ItestInput:
    - mode="ok"    -> COMPLETED at once
    - mode="fail"  -> FAILED (NonRetryableException, one attempt) ... unless ``flag`` is set and the file
                      $ITEST_FLAG_DIR/<flag> exists, then it COMPLETES. A test fails runs with a unique flag,
                      creates the file (hatchet_helpers.set_flag), and a replay then succeeds.
    - mode="sleep" -> RUNNING for sleep_s seconds (asyncio.sleep, so a cancel interrupts it), then COMPLETED
* ``itest-dag`` (3-task DAG: dag-a -> dag-b -> dag-c, dag-c also depends on dag-a), input DagInput:
    - mode="ok"    -> all three COMPLETED
    - mode="fail"  -> dag-a and dag-b COMPLETED, dag-c FAILED (same flag rule as itest-task), run FAILED
    - mode="sleep" -> dag-a sleeps sleep_s (run RUNNING, dag-b/dag-c not yet created)
* ``itest-unserved`` registered (PutWorkflow) but served by no worker, schedule_timeout 24h: its runs stay QUEUED.
* ``itest-cron-code`` with a code-defined cron (``on_crons``; method DEFAULT in the cron list).
  Expression CODE_CRON = "0 3 1 1 *" (03:00 UTC on 1 January), so it never fires during a test.

Code-defined *scheduled* runs cannot be declared from hatchet-sdk 1.37.5 against engine v0.104.7 (the v1
PutWorkflow request has no scheduled-trigger field, and the v0 one is ignored by the engine). See
hatchet_helpers.insert_code_defined_scheduled for the DB fixture used instead.

Environment: HATCHET_CLIENT_* (token, TLS none, host/port, server URL), ITEST_FLAG_DIR (flag files),
ITEST_SLOTS (worker slots, default 100), ITEST_WORKER_NAME (default itest-worker).
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel

from hatchet_sdk import Context, EmptyModel, Hatchet, NonRetryableException

WORKER_NAME = os.getenv("ITEST_WORKER_NAME", "itest-worker")
CODE_CRON = "0 3 1 1 *"

hatchet = Hatchet()


class ItestInput(BaseModel):
    mode: str = "ok"  # ok | fail | sleep
    n: int = 0
    sleep_s: float = 3600.0
    flag: str = ""  # with mode=fail: succeed instead if $ITEST_FLAG_DIR/<flag> exists


class DagInput(BaseModel):
    mode: str = "ok"  # ok | fail (dag-c fails) | sleep (dag-a sleeps)
    n: int = 0
    sleep_s: float = 3600.0
    flag: str = ""


def flag_is_set(flag: str) -> bool:
    if not flag:
        return False
    flag_dir = os.getenv("ITEST_FLAG_DIR", "")
    if not flag_dir or "/" in flag or flag.startswith("."):
        return False
    return (Path(flag_dir) / flag).exists()


def maybe_fail(mode: str, flag: str, what: str) -> bool:
    """Raise a non-retryable error for mode=fail unless the flag file exists; True if recovered."""
    if mode != "fail":
        return False
    if flag_is_set(flag):
        return True
    raise NonRetryableException(f"intentional failure: {what}")


@hatchet.task(
    name="itest-task",
    input_validator=ItestInput,
    retries=0,
    schedule_timeout=timedelta(hours=24),  # default 5 min would cancel long-queued runs
    execution_timeout=timedelta(hours=2),  # default 60 s would fail long sleepers
)
async def itest_task(input: ItestInput, ctx: Context) -> dict:
    recovered = maybe_fail(input.mode, input.flag, f"itest-task n={input.n}")
    if input.mode == "sleep":
        await asyncio.sleep(input.sleep_s)
    return {"n": input.n, "mode": input.mode, "recovered": recovered}


itest_dag = hatchet.workflow(name="itest-dag", input_validator=DagInput)


@itest_dag.task(
    name="dag-a",
    retries=0,
    schedule_timeout=timedelta(hours=24),
    execution_timeout=timedelta(hours=2),
)
async def dag_a(input: DagInput, ctx: Context) -> dict:
    if input.mode == "sleep":
        await asyncio.sleep(input.sleep_s)
    return {"step": "a", "n": input.n}


@itest_dag.task(
    name="dag-b",
    parents=[dag_a],
    retries=0,
    schedule_timeout=timedelta(hours=24),
    execution_timeout=timedelta(hours=2),
)
async def dag_b(input: DagInput, ctx: Context) -> dict:
    return {"step": "b", "n": input.n}


@itest_dag.task(
    name="dag-c",
    parents=[dag_a, dag_b],
    retries=0,
    schedule_timeout=timedelta(hours=24),
    execution_timeout=timedelta(hours=2),
)
async def dag_c(input: DagInput, ctx: Context) -> dict:
    recovered = maybe_fail(input.mode, input.flag, f"itest-dag/dag-c n={input.n}")
    return {"step": "c", "n": input.n, "recovered": recovered}


@hatchet.task(name="itest-unserved", retries=0, schedule_timeout=timedelta(hours=24))
async def itest_unserved(input: EmptyModel, ctx: Context) -> dict:  # registered, never served
    return {}


itest_cron_code = hatchet.workflow(name="itest-cron-code", on_crons=[CODE_CRON])


@itest_cron_code.task(name="cron-code-task", retries=0)
async def cron_code_task(input: EmptyModel, ctx: Context) -> dict:
    return {"cron": True}


SERVED = [itest_task, itest_dag, itest_cron_code]
UNSERVED = [itest_unserved]


def register_unserved() -> None:
    """Register workflows that no worker serves (only gRPC PutWorkflow registers workflows)."""
    for wf in UNSERVED:
        hatchet._client.admin.put_workflow(wf.to_proto())


def main() -> None:
    register_unserved()
    worker = hatchet.worker(
        WORKER_NAME,
        slots=int(os.getenv("ITEST_SLOTS", "100")),
        workflows=SERVED,
    )
    worker.start()


if __name__ == "__main__":
    main()
