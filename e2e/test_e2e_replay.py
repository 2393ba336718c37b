"""`bulkops runs replay` against the real Hatchet, with a `kill -9` in the middle and a resume:
every selected FAILED run (2,000 standalone, 200 three-task DAGs) is replayed exactly once, which
the server shows as retryCount 0 -> 1 on every run and every task; runs still active (RUNNING
sleepers included through `--status FAILED,RUNNING`) are skipped, never sent.

Replay is not idempotent and this server drops replay batches that arrive close together
(docs/hatchet-behaviour.md D3), so the command is paced explicitly (`--chunk-size 50 --rate 0.5`).
A run whose retryCount never rose is a replay the server accepted and lost, which bulkops must
notice and resend; a run at retryCount 2 was replayed twice. Both fail the test, and the failure
message names them.
"""

from __future__ import annotations

import time
from datetime import timedelta

import hatchet_helpers as hh
from conftest import Bulkops, by_outcome, outcome_counts

STANDALONE = 2_000
DAGS = 200
SLEEPERS = 5
KILL_AT = 0.4  # kill -9 once this share of the items has been processed


def _retry(row: dict) -> int:
    return row.get("retryCount") or 0


def _server_view(tag: str) -> dict[str, dict]:
    """Runs-mode rows of the tag by run id (DAG rows carry their task rows as `children`).

    Not the only_tasks=true list: on this server its offset paging is not stable when many tasks
    share a creation instant (a bulk trigger of 1,000 does), so pages repeat some tasks and skip
    others (docs/hatchet-behaviour.md D12)."""
    rows = hh.list_runs(tag)
    view = {r["metadata"]["id"]: r for r in rows}
    assert len(view) == len(rows), "runs-mode paging returned a run twice"
    return view


