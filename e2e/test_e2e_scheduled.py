"""Scheduled runs and crons with bulkops against the real Hatchet.

* `scheduled delete` by metadata over a mix of API-created and code-defined rows: the API rows are
  gone, the code-defined ones are skipped with the reason and still there; `jobs undo` re-creates
  the deleted rows with identical definitions (workflow, trigger time, input, metadata, priority).
* `scheduled reschedule --shift 1h`: every API row moves by exactly one hour (compared row by row
  with the server's values before), code-defined rows are skipped and unchanged; `jobs undo` puts
  every trigger time back.
* `crons delete --workflow`: API crons are deleted, the code-defined cron is skipped; with
  `--include-code-defined` it is deleted too (and the summary warns that it may come back).

Code-defined scheduled rows cannot be declared with hatchet-sdk 1.37.5 / engine v0.104.7, so they
are DB fixtures (hatchet_helpers.insert_code_defined_scheduled, docs/hatchet-behaviour.md L2). The
REST API refuses to delete them (403), so they stay behind, due days from now; the DB is fresh on
every hatchet-up.sh.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import hatchet_helpers as hh
from conftest import Bulkops, assert_counts, by_outcome, outcome_counts

WF = "itest-task"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _definition(row: dict) -> tuple:
    """What identifies a scheduled run's behaviour (not its id or creation time)."""
    meta = {k: v for k, v in (row.get("additionalMetadata") or {}).items() if k != "traceparent"}
    return (row["workflowId"], _ts(row["triggerAt"]), repr(sorted((row.get("input") or {}).items())),
            repr(sorted(meta.items())), row.get("priority"), row["method"])


def _rows(tag: str) -> dict[str, dict]:
    return {r["metadata"]["id"]: r for r in hh.list_scheduled(tag)}


def _code_defined(n: int, tag: str, start: datetime) -> list[str]:
    return [hh.insert_code_defined_scheduled(WF, start + timedelta(minutes=13 * i, seconds=0.25), tag,
                                             input={"mode": "ok", "n": 900 + i})
            for i in range(n)]


def test_scheduled_delete_mixed_rows_then_undo(bulkops: Bulkops):
    tag, other = hh.new_tag("sdel"), hh.new_tag("sdel-out")
    base = hh.utcnow() + timedelta(days=1, seconds=0.123456)
    api = hh.create_scheduled_many(30, tag, trigger_at=base, spread=timedelta(minutes=7, milliseconds=311),
                                   input={"mode": "ok", "n": 42})
    code = _code_defined(3, tag, base + timedelta(hours=1))
    outside = hh.create_scheduled_many(5, other, trigger_at=base)
    before = _rows(tag)
    assert set(before) == set(api) | set(code)
    assert {before[i]["method"] for i in api} == {"API"} and {before[i]["method"] for i in code} == {"DEFAULT"}
    outside_before = {i: _definition(r) for i, r in _rows(other).items()}
    assert set(outside_before) == set(outside)

    r = bulkops.ok("scheduled", "delete", "--workflow", WF, "--metadata", f"itest={tag}", "--yes")
    assert r.summary["operation"] == "scheduled delete" and r.summary["state"] == "finished", r.describe()
    assert_counts(r, total=33, done=30, skipped=3, failed=0, unconfirmed=0)
    report = bulkops.report(r.summary["job"])
    assert set(by_outcome(report, "done")) == set(api)
    skipped = by_outcome(report, "skipped")
    assert set(skipped) == set(code)
    for row in skipped.values():
        assert "code-defined" in row["reason"], row

    # The server: only the code-defined rows are left, unchanged; other tags untouched.
    after = _rows(tag)
    assert set(after) == set(code)
    assert {i: _definition(after[i]) for i in code} == {i: _definition(before[i]) for i in code}
    for i in api[:5]:
        gone = hh.rest().get(f"/api/v1/tenants/{{tenant}}/workflows/scheduled/{i}")
        assert gone.status == 404, gone
    assert {i: _definition(r) for i, r in _rows(other).items()} == outside_before

    # Undo: the 30 rows come back (new ids) with identical definitions.
    u = bulkops.ok("jobs", "undo", r.summary["job"], "--yes")
    assert u.summary["state"] == "finished", u.describe()
    assert_counts(u, total=30, done=30, failed=0, skipped=0, unconfirmed=0)
    restored = _rows(tag)
    new_api = {i: row for i, row in restored.items() if i not in code}
    assert len(new_api) == 30
    assert sorted(_definition(row) for row in new_api.values()) == sorted(_definition(before[i]) for i in api)
    assert {row["method"] for row in new_api.values()} == {"API"}
    assert {i: _definition(restored[i]) for i in code} == {i: _definition(before[i]) for i in code}
    assert {i: _definition(r) for i, r in _rows(other).items()} == outside_before

    for i in list(new_api) + outside:
        assert hh.rest().delete(f"/api/v1/tenants/{{tenant}}/workflows/scheduled/{i}").status == 204


