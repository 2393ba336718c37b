"""Differential: one scenario, built on hatchet-sim (seeded through /_sim/seed) and on the real
Hatchet (triggered with the worker of e2e/itest_worker.py), then the same bulkops commands against
both. The dry-run counts, the summary counts and the per-item outcomes (with their reasons) must be
the same: where they differ, the simulator does not speak the real server's contract (or bulkops
depends on a difference).

Scenario, with tags A and B (metadata `itest`):
  QUEUED    300 itest-unserved  A
  QUEUED    100 itest-unserved  B
  COMPLETED  50 itest-task      A
  FAILED     40 itest-task      A
"""

from __future__ import annotations

import collections
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

import hatchet_helpers as hh
from conftest import Bulkops, real_connection
from sim_fixture import Sim, running_sim

Q_A, Q_B, DONE_A, FAILED_A = 300, 100, 50, 40


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    with running_sim(cancel_delay_ms=300, replay_delay_ms=300) as s:
        yield s


def _sim_connection(sim: Sim) -> dict[str, str]:
    return {"HATCHET_CLIENT_TOKEN": sim.token, "HATCHET_CLIENT_SERVER_URL": sim.url,
            "HATCHET_CLIENT_TENANT_ID": sim.tenant, "HATCHET_CLIENT_TLS_STRATEGY": "none"}


def _seed_sim(sim: Sim, a: str, b: str) -> None:
    now = hh.utcnow()
    window = {"created_from": now - timedelta(minutes=20), "created_to": now - timedelta(seconds=5)}
    for n, status, wf, tag in ((Q_A, "QUEUED", "itest-unserved", a), (Q_B, "QUEUED", "itest-unserved", b),
                               (DONE_A, "COMPLETED", "itest-task", a), (FAILED_A, "FAILED", "itest-task", a)):
        out = sim.seed(runs=n, status=status, workflow=wf, metadata={"itest": tag}, **window)
        assert out["seeded"] == n, out


def _build_real(a: str, b: str) -> dict[str, list[str]]:
    ids = {"queued_a": hh.trigger_unserved(Q_A, a), "queued_b": hh.trigger_unserved(Q_B, b),
           "done_a": hh.trigger("ok", DONE_A, a), "failed_a": hh.trigger("fail", FAILED_A, a)}
    hh.wait_for_count(a, "QUEUED", Q_A, timeout=120)
    hh.wait_for_count(b, "QUEUED", Q_B, timeout=120)
    hh.wait_for_count(a, "COMPLETED", DONE_A, timeout=120)
    hh.wait_for_count(a, "FAILED", FAILED_A, timeout=120)
    return ids


def _dry(bulkops: Bulkops, *args: str) -> int:
    r = bulkops.run(*args, "--dry-run", timeout=300)
    assert r.returncode == 0, r.describe()
    out = r.summary
    assert out["dry_run"] is True, out
    return out["matching"]


def _outcomes(bulkops: Bulkops, job: str) -> dict[tuple[str, str], int]:
    return dict(collections.Counter((row["outcome"], row["reason"] or "") for row in bulkops.report(job)))


@pytest.fixture(scope="module")
def worlds(sim: Sim, bulkops_bin: Path, hatchet_env: dict[str, str], tmp_path_factory) -> dict[str, Any]:
    a, b = hh.new_tag("diff-a"), hh.new_tag("diff-b")
    _seed_sim(sim, a, b)
    real_ids = _build_real(a, b)
    yield {
        "a": a, "b": b, "real_ids": real_ids, "sim": sim,
        "real": Bulkops(bulkops_bin, tmp_path_factory.mktemp("real"), real_connection(hatchet_env)),
        "simulated": Bulkops(bulkops_bin, tmp_path_factory.mktemp("sim"), _sim_connection(sim)),
    }
    hh.cancel_ids(real_ids["queued_b"])


def _both(worlds: dict, fn) -> dict[str, Any]:
    return {name: fn(worlds[name]) for name in ("simulated", "real")}


def test_dry_run_counts_match(worlds: dict):
    """Every selection is scoped by a tag: the real server also holds other tests' runs."""
    a, b = worlds["a"], worlds["b"]
    cases = {
        "cancel default statuses, tag A": (["runs", "cancel", "--since", "1h", "--metadata", f"itest={a}"], Q_A),
        "cancel QUEUED+COMPLETED, tag A": (["runs", "cancel", "--since", "1h", "--metadata", f"itest={a}",
                                            "--status", "QUEUED,COMPLETED"], Q_A + DONE_A),
        "cancel QUEUED, itest-unserved, tag B": (["runs", "cancel", "--since", "1h", "--status", "QUEUED",
                                                  "--workflow", "itest-unserved", "--metadata", f"itest={b}"], Q_B),
        "cancel QUEUED, itest-task, tag A": (["runs", "cancel", "--since", "1h", "--status", "QUEUED",
                                              "--workflow", "itest-task", "--metadata", f"itest={a}"], 0),
        "cancel COMPLETED+FAILED, itest-task, tag A": (["runs", "cancel", "--since", "1h", "--status", "COMPLETED",
                                                        "--status", "FAILED", "--workflow", "itest-task",
                                                        "--metadata", f"itest={a}"], DONE_A + FAILED_A),
        "replay default statuses, tag A": (["runs", "replay", "--since", "1h", "--metadata", f"itest={a}"], FAILED_A),
        "replay FAILED, tag A, itest-task": (["runs", "replay", "--since", "1h", "--metadata", f"itest={a}",
                                              "--status", "FAILED", "--workflow", "itest-task"], FAILED_A),
    }
    got = {name: _both(worlds, lambda bo, args=args: _dry(bo, *args)) for name, (args, _) in cases.items()}
    diffs = {name: g for name, g in got.items() if g["simulated"] != g["real"]}
    assert not diffs, f"dry-run counts differ (simulated vs real): {diffs}"
    assert {name: g["real"] for name, g in got.items()} == {name: want for name, (_, want) in cases.items()}


