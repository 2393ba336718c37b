"""Conformance of hatchet-sim with the official Python SDK (hatchet-sdk 1.37.5).

Every call below goes through `hatchet_sdk.Hatchet` (its feature clients, or for the external-ids
snapshot, which 1.37.5 has no public wrapper for, the SDK's own generated `WorkflowRunsApi` on the
feature client's `ApiClient`), so the SDK's pydantic models must accept every sim response. The
results are then checked against the sim's own view (`/_sim/dump`, `/_sim/stats`) and against
docs/hatchet-contract.md. One sim per module (see sim_fixture.py); each test seeds its own
uniquely named workflow, so tests do not see each other's rows.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from hatchet_sdk import BulkCancelReplayOpts, RunFilter
from hatchet_sdk.clients.rest.api.task_api import TaskApi
from hatchet_sdk.clients.rest.api.workflow_runs_api import WorkflowRunsApi
from hatchet_sdk.clients.rest.exceptions import (
    BadRequestException,
    ForbiddenException,
    NotFoundException,
    ServiceException,
)
from hatchet_sdk.clients.rest.models.api_error import APIError
from hatchet_sdk.clients.rest.models.api_errors import APIErrors
from hatchet_sdk.clients.rest.models.cron_workflows import CronWorkflows
from hatchet_sdk.clients.rest.models.cron_workflows_list import CronWorkflowsList
from hatchet_sdk.clients.rest.models.cron_workflows_method import CronWorkflowsMethod
from hatchet_sdk.clients.rest.models.cron_workflows_order_by_field import (
    CronWorkflowsOrderByField,
)
from hatchet_sdk.clients.rest.models.scheduled_workflows import ScheduledWorkflows
from hatchet_sdk.clients.rest.models.scheduled_workflows_bulk_delete_response import (
    ScheduledWorkflowsBulkDeleteResponse,
)
from hatchet_sdk.clients.rest.models.scheduled_workflows_bulk_update_item import (
    ScheduledWorkflowsBulkUpdateItem,
)
from hatchet_sdk.clients.rest.models.scheduled_workflows_bulk_update_response import (
    ScheduledWorkflowsBulkUpdateResponse,
)
from hatchet_sdk.clients.rest.models.scheduled_workflows_list import (
    ScheduledWorkflowsList,
)
from hatchet_sdk.clients.rest.models.scheduled_workflows_method import (
    ScheduledWorkflowsMethod,
)
from hatchet_sdk.clients.rest.models.scheduled_workflows_order_by_field import (
    ScheduledWorkflowsOrderByField,
)
from hatchet_sdk.clients.rest.models.v1_cancel_task_request import V1CancelTaskRequest
from hatchet_sdk.clients.rest.models.v1_cancelled_tasks import V1CancelledTasks
from hatchet_sdk.clients.rest.models.v1_replay_task_request import V1ReplayTaskRequest
from hatchet_sdk.clients.rest.models.v1_replayed_tasks import V1ReplayedTasks
from hatchet_sdk.clients.rest.models.v1_task_status import V1TaskStatus
from hatchet_sdk.clients.rest.models.v1_task_summary import V1TaskSummary
from hatchet_sdk.clients.rest.models.v1_task_summary_list import V1TaskSummaryList
from hatchet_sdk.clients.rest.models.v1_workflow_run_details import V1WorkflowRunDetails
from hatchet_sdk.clients.rest.models.v1_workflow_type import V1WorkflowType
from hatchet_sdk.clients.rest.models.workflow_run_order_by_direction import (
    WorkflowRunOrderByDirection,
)
from hatchet_sdk.types.priority import Priority
from sim_fixture import Sim, hatchet, own_sim, parse_ts, sim  # noqa: F401  (pytest fixtures)

CANCEL_ROUTE = "POST /api/v1/stable/tenants/{tenant}/tasks/cancel"
EXTERNAL_IDS_ROUTE = "GET /api/v1/stable/tenants/{tenant}/workflow-runs/external-ids"
CANCEL_FILTER_CAP = 20_000
ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def unique(prefix: str) -> str:
    return f"conf-{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Polls `check` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(0.05)


def external_ids(hatchet: Any, **kwargs: Any) -> list[str]:
    """`GET .../workflow-runs/external-ids` through the SDK's generated client (1.37.5 only calls
    it inside `_perform_action_with_pagination`; there is no public `get_run_ids`)."""
    with hatchet.runs.client() as client:
        return WorkflowRunsApi(client).v1_workflow_run_external_ids_list(
            tenant=hatchet.tenant_id, **kwargs
        )


def workflow_counts(sim: Sim, workflow: str) -> dict[str, int]:
    """`/_sim/stats` status counts of one workflow, zeros left out."""
    counts = sim.stats()["runs_by_workflow"].get(workflow, {})
    return {k: v for k, v in counts.items() if v}


def truncate_ms(t: datetime) -> datetime:
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def statuses_of(hatchet: Any, ids: list[str]) -> dict[str, V1TaskStatus]:
    return {i: hatchet.runs.get_status(i) for i in ids}


# --------------------------------------------------------------------------------------------------
# runs: a read-only dataset shared by the listing tests
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs_data(sim: Sim) -> dict[str, Any]:
    """Workflow A: 30 COMPLETED (team a, created now-50m..now-40m), 20 FAILED (team b,
    now-30m..now-20m), 10 QUEUED 3-task DAGs (team c, now-10m..now-5m). Workflow B: 7 COMPLETED
    (team a, now-50m..now-40m). Nothing mutates these."""
    now = utcnow()
    a, b = unique("runs-a"), unique("runs-b")
    t_a_from = now - timedelta(minutes=50)
    wf_a = sim.seed(
        runs=30,
        workflow=a,
        status="COMPLETED",
        metadata={"team": "a"},
        created_from=t_a_from,
        created_to=now - timedelta(minutes=40),
    )["workflow_id"]
    sim.seed(
        runs=20,
        workflow=a,
        status="FAILED",
        metadata={"team": "b"},
        created_from=now - timedelta(minutes=30),
        created_to=now - timedelta(minutes=20),
    )
    sim.seed(
        runs=10,
        workflow=a,
        status="QUEUED",
        metadata={"team": "c"},
        created_from=now - timedelta(minutes=10),
        created_to=now - timedelta(minutes=5),
        dag_tasks=3,
    )
    wf_b = sim.seed(
        runs=7,
        workflow=b,
        status="COMPLETED",
        metadata={"team": "a"},
        created_from=now - timedelta(minutes=50),
        created_to=now - timedelta(minutes=40),
    )["workflow_id"]
    dump = sim.dump()["runs"]
    runs_a = {r["id"]: r for r in dump if r["workflow"] == a}
    runs_b = {r["id"]: r for r in dump if r["workflow"] == b}
    assert len(runs_a) == 60 and len(runs_b) == 7
    # Newest first, the list endpoint's order (no two seeded runs share a timestamp here).
    order_a = sorted(runs_a, key=lambda i: parse_ts(runs_a[i]["created_at"]), reverse=True)
    return {
        "now": now,
        "a": a,
        "b": b,
        "wf_a": wf_a,
        "wf_b": wf_b,
        "runs_a": runs_a,
        "runs_b": runs_b,
        "order_a": order_a,
        "t_a_from": t_a_from,
        "team": lambda team: {i for i, r in runs_a.items() if r["metadata"]["team"] == team},
    }


def test_client_is_bound_to_the_sim(sim: Sim, hatchet: Any) -> None:
    assert hatchet.config.server_url == sim.url
    assert hatchet.tenant_id == sim.tenant
    assert hatchet.config.host_port == f"127.0.0.1:{sim.port}"
    assert sim.url.startswith("http://127.0.0.1:")


def test_runs_list_rows_match_the_sim(sim: Sim, hatchet: Any, runs_data: dict) -> None:
    d = runs_data
    page = hatchet.runs.list(
        since=d["now"] - timedelta(hours=1),
        until=d["now"],
        workflow_ids=[d["wf_a"]],
        limit=100,
        include_payloads=False,
    )
    assert isinstance(page, V1TaskSummaryList)
    assert [r.metadata.id for r in page.rows] == d["order_a"]
    # Quirk kept from Hatchet: next_page is current_page + 1 even on the last page.
    assert (page.pagination.current_page, page.pagination.next_page) == (1, 2)
    assert page.pagination.num_pages == 1
    for row in page.rows:
        assert isinstance(row, V1TaskSummary)
        seeded = d["runs_a"][row.metadata.id]
        # Runs mode: all three ids are the run's external id (docs/hatchet-contract.md §b.1).
        assert row.task_external_id == row.workflow_run_external_id == row.metadata.id
        assert row.tenant_id == sim.tenant
        assert row.workflow_id == d["wf_a"]
        assert row.workflow_name == d["a"]
        assert row.status.value == seeded["status"]
        assert row.additional_metadata == seeded["metadata"]
        assert row.created_at == parse_ts(seeded["created_at"])  # QUEUED: never started (D13)
        assert row.metadata.created_at == parse_ts(seeded["created_at"])
        assert row.retry_count == 0
        if seeded["task_ids"]:
            assert row.type == V1WorkflowType.DAG
            assert row.children is not None
            assert [c.task_external_id for c in row.children] == seeded["task_ids"]
            assert {c.workflow_run_external_id for c in row.children} == {row.metadata.id}
            assert {c.type for c in row.children} == {V1WorkflowType.TASK}
        else:
            assert row.type == V1WorkflowType.TASK
    assert sum(1 for r in page.rows if r.type == V1WorkflowType.DAG) == 10


def test_runs_list_filters(hatchet: Any, runs_data: dict) -> None:
    d = runs_data
    since, until = d["now"] - timedelta(hours=1), d["now"]

    def ids(**kwargs: Any) -> set[str]:
        kwargs.setdefault("since", since)
        kwargs.setdefault("until", until)
        page = hatchet.runs.list(limit=500, include_payloads=False, **kwargs)
        found = [r.metadata.id for r in page.rows]
        assert len(found) == len(set(found))
        return set(found)

    wf_a, wf_b = d["wf_a"], d["wf_b"]
    assert ids(workflow_ids=[wf_a], statuses=[V1TaskStatus.FAILED]) == d["team"]("b")
    assert ids(
        workflow_ids=[wf_a], statuses=[V1TaskStatus.FAILED, V1TaskStatus.QUEUED]
    ) == d["team"]("b") | d["team"]("c")
    assert ids(workflow_ids=[wf_b]) == set(d["runs_b"])
    assert ids(workflow_ids=[wf_a, wf_b], additional_metadata={"team": "a"}) == d["team"](
        "a"
    ) | set(d["runs_b"])
    # since/until are creation-time filters: [now-35m, now-15m] holds exactly the FAILED runs.
    assert ids(
        workflow_ids=[wf_a],
        since=d["now"] - timedelta(minutes=35),
        until=d["now"] - timedelta(minutes=15),
    ) == d["team"]("b")
    cutoff = d["now"] - timedelta(minutes=45)
    before_cutoff = {
        i for i, r in d["runs_a"].items() if parse_ts(r["created_at"]) <= cutoff
    }
    assert len(before_cutoff) == 15
    assert ids(workflow_ids=[wf_a], until=cutoff) == before_cutoff


def test_runs_list_offset_limit_and_only_tasks(hatchet: Any, runs_data: dict) -> None:
    d = runs_data
    common = dict(
        since=d["now"] - timedelta(hours=1),
        until=d["now"],
        workflow_ids=[d["wf_a"]],
        include_payloads=False,
    )
    seen: list[str] = []
    for n, offset in enumerate((0, 25, 50)):
        page = hatchet.runs.list(offset=offset, limit=25, **common)
        seen += [r.metadata.id for r in page.rows]
        assert len(page.rows) == (25 if offset < 50 else 10)
        assert page.pagination.current_page == n + 1
        assert page.pagination.next_page == n + 2
        assert page.pagination.num_pages == 3
    assert seen == d["order_a"]

    tasks = hatchet.runs.list(only_tasks=True, limit=500, **common)
    assert isinstance(tasks, V1TaskSummaryList)
    expected: set[str] = set()
    for run_id, run in d["runs_a"].items():
        expected |= set(run["task_ids"]) if run["task_ids"] else {run_id}
    assert len(tasks.rows) == 30 + 20 + 10 * 3
    assert {r.task_external_id for r in tasks.rows} == expected
    assert {r.type for r in tasks.rows} == {V1WorkflowType.TASK}
    assert tasks.pagination.num_pages == 1


def test_external_ids_snapshot(hatchet: Any, runs_data: dict) -> None:
    d = runs_data
    until = d["now"]
    got = external_ids(hatchet, since=d["now"] - timedelta(hours=1), until=until,
                       workflow_ids=[d["wf_a"]])
    assert isinstance(got, list) and all(isinstance(i, str) for i in got)
    assert sorted(got) == sorted(d["runs_a"])
    assert set(
        external_ids(
            hatchet,
            since=d["now"] - timedelta(hours=1),
            until=until,
            workflow_ids=[d["wf_a"]],
            statuses=[V1TaskStatus.QUEUED],
        )
    ) == d["team"]("c")
    # Metadata pairs are always OR'ed here (docs/hatchet-contract.md §b.2).
    assert set(
        external_ids(
            hatchet,
            since=d["now"] - timedelta(hours=1),
            until=until,
            workflow_ids=[d["wf_a"]],
            additional_metadata=["team:b", "team:c"],
        )
    ) == d["team"]("b") | d["team"]("c")
    # `since` is strict on external-ids (>) but not on the list (>=): the oldest team-a run was
    # created exactly at t_a_from.
    oldest = d["order_a"][-1]
    assert parse_ts(d["runs_a"][oldest]["created_at"]) == d["t_a_from"]
    snap = external_ids(hatchet, since=d["t_a_from"], until=until, workflow_ids=[d["wf_a"]])
    listed = hatchet.runs.list(
        since=d["t_a_from"], until=until, workflow_ids=[d["wf_a"]], limit=500,
        include_payloads=False,
    )
    assert len(snap) == 59 and oldest not in snap
    assert len(listed.rows) == 60 and listed.rows[-1].metadata.id == oldest


def test_get_status_and_details(sim: Sim, hatchet: Any, runs_data: dict) -> None:
    d = runs_data
    failed = sorted(d["team"]("b"))[0]
    completed = sorted(d["team"]("a"))[0]
    dag = sorted(d["team"]("c"))[0]
    assert hatchet.runs.get_status(failed) == V1TaskStatus.FAILED
    assert hatchet.runs.get_status(completed) == V1TaskStatus.COMPLETED
    assert hatchet.runs.get_status(dag) == V1TaskStatus.QUEUED

    details = hatchet.runs.get(dag)
    assert isinstance(details, V1WorkflowRunDetails)
    assert details.run.metadata.id == dag
    assert details.run.status == V1TaskStatus.QUEUED
    assert details.run.tenant_id == sim.tenant
    assert details.run.workflow_id == d["wf_a"]
    assert details.run.additional_metadata == {"team": "c"}
    task_ids = d["runs_a"][dag]["task_ids"]
    assert [s.task_external_id for s in details.shape] == task_ids
    assert [t.task_external_id for t in details.tasks] == task_ids
    assert {t.workflow_run_external_id for t in details.tasks} == {dag}

    single = hatchet.runs.get(failed)
    assert single.run.status == V1TaskStatus.FAILED
    assert [t.task_external_id for t in single.tasks] == [failed]

    with pytest.raises(NotFoundException) as err:
        hatchet.runs.get_status(str(uuid.uuid4()))
    assert err.value.status == 404


# --------------------------------------------------------------------------------------------------
# runs: cancel and replay
# --------------------------------------------------------------------------------------------------
def test_bulk_cancel_by_ids_flips_after_the_cancel_delay(sim: Sim, hatchet: Any) -> None:
    wf = unique("cancel-ids")
    sim.seed(runs=8, workflow=wf, status="QUEUED")
    sim.seed(runs=4, workflow=wf, status="RUNNING")
    sim.seed(runs=3, workflow=wf, status="COMPLETED")
    sim.seed(runs=1, workflow=wf, status="QUEUED", dag_tasks=2)
    runs = sim.runs_of(wf)
    active = [r["id"] for r in runs if r["status"] in ("QUEUED", "RUNNING") and not r["task_ids"]]
    done = [r["id"] for r in runs if r["status"] == "COMPLETED"]
    (dag,) = [r for r in runs if r["task_ids"]]
    unknown = str(uuid.uuid4())
    # A DAG task id acts on its whole run.
    ids = active + done + [dag["task_ids"][1], unknown]

    started = time.monotonic()
    assert hatchet.runs.bulk_cancel(BulkCancelReplayOpts(ids=ids)) is None
    # Accepted, not applied yet: the status only flips after the cancel delay.
    assert hatchet.runs.get_status(active[0]) == V1TaskStatus.QUEUED
    assert hatchet.runs.get_status(dag["id"]) == V1TaskStatus.QUEUED
    wait_until(
        lambda: set(statuses_of(hatchet, active + [dag["id"]]).values())
        == {V1TaskStatus.CANCELLED},
        what="cancelled runs to read CANCELLED",
    )
    assert time.monotonic() - started >= sim.cancel_delay_s * 0.9
    assert set(statuses_of(hatchet, done).values()) == {V1TaskStatus.COMPLETED}
    assert workflow_counts(sim, wf) == {"CANCELLED": 13, "COMPLETED": 3}
    assert {r["id"]: r["cancels"] for r in sim.runs_of(wf)} == {r["id"]: 1 for r in runs}

    # The response echoes the request's ids, unknown ones included (docs/hatchet-contract.md
    # §c); cancel is idempotent, so re-cancelling leaves the statuses alone.
    with hatchet.runs.client() as client:
        echoed = TaskApi(client).v1_task_cancel(
            tenant=hatchet.tenant_id,
            v1_cancel_task_request=V1CancelTaskRequest(externalIds=ids),
        )
    assert isinstance(echoed, V1CancelledTasks)
    assert echoed.ids == ids
    time.sleep(sim.cancel_delay_s + 0.1)
    assert workflow_counts(sim, wf) == {"CANCELLED": 13, "COMPLETED": 3}
    assert {r["cancels"] for r in sim.runs_of(wf)} == {2}


def test_bulk_cancel_with_filters_applies_the_20000_cap(own_sim: tuple[Sim, Any]) -> None:
    sim, hatchet = own_sim
    wf = unique("cancel-cap")
    now = utcnow()
    total = CANCEL_FILTER_CAP + 50
    wf_id = sim.seed(
        runs=total,
        workflow=wf,
        status="QUEUED",
        created_from=now - timedelta(hours=2),
        created_to=now - timedelta(minutes=90),
    )["workflow_id"]
    window = dict(since=now - timedelta(hours=3), until=now)

    # The list count is capped at 20,000 too: num_pages = ceil(20000 / 1000), not 21.
    page = hatchet.runs.list(
        workflow_ids=[wf_id], limit=1000, include_payloads=False, **window
    )
    assert len(page.rows) == 1000
    assert page.pagination.num_pages == CANCEL_FILTER_CAP // 1000

    opts = BulkCancelReplayOpts(
        filters=RunFilter(statuses=[V1TaskStatus.QUEUED], workflow_ids=[wf_id], **window)
    )
    hatchet.runs.bulk_cancel(opts)
    wait_until(
        lambda: workflow_counts(sim, wf).get("CANCELLED") == CANCEL_FILTER_CAP,
        what="20,000 runs to be cancelled",
    )
    time.sleep(sim.cancel_delay_s)
    assert workflow_counts(sim, wf) == {"CANCELLED": CANCEL_FILTER_CAP, "QUEUED": 50}
    # Newest first: the 50 left are the 50 oldest.
    runs = sim.runs_of(wf)
    oldest = sorted(runs, key=lambda r: parse_ts(r["created_at"]))[:50]
    left = external_ids(hatchet, workflow_ids=[wf_id], statuses=[V1TaskStatus.QUEUED], **window)
    assert sorted(left) == sorted(r["id"] for r in oldest)

    # Another call picks up the rest.
    hatchet.runs.bulk_cancel(opts)
    wait_until(
        lambda: workflow_counts(sim, wf) == {"CANCELLED": total},
        what="the remaining 50 runs to be cancelled",
    )
    assert {r["cancels"] for r in sim.runs_of(wf)} == {1}


def test_bulk_cancel_with_filters_by_metadata(sim: Sim, hatchet: Any) -> None:
    wf = unique("cancel-meta")
    now = utcnow()
    span = dict(created_from=now - timedelta(minutes=30), created_to=now - timedelta(minutes=1))
    wf_id = sim.seed(runs=10, workflow=wf, status="QUEUED", metadata={"shard": "1"}, **span)[
        "workflow_id"
    ]
    sim.seed(runs=10, workflow=wf, status="QUEUED", metadata={"shard": "2"}, **span)
    sim.seed(runs=5, workflow=wf, status="RUNNING", metadata={"shard": "1"}, **span)
    hatchet.runs.bulk_cancel(
        BulkCancelReplayOpts(
            filters=RunFilter(
                since=now - timedelta(hours=1),
                until=now,
                statuses=[V1TaskStatus.QUEUED, V1TaskStatus.RUNNING],
                workflow_ids=[wf_id],
                additional_metadata={"shard": "1"},
            )
        )
    )
    wait_until(
        lambda: workflow_counts(sim, wf).get("CANCELLED") == 15, what="shard 1 cancelled"
    )
    assert workflow_counts(sim, wf) == {"CANCELLED": 15, "QUEUED": 10}
    for run in sim.runs_of(wf):
        assert run["cancels"] == (1 if run["metadata"]["shard"] == "1" else 0)


def test_bulk_replay_by_ids(sim: Sim, hatchet: Any) -> None:
    wf = unique("replay")
    wf_id = sim.seed(runs=6, workflow=wf, status="FAILED")["workflow_id"]
    sim.seed(runs=4, workflow=wf, status="CANCELLED")
    sim.seed(runs=2, workflow=wf, status="COMPLETED")
    sim.seed(runs=2, workflow=wf, status="RUNNING")
    sim.seed(runs=1, workflow=wf, status="FAILED", dag_tasks=3)
    runs = sim.runs_of(wf)
    running = {r["id"] for r in runs if r["status"] == "RUNNING"}
    finished = [r["id"] for r in runs if r["id"] not in running]
    assert len(finished) == 13
    first_failed = next(r["id"] for r in runs if r["status"] == "FAILED" and not r["task_ids"])
    before = sim.stats()

    hatchet.runs.bulk_replay(BulkCancelReplayOpts(ids=[r["id"] for r in runs]))
    # Accepted, not applied yet: the run turns QUEUED only after the replay delay.
    assert hatchet.runs.get_status(first_failed) == V1TaskStatus.FAILED
    after = sim.stats()
    # Replay is accepted at once for every finished run; active ones are skipped.
    assert after["replayed_runs"] - before["replayed_runs"] == 13
    assert after["max_replays_per_run"] >= 1
    for run in sim.runs_of(wf):
        expected = 0 if run["id"] in running else 1
        assert (run["replays"], run["retry_count"]) == (expected, expected), run
    wait_until(
        lambda: set(statuses_of(hatchet, finished).values()) == {V1TaskStatus.COMPLETED},
        what="replayed runs to complete",
    )
    assert set(statuses_of(hatchet, sorted(running)).values()) == {V1TaskStatus.RUNNING}
    assert workflow_counts(sim, wf) == {"COMPLETED": 13, "RUNNING": 2}
    listed = hatchet.runs.list(
        since=utcnow() - timedelta(hours=2), workflow_ids=[wf_id], limit=50,
        include_payloads=False,
    )
    assert {r.metadata.id: r.retry_count for r in listed.rows} == {
        r["id"]: 0 if r["id"] in running else 1 for r in runs
    }

    # Replay is not idempotent: a second accepted replay counts again. Its response lists TASK
    # external ids (a DAG's tasks, not the run id), unknown ids left out
    # (docs/hatchet-contract.md §c).
    (dag,) = [r for r in runs if r["task_ids"]]
    unknown = str(uuid.uuid4())
    with hatchet.runs.client() as client:
        replayed = TaskApi(client).v1_task_replay(
            tenant=hatchet.tenant_id,
            v1_replay_task_request=V1ReplayTaskRequest(externalIds=finished + [unknown]),
        )
    assert isinstance(replayed, V1ReplayedTasks)
    standalone = [i for i in finished if i != dag["id"]]
    assert sorted(replayed.ids or []) == sorted(standalone + dag["task_ids"])
    final = sim.stats()
    assert final["replayed_runs"] - before["replayed_runs"] == 13
    assert final["max_replays_per_run"] >= 2
    assert {r["id"]: r["replays"] for r in sim.runs_of(wf)} == {
        r["id"]: 0 if r["id"] in running else 2 for r in runs
    }


def test_bulk_cancel_by_filters_with_pagination(sim: Sim, hatchet: Any) -> None:
    wf = unique("cancel-paged")
    now = utcnow()
    span = dict(created_from=now - timedelta(hours=2), created_to=now - timedelta(hours=1))
    wf_id = sim.seed(runs=1200, workflow=wf, status="QUEUED", metadata={"batch": "x"}, **span)[
        "workflow_id"
    ]
    sim.seed(runs=300, workflow=wf, status="RUNNING", metadata={"batch": "x"}, **span)
    sim.seed(runs=100, workflow=wf, status="COMPLETED", metadata={"batch": "x"}, **span)
    sim.seed(runs=50, workflow=wf, status="QUEUED", metadata={"batch": "y"}, **span)
    cancels_before = sim.request_count(CANCEL_ROUTE)
    snapshots_before = sim.request_count(EXTERNAL_IDS_ROUTE)

    hatchet.runs.bulk_cancel_by_filters_with_pagination(
        sleep_time=0,
        chunk_size=500,
        since=now - timedelta(hours=3),
        until=now,
        additional_metadata={"batch": "x"},
        workflow_ids=[wf_id],
    )
    # One external-ids snapshot, then one cancel per 500-id chunk (1,500 QUEUED/RUNNING ids).
    assert sim.request_count(EXTERNAL_IDS_ROUTE) - snapshots_before == 1
    assert sim.request_count(CANCEL_ROUTE) - cancels_before == 3
    wait_until(
        lambda: workflow_counts(sim, wf).get("CANCELLED") == 1500,
        what="every matching run to be cancelled",
    )
    assert workflow_counts(sim, wf) == {"CANCELLED": 1500, "COMPLETED": 100, "QUEUED": 50}
    for run in sim.runs_of(wf):
        matched = run["metadata"]["batch"] == "x" and run["status"] == "CANCELLED"
        assert run["cancels"] == (1 if matched else 0), run
    left = external_ids(
        hatchet,
        since=now - timedelta(hours=3),
        until=now,
        workflow_ids=[wf_id],
        statuses=[V1TaskStatus.QUEUED, V1TaskStatus.RUNNING],
    )
    assert len(left) == 50


# --------------------------------------------------------------------------------------------------
# scheduled runs
# --------------------------------------------------------------------------------------------------
def scheduled_of(sim: Sim, workflow: str) -> list[dict[str, Any]]:
    return [s for s in sim.dump()["scheduled"] if s["workflowName"] == workflow]


def test_scheduled_create_get_update_delete(sim: Sim, hatchet: Any) -> None:
    wf = unique("sched-crud")
    wf_id = sim.seed(scheduled=0, workflow=wf)["workflow_id"]
    trigger = utcnow() + timedelta(hours=2)
    created = hatchet.scheduled.create(
        workflow_name=wf,
        trigger_at=trigger,
        input={"n": 1, "s": "x"},
        additional_metadata={"k": "v"},
    )
    assert isinstance(created, ScheduledWorkflows)
    sid = created.metadata.id
    assert created.method == ScheduledWorkflowsMethod.API
    assert created.workflow_name == wf and created.workflow_id == wf_id
    assert created.tenant_id == sim.tenant
    assert created.trigger_at == truncate_ms(trigger)
    assert created.input == {"n": 1, "s": "x"}
    assert created.additional_metadata == {"k": "v"}
    assert created.workflow_run_created_at == ZERO_TIME
    assert created.workflow_run_name == ""
    assert created.workflow_run_id is None and created.workflow_run_status is None

    got = hatchet.scheduled.get(sid)
    assert isinstance(got, ScheduledWorkflows)
    assert got.model_dump() == created.model_dump()

    moved = utcnow() + timedelta(hours=5, milliseconds=123.456)
    updated = hatchet.scheduled.update(sid, moved)
    assert isinstance(updated, ScheduledWorkflows)
    assert updated.metadata.id == sid
    assert updated.trigger_at == truncate_ms(moved)
    assert hatchet.scheduled.get(sid).trigger_at == truncate_ms(moved)

    listed = hatchet.scheduled.list(workflow_id=wf_id)
    assert isinstance(listed, ScheduledWorkflowsList)
    assert [r.metadata.id for r in listed.rows] == [sid]

    assert hatchet.scheduled.delete(sid) is None
    assert scheduled_of(sim, wf) == []
    assert hatchet.scheduled.list(workflow_id=wf_id).rows == []
    with pytest.raises(NotFoundException) as err:
        hatchet.scheduled.get(sid)
    assert err.value.status == 404
    assert "scheduled workflow run not found" in (err.value.body or "")


def test_scheduled_list_pagination_order_and_filters(sim: Sim, hatchet: Any) -> None:
    wf = unique("sched-list")
    wf_id = sim.seed(
        scheduled=25, workflow=wf, metadata={"grp": "h"}, code_defined_every=5
    )["workflow_id"]
    sim.seed(scheduled=4, workflow=wf, metadata={"grp": "other"})
    rows = scheduled_of(sim, wf)
    by_trigger = sorted(rows, key=lambda s: (parse_ts(s["triggerAt"]), s["metadata"]["id"]))
    group = [s for s in by_trigger if s["additionalMetadata"] == {"grp": "h"}]
    assert len(group) == 25

    seen: list[str] = []
    for n, offset in enumerate((0, 10, 20)):
        page = hatchet.scheduled.list(
            offset=offset,
            limit=10,
            workflow_id=wf_id,
            additional_metadata={"grp": "h"},
            order_by_field=ScheduledWorkflowsOrderByField.TRIGGERAT,
            order_by_direction=WorkflowRunOrderByDirection.ASC,
        )
        assert isinstance(page, ScheduledWorkflowsList)
        seen += [r.metadata.id for r in page.rows]
        assert page.pagination.num_pages == 3
        assert page.pagination.current_page == n + 1
        # Unlike the runs list, next_page stops at the last page (docs/hatchet-contract.md §d.1).
        assert page.pagination.next_page == min(n + 2, 3)
        assert all(r.workflow_id == wf_id for r in page.rows)
    assert seen == [s["metadata"]["id"] for s in group]

    everything = hatchet.scheduled.list(workflow_id=wf_id, limit=100)
    # Default order: triggerAt DESC.
    assert [r.metadata.id for r in everything.rows] == [
        s["metadata"]["id"] for s in sorted(by_trigger, key=lambda s: parse_ts(s["triggerAt"]),
                                            reverse=True)
    ]
    methods = [r.method for r in everything.rows]
    assert methods.count(ScheduledWorkflowsMethod.DEFAULT) == 5
    assert methods.count(ScheduledWorkflowsMethod.API) == 24
    assert {r.tenant_id for r in everything.rows} == {sim.tenant}

    empty = hatchet.scheduled.list(workflow_id=wf_id, additional_metadata={"grp": "none"})
    assert empty.rows == []
    p = empty.pagination
    assert (p.num_pages, p.current_page, p.next_page) == (0, 1, 2)


def test_scheduled_code_defined_rows_are_refused(sim: Sim, hatchet: Any) -> None:
    wf = unique("sched-code")
    sim.seed(scheduled=4, workflow=wf, code_defined_every=2)
    rows = scheduled_of(sim, wf)
    api = sorted(s["metadata"]["id"] for s in rows if s["method"] == "API")
    code = sorted(s["metadata"]["id"] for s in rows if s["method"] == "DEFAULT")
    assert len(api) == 2 and len(code) == 2
    later = utcnow() + timedelta(hours=6)

    # Single calls: DELETE answers 403 with a bare APIError, PATCH 403 with APIErrors
    # (docs/hatchet-contract.md §d.4, §d.5); the SDK's models for those responses must parse them.
    with pytest.raises(ForbiddenException) as err:
        hatchet.scheduled.delete(code[0])
    assert err.value.status == 403
    assert isinstance(err.value.data, APIError)
    assert err.value.data.description == "Cannot delete scheduled run created via code definition."
    with pytest.raises(ForbiddenException) as err:
        hatchet.scheduled.update(code[0], later)
    assert err.value.status == 403
    assert isinstance(err.value.data, APIErrors)
    assert [e.description for e in err.value.data.errors] == [
        "Cannot update scheduled run created via code definition."
    ]

    # Bulk calls: per-item errors in a 200.
    unknown = str(uuid.uuid4())
    deleted = hatchet.scheduled.bulk_delete(scheduled_ids=[api[0], code[0], unknown])
    assert isinstance(deleted, ScheduledWorkflowsBulkDeleteResponse)
    assert deleted.deleted_ids == [api[0]]
    assert {(e.id, e.error) for e in deleted.errors} == {
        (code[0], "Failed to delete scheduled workflow."),
        (unknown, "Failed to delete scheduled workflow."),
    }
    updated = hatchet.scheduled.bulk_update([(api[1], later), (code[1], later), (unknown, later)])
    assert isinstance(updated, ScheduledWorkflowsBulkUpdateResponse)
    assert updated.updated_ids == [api[1]]
    assert {(e.id, e.error) for e in updated.errors} == {
        (code[1], "Failed to update scheduled workflow."),
        (unknown, "Scheduled workflow not found."),
    }
    left = {s["metadata"]["id"]: s for s in scheduled_of(sim, wf)}
    assert sorted(left) == sorted([api[1]] + code)
    assert parse_ts(left[api[1]]["triggerAt"]) == truncate_ms(later)
    assert parse_ts(left[code[1]]["triggerAt"]) != truncate_ms(later)

    # ids and a filter together: 400 APIErrors.
    with pytest.raises(BadRequestException) as err:
        hatchet.scheduled.bulk_delete(scheduled_ids=[api[1]], additional_metadata={"a": "b"})
    assert isinstance(err.value.data, APIErrors)
    assert [e.description for e in err.value.data.errors] == [
        "Provide either scheduledWorkflowRunIds or filter, not both."
    ]
    assert api[1] in {s["metadata"]["id"] for s in scheduled_of(sim, wf)}


def test_scheduled_bulk_delete_by_filter(sim: Sim, hatchet: Any) -> None:
    wf = unique("sched-bulkdel")
    wf_id = sim.seed(
        scheduled=12, workflow=wf, metadata={"del": "yes"}, code_defined_every=4
    )["workflow_id"]
    sim.seed(scheduled=5, workflow=wf, metadata={"del": "no"})
    other_wf = unique("sched-bulkdel-other")
    sim.seed(scheduled=3, workflow=other_wf, metadata={"del": "yes"})
    rows = scheduled_of(sim, wf)
    target_api = {
        s["metadata"]["id"]
        for s in rows
        if s["additionalMetadata"] == {"del": "yes"} and s["method"] == "API"
    }
    target_code = {
        s["metadata"]["id"]
        for s in rows
        if s["additionalMetadata"] == {"del": "yes"} and s["method"] == "DEFAULT"
    }
    assert (len(target_api), len(target_code)) == (9, 3)

    result = hatchet.scheduled.bulk_delete(workflow_id=wf_id, additional_metadata={"del": "yes"})
    assert isinstance(result, ScheduledWorkflowsBulkDeleteResponse)
    assert sorted(result.deleted_ids) == sorted(target_api)
    assert sorted(e.id for e in result.errors) == sorted(target_code)
    assert {e.error for e in result.errors} == {
        "Cannot delete scheduled run created via code definition."
    }
    left = hatchet.scheduled.list(workflow_id=wf_id, limit=100)
    assert len(left.rows) == 8
    assert {r.metadata.id for r in left.rows if r.additional_metadata == {"del": "yes"}} == (
        target_code
    )
    assert len(scheduled_of(sim, other_wf)) == 3

    # Nothing left to delete: 200 with no ids, the code-defined rows reported again.
    again = hatchet.scheduled.bulk_delete(workflow_id=wf_id, additional_metadata={"del": "yes"})
    assert again.deleted_ids == []
    assert sorted(e.id for e in again.errors) == sorted(target_code)


def test_scheduled_bulk_update(sim: Sim, hatchet: Any) -> None:
    wf = unique("sched-bulkupd")
    wf_id = sim.seed(scheduled=5, workflow=wf)["workflow_id"]
    ids = sorted(s["metadata"]["id"] for s in scheduled_of(sim, wf))
    base = utcnow() + timedelta(days=1)
    targets = {sid: base + timedelta(minutes=n, microseconds=654_321) for n, sid in enumerate(ids)}
    updates: list[Any] = [(sid, targets[sid]) for sid in ids[:3]]
    updates += [ScheduledWorkflowsBulkUpdateItem(id=sid, triggerAt=targets[sid]) for sid in ids[3:]]

    result = hatchet.scheduled.bulk_update(updates)
    assert isinstance(result, ScheduledWorkflowsBulkUpdateResponse)
    assert result.updated_ids == ids
    assert result.errors == []
    listed = hatchet.scheduled.list(
        workflow_id=wf_id,
        order_by_field=ScheduledWorkflowsOrderByField.TRIGGERAT,
        order_by_direction=WorkflowRunOrderByDirection.ASC,
    )
    assert [(r.metadata.id, r.trigger_at) for r in listed.rows] == [
        (sid, truncate_ms(targets[sid])) for sid in ids
    ]
    assert hatchet.scheduled.get(ids[4]).trigger_at == truncate_ms(targets[ids[4]])


# --------------------------------------------------------------------------------------------------
# crons
# --------------------------------------------------------------------------------------------------
def test_cron_create_get_list_delete(sim: Sim, hatchet: Any) -> None:
    wf = unique("cron")
    wf_id = sim.seed(
        crons=3, workflow=wf, metadata={"c": "seed"}, code_defined_every=3, expression="5 4 * * *"
    )["workflow_id"]
    seeded = sorted(
        (c for c in sim.dump()["crons"] if c["workflowName"] == wf), key=lambda c: c["name"]
    )
    code = [c["metadata"]["id"] for c in seeded if c["method"] == "DEFAULT"]
    assert len(code) == 1

    name = f"nightly-{uuid.uuid4().hex[:6]}"
    created = hatchet.cron.create(
        workflow_name=wf,
        cron_name=name,
        expression="0 4 * * *",
        input={"x": 1},
        additional_metadata={"c": "api"},
        priority=Priority.HIGH,
    )
    assert isinstance(created, CronWorkflows)
    cid = created.metadata.id
    assert created.name == name and created.cron == "0 4 * * *"
    assert created.workflow_name == wf and created.workflow_id == wf_id
    assert created.tenant_id == sim.tenant
    assert created.enabled is True
    assert created.method == CronWorkflowsMethod.API
    assert created.input == {"x": 1} and created.additional_metadata == {"c": "api"}
    assert created.priority == 3

    got = hatchet.cron.get(cid)
    assert isinstance(got, CronWorkflows)
    assert got.model_dump() == created.model_dump()

    everything = hatchet.cron.list(workflow_id=wf_id, limit=50)
    assert isinstance(everything, CronWorkflowsList)
    assert len(everything.rows) == 4
    assert {r.metadata.id for r in everything.rows} == {cid} | {
        c["metadata"]["id"] for c in seeded
    }
    assert [r.method for r in everything.rows].count(CronWorkflowsMethod.DEFAULT) == 1
    by_cron_name = hatchet.cron.list(workflow_id=wf_id, cron_name=name)
    assert [r.metadata.id for r in by_cron_name.rows] == [cid]
    assert len(hatchet.cron.list(workflow_name=wf).rows) == 4
    by_meta = hatchet.cron.list(workflow_id=wf_id, additional_metadata={"c": "seed"})
    assert {r.metadata.id for r in by_meta.rows} == {c["metadata"]["id"] for c in seeded}

    by_name = [
        hatchet.cron.list(
            workflow_id=wf_id,
            offset=offset,
            limit=2,
            order_by_field=CronWorkflowsOrderByField.NAME,
            order_by_direction=WorkflowRunOrderByDirection.ASC,
        )
        for offset in (0, 2)
    ]
    names = [r.name for page in by_name for r in page.rows]
    assert names == sorted([name] + [c["name"] for c in seeded])
    assert [(p.pagination.current_page, p.pagination.next_page, p.pagination.num_pages)
            for p in by_name] == [(1, 2, 2), (2, 2, 2)]

    assert hatchet.cron.delete(cid) is None
    assert cid not in {r.metadata.id for r in hatchet.cron.list(workflow_id=wf_id).rows}
    # An unknown cron id is a 500, not a 404 (docs/hatchet-contract.md §e).
    with pytest.raises(ServiceException) as err:
        hatchet.cron.get(cid)
    assert err.value.status == 500
    # No method check on delete: a code-defined cron can be deleted through the API.
    assert hatchet.cron.delete(code[0]) is None
    assert len(hatchet.cron.list(workflow_id=wf_id).rows) == 2
    assert len([c for c in sim.dump()["crons"] if c["workflowName"] == wf]) == 2