def _wait_for_retries(tag: str, ids: list[str], timeout: float) -> dict[str, dict]:
    """Until every run in `ids` and each of its tasks shows retryCount >= 1 and COMPLETED, or timeout;
    returns the last view either way (the assertions say what is missing)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = _server_view(tag)
        pending = [i for i in ids if i not in runs or _retry(runs[i]) < 1 or runs[i]["status"] != "COMPLETED"
                   or any(_retry(c) < 1 for c in runs[i].get("children") or [])]
        if not pending or time.monotonic() > deadline:
            return runs
        time.sleep(2)


def test_replay_2200_failed_runs_with_kill_9_and_resume(bulkops: Bulkops):
    tag = hh.new_tag("replay")
    flag = tag  # the replayed runs find the flag file and complete
    since = hh.utcnow() - timedelta(minutes=1)
    t0 = time.monotonic()
    standalone = hh.trigger("fail", STANDALONE, tag, flag=flag)
    dags = hh.trigger_dag("fail", DAGS, tag, flag=flag)
    failed = standalone + dags
    sleepers: list[str] = []
    try:
        # ~65 runs/s on this worker: 2,000 + 200 x 3 tasks.
        hh.wait_for_count(tag, "FAILED", len(failed), timeout=300, interval=2)
        sleepers = hh.trigger("sleep", SLEEPERS, tag, sleep_s=3600)
        hh.wait_for_statuses(sleepers, "RUNNING", tag=tag, timeout=120)
        ready_s = time.monotonic() - t0

        runs = _server_view(tag)
        assert {i: (runs[i]["status"], _retry(runs[i])) for i in failed} == {i: ("FAILED", 0) for i in failed}
        dag_tasks = {i: [c["metadata"]["id"] for c in runs[i].get("children") or []] for i in dags}
        assert all(len(t) == 3 for t in dag_tasks.values()), "every DAG run lists its 3 tasks"
        hh.set_flag(flag)

        args = ["runs", "replay", "--since", hh.iso(since), "--status", "FAILED,RUNNING",
                "--metadata", f"itest={tag}", "--chunk-size", "50", "--rate", "0.5", "--yes"]
        total = len(failed) + SLEEPERS

        # First attempt: kill -9 once a good part of the job is processed.
        first = bulkops.spawn(*args)
        killed_at: dict | None = None
        try:
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline and first.process.poll() is None:
                prog = first.progress()
                if prog and prog[-1]["processed"] >= KILL_AT * total:
                    killed_at = prog[-1]
                    first.kill9()
                    break
                time.sleep(0.3)
        finally:
            first.ensure_dead()
        assert killed_at is not None, (
            f"bulkops ended (exit {first.process.returncode}) before it could be killed in the middle\n"
            f"{first.stderr_path.read_text()[-3000:]}")
        assert killed_at["processed"] < total

        # Resume: the same command again.
        r = bulkops.run(*args)
        job = r.summary["job"] if r.stdout.strip() else None

        # The server's word, whatever bulkops said: wait for every replay to show (OLAP lag).
        _wait_for_retries(tag, failed, timeout=180)
        time.sleep(5)  # a late duplicate replay would show as retryCount 2
        runs = _server_view(tag)
        def retries(i: str) -> list[int]:  # the run's own retryCount, then its tasks'
            return [_retry(runs[i])] + [_retry(c) for c in runs[i].get("children") or []]

        never = sorted(i for i in failed if max(retries(i)) == 0)
        twice = sorted(i for i in failed if max(retries(i)) > 1)
        partly = sorted(i for i in failed if min(retries(i)) == 0 < max(retries(i)))
        report = bulkops.report(job) if job else []
        rows = {row["id"]: row for row in report}

        def explain(ids: list[str]) -> str:
            kinds = {"DAG": sum(i in dag_tasks for i in ids), "standalone": sum(i not in dag_tasks for i in ids)}
            return f"{kinds}; e.g. " + "; ".join(
                f"{i} ({'DAG' if i in dag_tasks else 'standalone'}): server {runs[i]['status']}, retryCount "
                f"run/tasks {retries(i)}, bulkops {rows.get(i, {}).get('outcome')} ({rows.get(i, {}).get('reason')})"
                for i in ids[:4])

        summary = r.summary if r.stdout.strip() else None
        assert not twice, f"{len(twice)} runs were replayed more than once: {explain(twice)}"
        assert not partly, (
            f"{len(partly)} DAG runs were only partly replayed (some tasks at retryCount 0): the server "
            f"dropped part of a replay request. Summary {summary}; {explain(partly)}")
        assert not never, (
            f"{len(never)} of {len(failed)} runs were never replayed (retryCount still 0): a replay the "
            f"server accepted and dropped (docs/hatchet-behaviour.md D3) that bulkops did not resend. "
            f"Summary {summary}; {explain(never)}")

        # Exactly once, on every run and every task of every DAG.
        assert {i: _retry(runs[i]) for i in failed} == {i: 1 for i in failed}
        for run_id, task_ids in dag_tasks.items():
            children = {c["metadata"]["id"]: c for c in runs[run_id].get("children") or []}
            assert set(children) == set(task_ids), f"DAG {run_id} has other tasks now: {sorted(children)}"
            for t, c in children.items():
                assert _retry(c) == 1, f"DAG {run_id} task {t}: {c}"
        # The details endpoint agrees, task by task (a sample: one call per run).
        for i in standalone[:: STANDALONE // 20] + dags[:: DAGS // 20]:
            details = hh.rest().get(f"/api/v1/stable/workflow-runs/{i}").json
            assert [t.get("retryCount") for t in details["tasks"]] == [1] * (3 if i in dag_tasks else 1), details
        assert {runs[i]["status"] for i in failed} == {"COMPLETED"}
        # The sleepers were never touched.
        for i in sleepers:
            assert (runs[i]["status"], _retry(runs[i])) == ("RUNNING", 0), runs[i]

        # bulkops' account of the job.
        assert r.returncode == 0, r.describe()
        assert r.summary["state"] == "finished" and r.summary["exit_code"] == 0, r.describe()
        counts = r.counts
        assert (counts["total"], counts["done"], counts["skipped"], counts["failed"], counts["unconfirmed"]) == \
            (total, len(failed), SLEEPERS, 0, 0), r.describe()
        assert outcome_counts(report) == {"done": len(failed), "skipped": SLEEPERS}
        assert set(by_outcome(report, "done")) == set(failed)
        skipped = by_outcome(report, "skipped")
        assert set(skipped) == set(sleepers)
        for row in skipped.values():
            assert "active" in row["reason"] and "RUNNING" in row["reason"], row
        print(f"\nreplay: runs ready {ready_s:.0f}s, killed at {killed_at['processed']}/{total} processed, "
              f"resume {r.elapsed:.0f}s, total {time.monotonic() - t0:.0f}s")
    finally:
        hh.clear_flag(flag)
        if sleepers:
            hh.cancel_ids(sleepers)