def test_cancel_counts_and_outcomes_match(worlds: dict):
    a = worlds["a"]
    args = ["runs", "cancel", "--since", "1h", "--metadata", f"itest={a}", "--status", "QUEUED,COMPLETED", "--yes"]
    results = _both(worlds, lambda bo: bo.run(*args, timeout=600))
    for name, r in results.items():
        assert r.returncode == 0, f"{name}\n{r.describe()}"
    counts = {name: r.counts for name, r in results.items()}
    assert counts["simulated"] == counts["real"], f"summary counts differ (simulated vs real): {counts}"
    assert counts["real"]["total"] == Q_A + DONE_A
    assert counts["real"]["done"] == Q_A and counts["real"]["skipped"] == DONE_A
    outcomes = {name: _outcomes(worlds[name], r.summary["job"]) for name, r in results.items()}
    assert outcomes["simulated"] == outcomes["real"], f"per-item outcomes differ (simulated vs real): {outcomes}"

    # The servers agree with the reports: A's queued runs CANCELLED, its completed runs still
    # COMPLETED, B untouched.
    ids = worlds["real_ids"]
    hh.wait_for_statuses(ids["queued_a"], "CANCELLED", tag=a, timeout=60)
    assert sorted(hh.external_ids(a, ["COMPLETED"])) == sorted(ids["done_a"])
    assert sorted(hh.external_ids(worlds["b"], ["QUEUED"])) == sorted(ids["queued_b"])
    by_status = collections.Counter((r["workflow"], r["status"], r["metadata"].get("itest"))
                                    for r in worlds["sim"].dump()["runs"])
    assert by_status[("itest-unserved", "CANCELLED", a)] == Q_A, by_status
    assert by_status[("itest-task", "COMPLETED", a)] == DONE_A, by_status
    assert by_status[("itest-unserved", "QUEUED", worlds["b"])] == Q_B, by_status


def test_replay_counts_and_outcomes_match(worlds: dict):
    """Runs after the cancel: the FAILED runs of A (40, one request), and A's just-CANCELLED runs
    are not in the selection (--status FAILED)."""
    a = worlds["a"]
    args = ["runs", "replay", "--since", "1h", "--metadata", f"itest={a}", "--status", "FAILED",
            "--chunk-size", "50", "--rate", "0.5", "--yes"]
    results = _both(worlds, lambda bo: bo.run(*args, timeout=600))
    for name, r in results.items():
        assert r.returncode == 0, f"{name}\n{r.describe()}"
    counts = {name: r.counts for name, r in results.items()}
    assert counts["simulated"] == counts["real"], f"summary counts differ (simulated vs real): {counts}"
    assert (counts["real"]["total"], counts["real"]["done"]) == (FAILED_A, FAILED_A)
    outcomes = {name: _outcomes(worlds[name], r.summary["job"]) for name, r in results.items()}
    assert outcomes["simulated"] == outcomes["real"], f"per-item outcomes differ (simulated vs real): {outcomes}"
    hh.wait_for_retry_count(a, worlds["real_ids"]["failed_a"], 1, timeout=120)
    sim_runs = [r for r in worlds["sim"].dump()["runs"] if r["metadata"].get("itest") == a and r["workflow"] == "itest-task"]
    assert collections.Counter(r["replays"] for r in sim_runs) == {1: FAILED_A, 0: DONE_A}


def test_nothing_matches(worlds: dict):
    """A selection that matches no run: nothing to do, and no job is created, on both. (The real
    server answers external-ids with `null` instead of `[]` when nothing matches:
    docs/hatchet-behaviour.md D6.)"""
    nobody = hh.new_tag("diff-nobody")
    args = ["runs", "cancel", "--since", "1h", "--metadata", f"itest={nobody}"]
    dry = _both(worlds, lambda bo: bo.run(*args, "--dry-run", timeout=120))
    jobs_before = _both(worlds, lambda bo: len(bo.jobs()))
    run = _both(worlds, lambda bo: bo.run(*args, "--yes", timeout=120))
    for name in ("simulated", "real"):
        assert dry[name].returncode == 0, f"{name} dry run\n{dry[name].describe()}"
        assert dry[name].summary["matching"] == 0, dry[name].describe()
        assert run[name].returncode == 0, f"{name}\n{run[name].describe()}"
        said = run[name].summary
        assert said["state"] == "nothing matches" and said["matching"] == 0 and said["job"] is None, \
            run[name].describe()
        assert len(worlds[name].jobs()) == jobs_before[name], f"{name}: a job was created for an empty selection"