def test_scheduled_reschedule_shift_1h_then_undo(bulkops: Bulkops):
    tag, other = hh.new_tag("sresched"), hh.new_tag("sresched-out")
    base = hh.utcnow() + timedelta(days=1, seconds=0.987654)
    api = hh.create_scheduled_many(20, tag, trigger_at=base, spread=timedelta(minutes=11, milliseconds=503))
    code = _code_defined(2, tag, base + timedelta(hours=2))
    outside = hh.create_scheduled_many(4, other, trigger_at=base)
    before = _rows(tag)
    assert set(before) == set(api) | set(code)
    outside_before = {i: _definition(r) for i, r in _rows(other).items()}

    r = bulkops.ok("scheduled", "reschedule", "--shift", "1h", "--workflow", WF, "--metadata", f"itest={tag}",
                   "--yes")
    assert r.summary["operation"] == "scheduled reschedule" and r.summary["state"] == "finished", r.describe()
    assert_counts(r, total=22, done=20, skipped=2, failed=0, unconfirmed=0)
    report = bulkops.report(r.summary["job"])
    assert set(by_outcome(report, "done")) == set(api)
    assert set(by_outcome(report, "skipped")) == set(code)
    assert all("code-defined" in row["reason"] for row in by_outcome(report, "skipped").values())

    after = _rows(tag)
    assert set(after) == set(before), "reschedule keeps the rows (same ids)"
    moved = {i: _ts(after[i]["triggerAt"]) - _ts(before[i]["triggerAt"]) for i in api}
    assert moved == {i: timedelta(hours=1) for i in api}, "every API row moved by exactly 1 h"
    for i in api:  # nothing else changed
        assert _definition(after[i])[2:] == _definition(before[i])[2:]
    assert {i: _definition(after[i]) for i in code} == {i: _definition(before[i]) for i in code}
    assert {i: _definition(r) for i, r in _rows(other).items()} == outside_before

    u = bulkops.ok("jobs", "undo", r.summary["job"], "--yes")
    assert u.summary["state"] == "finished", u.describe()
    assert_counts(u, total=20, done=20, failed=0, skipped=0, unconfirmed=0)
    restored = _rows(tag)
    assert {i: _definition(row) for i, row in restored.items()} == {i: _definition(row) for i, row in before.items()}
    assert {i: _definition(r) for i, r in _rows(other).items()} == outside_before

    for i in api + outside:
        assert hh.rest().delete(f"/api/v1/tenants/{{tenant}}/workflows/scheduled/{i}").status == 204


def test_crons_delete_by_workflow_skips_code_defined_unless_asked(bulkops: Bulkops):
    tag = hh.new_tag("crons")
    wf_id = hh.workflow_id("itest-cron-code")
    code = [c for c in hh.list_crons(None, workflowId=wf_id) if c["method"] == "DEFAULT"]
    assert len(code) == 1, (
        f"expected the one code-defined cron of itest-cron-code (on_crons), found {code}: a previous run on "
        f"this server deleted it; `bash scripts/hatchet-up.sh` starts from a fresh database")
    code_id = code[0]["metadata"]["id"]
    api = hh.create_crons_many(4, tag, workflow="itest-cron-code")
    control = hh.create_crons_many(3, tag, workflow=WF)
    assert {c["metadata"]["id"] for c in hh.list_crons(None, workflowId=wf_id)} == set(api) | {code_id}

    r = bulkops.ok("crons", "delete", "--workflow", "itest-cron-code", "--yes")
    assert r.summary["operation"] == "crons delete" and r.summary["state"] == "finished", r.describe()
    assert_counts(r, total=5, done=4, skipped=1, failed=0, unconfirmed=0)
    report = bulkops.report(r.summary["job"])
    assert set(by_outcome(report, "done")) == set(api)
    skipped = by_outcome(report, "skipped")
    assert set(skipped) == {code_id}
    assert "code-defined" in skipped[code_id]["reason"], skipped
    assert [c["metadata"]["id"] for c in hh.list_crons(None, workflowId=wf_id)] == [code_id]
    assert sorted(c["metadata"]["id"] for c in hh.list_crons(tag)) == sorted(control)

    # The same command again with --include-code-defined (a new job): the code-defined cron goes.
    r2 = bulkops.ok("crons", "delete", "--workflow", "itest-cron-code", "--include-code-defined", "--yes")
    assert r2.summary["job"] != r.summary["job"]
    assert_counts(r2, total=1, done=1, skipped=0, failed=0, unconfirmed=0)
    assert "code-defined" in (r2.summary.get("note") or ""), r2.describe()
    assert outcome_counts(bulkops.report(r2.summary["job"])) == {"done": 1}
    assert hh.list_crons(None, workflowId=wf_id) == []
    assert sorted(c["metadata"]["id"] for c in hh.list_crons(tag)) == sorted(control)

    for c in control:
        assert hh.rest().delete(f"/api/v1/tenants/{{tenant}}/workflows/crons/{c}").status == 204
