"""Checks the inferred points of docs/hatchet-contract.md (and other bulk-client concerns) against
the running local Hatchet.

Run (server up via scripts/hatchet-up.sh; best on a fresh database):
    $(scripts/python-env.sh)/bin/python e2e/probe_behaviour.py [--big] [--only NAME[,NAME...]]

--big adds the >20,000-run checks (list count cap, cancel filter cap); they trigger ~21,000 runs (~15 s)
and cancel them again. Prints one JSON object per check ("observed" is what the server did); the
results are written up in docs/hatchet-behaviour.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import uuid
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hatchet_helpers as hh  # noqa: E402
from hatchet_helpers import iso, utcnow  # noqa: E402

R = hh.rest()
RUNS = "/api/v1/stable/tenants/{tenant}/workflow-runs"
XIDS = RUNS + "/external-ids"
CANCEL = "/api/v1/stable/tenants/{tenant}/tasks/cancel"
REPLAY = "/api/v1/stable/tenants/{tenant}/tasks/replay"
SCHED = "/api/v1/tenants/{tenant}/workflows/scheduled"
CRONS = "/api/v1/tenants/{tenant}/workflows/crons"
T0 = utcnow() - timedelta(minutes=5)

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def wait_until(pred, timeout=60.0, interval=0.25):
    t = time.monotonic()
    while True:
        v = pred()
        if v:
            return time.monotonic() - t, v
        if time.monotonic() - t > timeout:
            return None, v
        time.sleep(interval)


def rows(tag, only_tasks=False, **q):
    r = R.get(RUNS, since=T0, only_tasks=only_tasks, additional_metadata=[f"itest:{tag}"], limit=1000,
              include_payloads=False, **q)
    assert r.status == 200, r
    return r.json["rows"]


def row(tag, run_id, only_tasks=False):
    for x in rows(tag, only_tasks):
        if x["metadata"]["id"] == run_id:
            return x
    return None


def brief(x, keys=("status", "retryCount", "attempt", "type")):
    return None if x is None else {k: x.get(k) for k in keys}


def xids(**q):
    r = R.get(XIDS, **q)
    return r


# ------------------------------------------------------------------------------------------------
@check
def list_row_shape():
    tag = hh.new_tag("shape")
    [task_id] = hh.trigger("ok", 1, tag)
    [dag_id] = hh.trigger_dag("ok", 1, tag)
    hh.wait_for_count(tag, "COMPLETED", 2, timeout=60)
    rs = {x["metadata"]["id"]: x for x in rows(tag)}
    t, d = rs[task_id], rs[dag_id]
    pay_default = R.get(RUNS, since=T0, only_tasks=False, additional_metadata=[f"itest:{tag}"]).json["rows"]
    pay_true = R.get(RUNS, since=T0, only_tasks=False, additional_metadata=[f"itest:{tag}"],
                     include_payloads=True).json["rows"]
    tasks_mode = rows(tag, only_tasks=True)
    return {
        "standalone_row": {"type": t["type"], "ids_equal": t["metadata"]["id"] == t["taskExternalId"] == t["workflowRunExternalId"],
                           "children": len(t.get("children") or []), "createdAt": t["createdAt"]},
        "dag_row": {"type": d["type"], "ids_equal": d["metadata"]["id"] == d["taskExternalId"] == d["workflowRunExternalId"],
                    "children": len(d.get("children") or []), "child_types": sorted({c["type"] for c in d.get("children") or []}),
                    "child_workflowRunExternalId_is_run": all(c["workflowRunExternalId"] == dag_id for c in d.get("children") or [])},
        "only_tasks_true": {"n_rows": len(tasks_mode), "types": sorted({x["type"] for x in tasks_mode}),
                            "standalone_task_id_equals_run_id": any(x["metadata"]["id"] == task_id for x in tasks_mode),
                            "dag_run_id_in_task_rows": any(x["metadata"]["id"] == dag_id for x in tasks_mode)},
        "include_payloads_default_input": [x["input"] for x in pay_default],
        "include_payloads_true_input": [x["input"] for x in pay_true],
        "status_endpoint": R.get(f"/api/v1/stable/workflow-runs/{task_id}/status").raw.decode(),
    }


@check
def since_strictness():
    tag = hh.new_tag("since")
    [rid] = hh.trigger_unserved(1, tag)
    hh.wait_for_count(tag, "QUEUED", 1, timeout=60)
    created = row(tag, rid)["createdAt"]  # microsecond precision, e.g. 2026-11-21T23:48:38.871867Z
    q = dict(additional_metadata=[f"itest:{tag}"])
    return {
        "createdAt": created,
        "external_ids_since_eq_createdAt_includes": rid in (xids(since=created, **q).json or []),
        "list_since_eq_createdAt_includes": any(x["metadata"]["id"] == rid for x in
                                                R.get(RUNS, since=created, only_tasks=False, **q).json["rows"]),
        "external_ids_until_eq_createdAt_includes": rid in (xids(since=T0, until=created, **q).json or []),
        "list_until_eq_createdAt_includes": any(x["metadata"]["id"] == rid for x in
                                                R.get(RUNS, since=T0, until=created, only_tasks=False, **q).json["rows"]),
    }


@check
def external_ids_shape():
    tag = hh.new_tag("xid")
    [dag_id] = hh.trigger_dag("ok", 1, tag)
    hh.wait_for_count(tag, "COMPLETED", 1, timeout=60)
    d = row(tag, dag_id)
    child_ids = [c["metadata"]["id"] for c in d.get("children") or []]
    got = xids(since=T0, additional_metadata=[f"itest:{tag}"]).json
    empty = xids(since=T0, additional_metadata=["itest:nothing-matches-this"])
    return {"returned": got, "dag_run_id_returned": dag_id in got,
            "task_ids_returned": [c for c in child_ids if c in got],
            "empty_result_body": empty.raw.decode(), "empty_status": empty.status}


@check
def cancel_async_and_echo():
    tag = hh.new_tag("cancel")
    ids = hh.trigger_unserved(3, tag)
    hh.wait_for_count(tag, "QUEUED", 3, timeout=60)
    unknown = str(uuid.uuid4())
    r = R.post(CANCEL, {"externalIds": [ids[0], unknown]})
    st_immediately = R.get(f"/api/v1/stable/workflow-runs/{ids[0]}/status").raw.decode()
    t0 = time.monotonic()
    dt, _ = wait_until(lambda: R.get(f"/api/v1/stable/workflow-runs/{ids[0]}/status").json == "CANCELLED", 60, 0.05)
    dt_list, _ = wait_until(lambda: ids[0] in (xids(since=T0, statuses=["CANCELLED"], additional_metadata=[f"itest:{tag}"]).json or []), 60, 0.05)
    # cancel of a finished run
    tag2 = hh.new_tag("cancel-done")
    [done] = hh.trigger("ok", 1, tag2)
    hh.wait_for_count(tag2, "COMPLETED", 1, timeout=60)
    r2 = R.post(CANCEL, {"externalIds": [done]})
    time.sleep(3)
    # cancel twice
    r3 = R.post(CANCEL, {"externalIds": [ids[0]]})
    # only unknown
    r4 = R.post(CANCEL, {"externalIds": [unknown]})
    return {
        "response": {"status": r.status, "body": r.json, "elapsed_s": round(r.elapsed, 3)},
        "echoes_unknown_id": unknown in (r.json or {}).get("ids", []),
        "status_right_after_response": st_immediately,
        "seconds_until_status_endpoint_CANCELLED": round(dt, 2) if dt is not None else None,
        "seconds_until_external_ids_CANCELLED": round(time.monotonic() - t0 if dt_list is None else dt + dt_list, 2),
        "cancel_completed_run": {"status": r2.status, "body": r2.json, "status_after_3s": hh.run_status(done)},
        "cancel_again": {"status": r3.status, "body": r3.json},
        "cancel_only_unknown": {"status": r4.status, "body": r4.json},
        "others_untouched": [hh.run_status(i) for i in ids[1:]],
    }


@check
def cancel_replay_bad_bodies():
    tag = hh.new_tag("bad")
    ids = hh.trigger_unserved(1, tag)
    hh.wait_for_count(tag, "QUEUED", 1, timeout=60)
    out = {}
    for name, path in (("cancel", CANCEL), ("replay", REPLAY)):
        both = R.post(path, {"externalIds": ids, "filter": {"since": iso(T0)}})
        neither = R.post(path, {})
        nocolon = R.post(path, {"filter": {"since": iso(T0), "additionalMetadata": ["nocolon"]}})
        nosince = R.post(path, {"filter": {"statuses": ["QUEUED"], "additionalMetadata": [f"itest:{tag}"]}})
        # control: the same filter with since would match the QUEUED run (cancel it only at the end)
        control = xids(since=T0, statuses=["QUEUED"], additional_metadata=[f"itest:{tag}"]).json
        badstatus = R.post(path, {"filter": {"since": iso(T0), "statuses": ["BOGUS"], "additionalMetadata": [f"itest:{tag}"]}})
        badjson = R.request("POST", path, None)
        out[name] = {
            "ids_and_filter": [both.status, both.json],
            "empty_body_object": [neither.status, neither.json],
            "no_body": [badjson.status, badjson.json],
            "filter_metadata_without_colon": [nocolon.status, nocolon.json],
            "filter_invalid_status": [badstatus.status, badstatus.json],
            "filter_without_since": [nosince.status, nosince.json],
            "control_external_ids_with_since": control,
        }
    hh.cancel_ids(ids)
    return out


@check
def cancel_filter_mode():
    tag = hh.new_tag("cfilter")
    ids = hh.trigger_unserved(30, tag)
    hh.wait_for_count(tag, "QUEUED", 30, timeout=60)
    r = R.post(CANCEL, {"filter": {"since": iso(T0), "statuses": ["QUEUED"], "additionalMetadata": [f"itest:{tag}"]}})
    dt, _ = wait_until(lambda: hh.count_runs(tag, "CANCELLED") == 30, 60, 0.2)
    return {"status": r.status, "n_ids": len((r.json or {}).get("ids") or []),
            "ids_are_the_run_ids": sorted((r.json or {}).get("ids") or []) == sorted(ids),
            "elapsed_s": round(r.elapsed, 3), "all_cancelled_after_s": dt}


@check
def replay_ids_and_attempts():
    tag = hh.new_tag("replay")
    [task_id] = hh.trigger("fail", 1, tag)
    [dag_id] = hh.trigger_dag("fail", 1, tag)
    hh.wait_for_count(tag, "FAILED", 2, timeout=60)
    dag_row = row(tag, dag_id)
    child_ids = sorted(c["metadata"]["id"] for c in dag_row["children"])
    before = {"task": brief(row(tag, task_id)), "dag": brief(dag_row),
              "dag_children": [brief(c, ("displayName", "status", "retryCount", "attempt")) for c in dag_row["children"]],
              "task_only_tasks": brief(row(tag, task_id, only_tasks=True))}
    r1 = R.post(REPLAY, {"externalIds": [task_id]})
    r2 = R.post(REPLAY, {"externalIds": [dag_id]})
    r3 = R.post(REPLAY, {"externalIds": [str(uuid.uuid4())]})
    # mode=fail without a flag fails again: wait for the new attempt to finish
    dt, _ = wait_until(lambda: (row(tag, task_id) or {}).get("retryCount") == 1
                       and row(tag, task_id)["status"] == "FAILED", 60, 0.25)
    dt2, _ = wait_until(lambda: row(tag, dag_id)["status"] == "FAILED"
                        and all(c.get("retryCount") == 1 for c in row(tag, dag_id)["children"]), 60, 0.25)
    dag_row2 = row(tag, dag_id)
    after = {"task": brief(row(tag, task_id)), "dag": brief(dag_row2),
             "dag_children": [brief(c, ("displayName", "status", "retryCount", "attempt")) for c in dag_row2["children"]],
             "task_only_tasks": brief(row(tag, task_id, only_tasks=True)),
             "dag_only_tasks_rows": [brief(x, ("displayName", "status", "retryCount", "attempt"))
                                     for x in rows(tag, only_tasks=True) if x["metadata"]["id"] in child_ids]}
    return {
        "standalone_response_ids": r1.json, "standalone_response_equals_run_id": (r1.json or {}).get("ids") == [task_id],
        "dag_response_ids_are_task_ids": sorted((r2.json or {}).get("ids") or []) == child_ids,
        "dag_response_contains_run_id": dag_id in ((r2.json or {}).get("ids") or []),
        "dag_response_n": len((r2.json or {}).get("ids") or []),
        "unknown_id_response": [r3.status, r3.json],
        "before": before, "after": after,
        "standalone_refailed_after_s": dt, "dag_refailed_after_s": dt2,
    }


@check
def replay_with_flag_succeeds():
    tag = hh.new_tag("flag")
    flag = tag
    ids = hh.trigger("fail", 5, tag, flag=flag)
    dag = hh.trigger_dag("fail", 2, tag, flag=flag)
    hh.wait_for_count(tag, "FAILED", 7, timeout=60)
    hh.set_flag(flag)
    r = R.post(REPLAY, {"externalIds": ids + dag})
    dt, _ = wait_until(lambda: hh.count_runs(tag, "COMPLETED") == 7, 60, 0.25)
    return {"replay_status": r.status, "n_response_ids": len(r.json["ids"]),
            "all_completed_after_s": dt, "counts": hh.status_counts(tag),
            "row_after": brief(row(tag, ids[0]))}


@check
def replay_active_runs():
    tag = hh.new_tag("ractive")
    [q] = hh.trigger_unserved(1, tag)
    [s] = hh.trigger("sleep", 1, tag, sleep_s=120)
    hh.wait_for_count(tag, "QUEUED", 1, timeout=60)
    hh.wait_for_count(tag, "RUNNING", 1, timeout=60)
    rq = R.post(REPLAY, {"externalIds": [q]})
    rs = R.post(REPLAY, {"externalIds": [s]})
    time.sleep(5)
    out = {"queued": {"response": rq.json, "row_after_5s": brief(row(tag, q))},
           "running": {"response": rs.json, "row_after_5s": brief(row(tag, s))}}
    hh.cancel_ids([q, s])
    hh.wait_for_count(tag, "CANCELLED", 2, timeout=60)
    out["after_cancel"] = {"queued": brief(row(tag, q)), "running": brief(row(tag, s))}
    # replay of cancelled runs: the never-started one goes back to QUEUED, the sleeper runs again
    rr = R.post(REPLAY, {"externalIds": [q, s]})
    time.sleep(5)
    out["replay_cancelled"] = {"response_n": len(rr.json["ids"]), "queued_run": brief(row(tag, q)),
                               "sleep_run": brief(row(tag, s))}
    hh.cancel_ids([q, s])
    return out


@check
def replay_filter_mode():
    tag = hh.new_tag("rfilter")
    ids = hh.trigger("fail", 20, tag)
    hh.wait_for_count(tag, "FAILED", 20, timeout=60)
    r = R.post(REPLAY, {"filter": {"since": iso(T0), "statuses": ["FAILED"], "additionalMetadata": [f"itest:{tag}"]}})
    return {"status": r.status, "n_ids": len(r.json["ids"]), "ids_are_run_ids": sorted(r.json["ids"]) == sorted(ids),
            "elapsed_s": round(r.elapsed, 3)}


@check
def replay_caps_and_timing():
    tag = hh.new_tag("rcap")
    ids = hh.trigger("fail", 1100, tag)
    hh.wait_for_count(tag, "FAILED", 1100, timeout=180)
    r = R.post(REPLAY, {"filter": {"since": iso(T0), "statuses": ["FAILED"], "additionalMetadata": [f"itest:{tag}"]}})
    out = {"filter_replay_n_ids": len(r.json["ids"]), "filter_replay_elapsed_s": round(r.elapsed, 2)}
    # wait for those to fail again, then time an ID-mode replay of 1000 ids
    wait_until(lambda: hh.count_runs(tag, "FAILED") == 1100, 180, 1)
    time.sleep(2)
    r2 = R.post(REPLAY, {"externalIds": ids[:1000]})
    out["id_replay_1000"] = {"status": r2.status, "n_ids": len(r2.json["ids"]), "elapsed_s": round(r2.elapsed, 2)}
    wait_until(lambda: hh.count_runs(tag, "FAILED") == 1100, 180, 1)
    return out


@check
def list_filters():
    a, b = hh.new_tag("ma"), hh.new_tag("mb")
    start = utcnow() - timedelta(seconds=1)  # window holding only this check's runs
    hh.trigger_unserved(4, a, extra_meta={"grp": a})  # 4 runs in a, 3 in b: tells which pair wins
    hh.trigger("ok", 2, b, extra_meta={"grp": b, "other": "x"})
    hh.trigger("fail", 1, b, extra_meta={"grp": b})
    hh.wait_for_count(a, "QUEUED", 4, timeout=60)
    hh.wait_for_count(b, "COMPLETED", 2, timeout=60)
    hh.wait_for_count(b, "FAILED", 1, timeout=60)
    lst = lambda **q: len(R.get(RUNS, since=start, only_tasks=False, limit=500, **q).json["rows"])  # noqa: E731
    xn = lambda **q: len(xids(since=start, **q).json or [])  # noqa: E731
    total = xn()
    mixed = [f"grp:{a}", "other:x"]   # different keys: 4 runs match the first, 2 the second, none both
    same_key = [f"grp:{a}", f"grp:{b}"]  # OR would give 7; 4 = first pair kept, 3 = last pair kept
    two_in_one_run = [f"grp:{b}", "other:x"]  # both pairs on the same 2 runs
    return {
        "list_two_keys_default": lst(additional_metadata=mixed),
        "list_two_keys_OR": lst(additional_metadata=mixed, additional_metadata_operator="OR"),
        "list_two_keys_AND": lst(additional_metadata=mixed, additional_metadata_operator="AND"),
        "list_pairs_both_on_same_runs_AND": lst(additional_metadata=two_in_one_run, additional_metadata_operator="AND"),
        "external_ids_two_keys": xn(additional_metadata=mixed),
        "list_same_key_twice_default": lst(additional_metadata=same_key),
        "list_same_key_twice_AND": lst(additional_metadata=same_key, additional_metadata_operator="AND"),
        "external_ids_same_key_twice": xn(additional_metadata=same_key),
        "list_pair_without_colon_matches_all": lst(additional_metadata=["nocolon"]) == total,
        "list_bogus_status_matches_all": lst(statuses=["BOGUS"]) == total,
        "list_bogus_status_http": R.get(RUNS, since=start, only_tasks=False, statuses=["BOGUS"]).status,
        "external_ids_bogus_status_matches_all": xn(statuses=["BOGUS"]) == total,
        "list_lowercase_failed_in_b": lst(statuses=["failed"], additional_metadata=[f"grp:{b}"]),
        "list_FAILED_in_b": lst(statuses=["FAILED"], additional_metadata=[f"grp:{b}"]),
        "list_value_with_colon": lst(additional_metadata=[f"grp:{a}:extra"]),
        "external_ids_missing_since": [xids().status, xids().raw.decode()[:100]],
        "total_runs_in_window": total,
    }


@check
def replay_queued_wedges_queue():
    """Replay of a QUEUED (not yet started) run on a served queue: the run never starts afterwards."""
    slots = int(os.environ.get("ITEST_SLOTS", "100"))
    s, q = hh.new_tag("sat"), hh.new_tag("behind")
    sleepers = hh.trigger("sleep", slots, s, sleep_s=120)
    hh.wait_for_count(s, "RUNNING", slots, timeout=120)
    behind = hh.trigger("ok", 3, q)
    hh.wait_for_count(q, "QUEUED", 3, timeout=60)
    r = R.post(REPLAY, {"externalIds": behind[:2]})  # replay 2 of the 3 queued runs once
    time.sleep(2)
    after_replay = [brief(row(q, i)) for i in behind]
    hh.cancel_ids(sleepers)  # free the slots: all 3 should now run
    dt, _ = wait_until(lambda: hh.count_runs(q, "COMPLETED") == 3, 45, 0.5)
    out = {"replay_response_n": len(r.json["ids"]), "rows_after_replay": after_replay,
           "all_completed_after_slots_freed_s": dt,
           "rows_45s_after_slots_freed": [brief(row(q, i)) for i in behind],
           "engine_log_errors": open(os.environ["HATCHET_RUN_DIR"] + "/logs/engine.log").read()
                                .count("ON CONFLICT DO UPDATE command cannot affect row a second time")}
    hh.cancel_ids(behind)
    return out


@check
def list_pagination():
    tag = hh.new_tag("page")
    hh.trigger_unserved(120, tag)
    hh.wait_for_count(tag, "QUEUED", 120, timeout=60)
    until = utcnow()
    pages = []
    for off in (0, 50, 100, 150):
        r = R.get(RUNS, since=T0, until=until, only_tasks=False, additional_metadata=[f"itest:{tag}"], limit=50, offset=off)
        pages.append({"offset": off, "rows": len(r.json["rows"]), "pagination": r.json["pagination"]})
    odd = R.get(RUNS, since=T0, only_tasks=False, additional_metadata=[f"itest:{tag}"], limit=50, offset=25).json["pagination"]
    z = R.get(RUNS, since=T0, only_tasks=False, limit=0)
    neg = R.get(RUNS, since=T0, only_tasks=False, limit=-1)
    nos = R.get(RUNS, only_tasks=False, additional_metadata=[f"itest:{tag}"])
    noonly = R.get(RUNS, since=T0)
    empty = R.get(RUNS, since=T0, only_tasks=False, additional_metadata=["itest:none"]).json
    # ordering: newest first, deterministic?
    ids1 = [x["metadata"]["id"] for x in rows(tag)]
    ids2 = [x["metadata"]["id"] for x in rows(tag)]
    created = [x["createdAt"] for x in rows(tag)]
    return {"pages": pages, "offset_25_limit_50": odd, "limit_0": [z.status, z.json], "limit_-1": [neg.status, neg.json],
            "missing_since": [nos.status, nos.json], "missing_only_tasks": [noonly.status, noonly.json],
            "empty": empty, "order_stable": ids1 == ids2, "newest_first": created == sorted(created, reverse=True)}


@check
def scheduled_basics():
    tag = hh.new_tag("sched")
    far = utcnow() + timedelta(days=2)
    c = R.post("/api/v1/tenants/{tenant}/workflows/itest-task/scheduled",
               {"input": {"mode": "ok"}, "additionalMetadata": {"itest": tag}, "triggerAt": iso(far)})
    sid = c.json["metadata"]["id"]
    g = R.get(f"{SCHED}/{sid}")
    p = R.patch(f"{SCHED}/{sid}", {"triggerAt": iso(far + timedelta(hours=1))})
    off = R.post("/api/v1/tenants/{tenant}/workflows/itest-task/scheduled",
                 {"input": {}, "additionalMetadata": {"itest": tag}, "triggerAt": "2030-01-01T12:00:00+02:00"})
    unknown_wf = R.post("/api/v1/tenants/{tenant}/workflows/no-such-workflow/scheduled",
                        {"input": {}, "additionalMetadata": {}, "triggerAt": iso(far)})
    missing_meta = R.post("/api/v1/tenants/{tenant}/workflows/itest-task/scheduled",
                          {"input": {}, "triggerAt": iso(far)})
    d = R.delete(f"{SCHED}/{sid}")
    d2 = R.delete(f"{SCHED}/{sid}")
    g404 = R.get(f"{SCHED}/{uuid.uuid4()}")
    gbad = R.get(f"{SCHED}/not-a-uuid")
    p404 = R.patch(f"{SCHED}/{uuid.uuid4()}", {"triggerAt": iso(far)})
    badmeta = R.get(SCHED, additionalMetadata=["a:b:c"])
    R.delete(f"{SCHED}/{off.json['metadata']['id']}")
    return {
        "create": {"status": c.status, "method": c.json.get("method"), "keys": sorted(c.json.keys()),
                   "triggerAt": c.json.get("triggerAt"), "sent": iso(far),
                   "workflowRunCreatedAt": c.json.get("workflowRunCreatedAt"), "workflowRunName": c.json.get("workflowRunName")},
        "get": g.status, "patch": [p.status, p.json.get("triggerAt") if p.json else None],
        "offset_+02:00_12:00_read_back": off.json.get("triggerAt"),
        "create_unknown_workflow": [unknown_wf.status, unknown_wf.json],
        "create_missing_additionalMetadata": [missing_meta.status, missing_meta.json],
        "delete": [d.status, d.raw.decode()], "delete_again": [d2.status, d2.json],
        "get_unknown": [g404.status, g404.json], "get_bad_uuid": [gbad.status, gbad.json],
        "patch_unknown": [p404.status, p404.json],
        "list_metadata_two_colons": [badmeta.status, badmeta.json],
    }


@check
def scheduled_fire_deletes_row():
    tag = hh.new_tag("fire")
    soon = utcnow() + timedelta(seconds=3)
    c = R.post("/api/v1/tenants/{tenant}/workflows/itest-task/scheduled",
               {"input": {"mode": "ok"}, "additionalMetadata": {"itest": tag}, "triggerAt": iso(soon)})
    sid = c.json["metadata"]["id"]
    past = R.post("/api/v1/tenants/{tenant}/workflows/itest-task/scheduled",
                  {"input": {"mode": "ok"}, "additionalMetadata": {"itest": tag + "-past"},
                   "triggerAt": iso(utcnow() - timedelta(hours=1))})
    t = time.monotonic()
    dt_run, _ = wait_until(lambda: hh.count_runs(tag, "COMPLETED") == 1, 60, 0.25)
    fired_at = time.monotonic() - t
    g = R.get(f"{SCHED}/{sid}")
    lst = R.get(SCHED, additionalMetadata=[f"itest:{tag}"]).json
    dt_past, _ = wait_until(lambda: hh.count_runs(tag + "-past", "COMPLETED") == 1, 60, 0.25)
    run_meta = rows(tag)[0]["additionalMetadata"]
    d = R.delete(f"{SCHED}/{sid}")
    p = R.patch(f"{SCHED}/{sid}", {"triggerAt": iso(utcnow() + timedelta(days=1))})
    return {"run_completed_s_after_create": round(fired_at, 2), "trigger_was_s_after_create": 3,
            "get_after_fire": [g.status, g.json], "list_after_fire_rows": len(lst.get("rows") or []),
            "past_triggerAt_create_status": past.status, "past_triggerAt_run_completed_after_s": dt_past,
            "run_additionalMetadata": run_meta,
            "delete_after_fire": [d.status, d.json], "patch_after_fire": [p.status, p.json]}


@check
def scheduled_ticker_race():
    """Delete / reschedule API scheduled runs shortly before their triggerAt: do they still fire?"""
    tag = hh.new_tag("race")
    leads = [12, 8, 6, 4, 2, 1]  # seconds before triggerAt at which the change is made
    at = utcnow() + timedelta(seconds=16)
    mk = lambda kind, lead: R.post("/api/v1/tenants/{tenant}/workflows/itest-task/scheduled", {  # noqa: E731
        "input": {"mode": "ok"}, "additionalMetadata": {"itest": f"{tag}-{kind}-{lead}"}, "triggerAt": iso(at)}).json["metadata"]["id"]
    dels = {lead: mk("del", lead) for lead in leads}
    pats = {lead: mk("patch", lead) for lead in leads}
    results = {}
    for lead in leads:
        while utcnow() < at - timedelta(seconds=lead):
            time.sleep(0.02)
        d = R.delete(f"{SCHED}/{dels[lead]}")
        p = R.patch(f"{SCHED}/{pats[lead]}", {"triggerAt": iso(utcnow() + timedelta(days=1))})
        results[lead] = {"delete": d.status, "patch": p.status}
    time.sleep(15)
    for lead in leads:
        results[lead]["deleted_run_fired"] = hh.count_runs(f"{tag}-del-{lead}") > 0
        results[lead]["rescheduled_run_fired_at_old_time"] = hh.count_runs(f"{tag}-patch-{lead}") > 0
        g = R.get(f"{SCHED}/{pats[lead]}")
        results[lead]["rescheduled_row_still_listed"] = g.status == 200
    for lead in leads:
        R.delete(f"{SCHED}/{pats[lead]}")
    return {f"lead_{k}s": v for k, v in results.items()}


@check
def scheduled_code_defined():
    tag = hh.new_tag("code")
    sid = hh.insert_code_defined_scheduled("itest-task", utcnow() + timedelta(days=3), tag)
    g = R.get(f"{SCHED}/{sid}")
    d = R.delete(f"{SCHED}/{sid}")
    p = R.patch(f"{SCHED}/{sid}", {"triggerAt": iso(utcnow() + timedelta(days=4))})
    bd = R.post(f"{SCHED}/bulk-delete", {"scheduledWorkflowRunIds": [sid]})
    bu = R.post(f"{SCHED}/bulk-update", {"updates": [{"id": sid, "triggerAt": iso(utcnow() + timedelta(days=4))}]})
    bdf = R.post(f"{SCHED}/bulk-delete", {"filter": {"additionalMetadata": [f"itest:{tag}"]}})
    still = R.get(f"{SCHED}/{sid}")
    return {"get": [g.status, g.json.get("method") if g.json else None],
            "delete": [d.status, d.json], "patch": [p.status, p.json],
            "bulk_delete_ids": [bd.status, bd.json], "bulk_update": [bu.status, bu.json],
            "bulk_delete_filter": [bdf.status, bdf.json], "still_there": still.status, "id": sid}


@check
def scheduled_bulk():
    tag = hh.new_tag("sbulk")
    t = time.monotonic()
    ids = hh.create_scheduled_many(40, tag)
    create_s = time.monotonic() - t
    unknown = str(uuid.uuid4())
    pages = []
    for off in (0, 15, 30, 45):
        r = R.get(SCHED, additionalMetadata=[f"itest:{tag}"], limit=15, offset=off)
        pages.append({"offset": off, "rows": len(r.json.get("rows") or []), "pagination": r.json.get("pagination")})
    empty = R.get(SCHED, additionalMetadata=["itest:none"]).json
    bu = R.post(f"{SCHED}/bulk-update", {"updates": [{"id": i, "triggerAt": iso(utcnow() + timedelta(days=5))} for i in ids[:10]]
                                                     + [{"id": unknown, "triggerAt": iso(utcnow() + timedelta(days=5))}]})
    bu_empty = R.post(f"{SCHED}/bulk-update", {"updates": []})
    both = R.post(f"{SCHED}/bulk-delete", {"scheduledWorkflowRunIds": ids[:1], "filter": {"additionalMetadata": [f"itest:{tag}"]}})
    neither = R.post(f"{SCHED}/bulk-delete", {})
    bd = R.post(f"{SCHED}/bulk-delete", {"scheduledWorkflowRunIds": ids[:10] + [unknown]})
    bdf = R.post(f"{SCHED}/bulk-delete", {"filter": {"additionalMetadata": [f"itest:{tag}"]}})
    left = len(hh.list_scheduled(tag))
    # maxItems 500 is not enforced: 600 unknown ids
    big = R.post(f"{SCHED}/bulk-delete", {"scheduledWorkflowRunIds": [str(uuid.uuid4()) for _ in range(600)]})
    return {"create_40_concurrent_s": round(create_s, 2), "pages": pages, "empty_list": empty,
            "bulk_update": [bu.status, {"updatedIds": len(bu.json["updatedIds"]), "errors": bu.json["errors"]}],
            "bulk_update_empty": [bu_empty.status, bu_empty.json],
            "bulk_delete_ids_and_filter": [both.status, both.json], "bulk_delete_neither": [neither.status, neither.json],
            "bulk_delete_ids": [bd.status, {"deletedIds": len(bd.json["deletedIds"]), "errors": bd.json["errors"]}],
            "bulk_delete_filter": [bdf.status, {"deletedIds": len(bdf.json["deletedIds"]), "errors": bdf.json["errors"]}],
            "left_after": left,
            "bulk_delete_600_unknown": [big.status, {"deletedIds": len((big.json or {}).get("deletedIds") or []),
                                                     "errors": len((big.json or {}).get("errors") or [])}]}


@check
def crons():
    tag = hh.new_tag("cron")
    ids = hh.create_crons_many(3, tag)
    lst = hh.list_crons()
    code = [c for c in lst if c["workflowName"] == "itest-cron-code"]
    api = [c for c in lst if c["metadata"]["id"] in ids]
    g404 = R.get(f"{CRONS}/{uuid.uuid4()}")
    d404 = R.delete(f"{CRONS}/{uuid.uuid4()}")
    dbad = R.delete(f"{CRONS}/not-a-uuid")
    d = R.delete(f"{CRONS}/{ids[0]}")
    d2 = R.delete(f"{CRONS}/{ids[0]}")
    dup = R.post("/api/v1/tenants/{tenant}/workflows/itest-task/crons",
                 {"cronName": f"{tag}-1", "cronExpression": "0 4 1 1 *", "input": {}, "additionalMetadata": {}})
    out = {"code_defined": [{k: c.get(k) for k in ("name", "cron", "method", "enabled", "additionalMetadata")} for c in code],
           "api_created": [{k: c.get(k) for k in ("name", "cron", "method", "enabled")} for c in api],
           "get_unknown": [g404.status, g404.json], "delete_unknown": [d404.status, d404.json],
           "delete_bad_uuid": [dbad.status, dbad.json], "delete": [d.status, d.raw.decode()],
           "delete_again": [d2.status, d2.json], "create_duplicate_name": [dup.status, dup.json]}
    if code:
        cid = code[0]["metadata"]["id"]
        dc = R.delete(f"{CRONS}/{cid}")
        gone = not any(c["metadata"]["id"] == cid for c in hh.list_crons())
        # re-register the unchanged workflow (same checksum), as a worker restart would
        from itest_worker import itest_cron_code
        hh.hatchet._client.admin.put_workflow(itest_cron_code.to_proto())
        back = [c for c in hh.list_crons() if c["workflowName"] == "itest-cron-code"]
        out["delete_code_defined"] = {"status": dc.status, "gone_from_list": gone,
                                      "back_after_same_checksum_put_workflow": bool(back)}
    for i in ids[1:]:
        R.delete(f"{CRONS}/{i}")
    return out


@check
def auth_and_deprecated():
    tok = os.environ["HATCHET_CLIENT_TOKEN"]
    lower = hh.Rest(token="x")
    lower.token = tok
    req = {}
    import urllib.request
    for name, hdr in (("lowercase_bearer", f"bearer {tok}"), ("bad_token", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"), ("none", None)):
        rq = urllib.request.Request(hh.SERVER_URL + XIDS.replace("{tenant}", hh.TENANT) + "?since=" + iso(T0))
        if hdr:
            rq.add_header("Authorization", hdr)
        try:
            with urllib.request.urlopen(rq, timeout=10) as resp:
                req[name] = [resp.status, resp.read().decode()[:200]]
        except urllib.error.HTTPError as e:
            req[name] = [e.code, e.read().decode()[:200]]
    other_tenant = R.get(XIDS.replace("{tenant}", str(uuid.uuid4())), since=T0)
    dep1 = R.post("/api/v1/tenants/{tenant}/workflows/cancel", {"workflowRunIds": [str(uuid.uuid4())]})
    dep2 = R.post("/api/v1/tenants/{tenant}/workflow-runs/replay", {"workflowRunIds": [str(uuid.uuid4())]})
    return {**req, "other_tenant_path": [other_tenant.status, other_tenant.json],
            "deprecated_cancel": [dep1.status, dep1.json], "deprecated_replay": [dep2.status, dep2.json]}


@check
def big_counts():
    if not BIG:
        return "skipped (use --big)"
    tag = hh.new_tag("big")
    t = time.monotonic()
    ids = hh.trigger_unserved(21000, tag)
    trig = time.monotonic() - t
    lag = hh.wait_for_count(tag, "QUEUED", 21000, timeout=300, interval=1)
    t = time.monotonic()
    x = xids(since=T0, additional_metadata=[f"itest:{tag}"])
    x_s = time.monotonic() - t
    p = R.get(RUNS, since=T0, only_tasks=False, additional_metadata=[f"itest:{tag}"], limit=1000)
    p1 = R.get(RUNS, since=T0, only_tasks=False, additional_metadata=[f"itest:{tag}"], limit=1)
    t = time.monotonic()
    c = R.post(CANCEL, {"filter": {"since": iso(T0), "statuses": ["QUEUED"], "additionalMetadata": [f"itest:{tag}"]}})
    c_s = time.monotonic() - t
    n_ids = len((c.json or {}).get("ids") or [])
    if c.status == 200:
        dt, _ = wait_until(lambda: hh.count_runs(tag, "CANCELLED") >= n_ids, 300, 1)
    else:  # e.g. 500 after the 30 s budget: did part of it happen anyway?
        time.sleep(30)
        dt = None
    cancelled = hh.count_runs(tag, "CANCELLED")
    left = hh.count_runs(tag, "QUEUED")
    hh.cancel_ids(hh.external_ids(tag, ["QUEUED"]))
    return {"trigger_21000_s": round(trig, 2), "visible_after_s": round(lag, 2),
            "external_ids_n": len(x.json), "external_ids_s": round(x_s, 2), "external_ids_bytes": len(x.raw),
            "list_limit_1000": {"pagination": p.json["pagination"], "s": round(p.elapsed, 2)},
            "list_limit_1": {"pagination": p1.json["pagination"]},
            "cancel_filter": {"status": c.status, "body_if_error": None if c.status == 200 else c.json,
                              "n_ids": n_ids, "s": round(c_s, 2), "all_cancelled_after_s": dt,
                              "cancelled": cancelled, "queued_left": left}}


BIG = False
# the wedge check leaves stale queue items behind (engine logs an error every second): run it last
CHECKS.append(CHECKS.pop(CHECKS.index(replay_queued_wedges_queue)))


def main() -> None:
    global BIG
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    BIG = a.big
    only = set(filter(None, a.only.split(",")))
    results = {}
    for fn in CHECKS:
        if only and fn.__name__ not in only:
            continue
        t = time.monotonic()
        try:
            results[fn.__name__] = {"observed": fn(), "s": round(time.monotonic() - t, 1)}
        except Exception as e:  # keep going; report the failure
            results[fn.__name__] = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}
        print(f"# {fn.__name__}: {time.monotonic() - t:.1f}s", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
