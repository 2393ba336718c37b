"""Bad tokens, tenant mismatch and unknown workflows against the real Hatchet: each is exit 2 with
one line on stderr, no job in the store, and nothing changed on the server.

Every case runs a command that *would* change tagged rows (cancel 12 QUEUED runs, delete 4
scheduled runs, delete 3 crons); the last test runs the same cancel with the good token and sees it
work, so "nothing changed" is not vacuous.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
import pytest

import hatchet_helpers as hh
from conftest import Bulkops

QUEUED = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _with_claims(token: str, **changes: object) -> str:
    """The token with changed claims and its original header and signature (so no longer valid)."""
    header, _, sig = token.split(".")
    claims = {**_claims(token), **changes}
    return f"{header}.{_b64(json.dumps(claims).encode())}.{sig}"


def _with_signature(token: str) -> str:
    """The token with another, well-formed ES256 signature (64 bytes): the server rejects it."""
    header, payload, _ = token.split(".")
    return f"{header}.{payload}.{_b64(os.urandom(64))}"


@pytest.fixture(scope="module")
def fixture_rows(hatchet_env: dict[str, str]) -> dict:
    tag = hh.new_tag("auth")
    run_ids = hh.trigger_unserved(QUEUED, tag)
    hh.wait_for_count(tag, "QUEUED", QUEUED)
    sched = hh.create_scheduled_many(4, tag)
    crons = hh.create_crons_many(3, tag, workflow="itest-unserved")
    yield {"tag": tag, "runs": run_ids, "scheduled": sched, "crons": crons}
    hh.cancel_ids(run_ids)


def _token() -> str:
    return os.environ["HATCHET_CLIENT_TOKEN"]


def _other_tenant() -> str:
    return str(uuid.uuid4())


# (case id, env overrides, words the one stderr line must contain)
BAD_CONNECTIONS = [
    ("garbage-token", lambda: {"HATCHET_CLIENT_TOKEN": "not-a-token"}, ["not a Hatchet API token"]),
    ("truncated-jwt", lambda: {"HATCHET_CLIENT_TOKEN": _token().rsplit(".", 1)[0]}, ["not a Hatchet API token"]),
    ("expired-token",
     lambda: {"HATCHET_CLIENT_TOKEN": _with_claims(_token(), exp=int(time.time()) - 3600)}, ["expired"]),
    ("tenant-id-mismatch", lambda: {"HATCHET_CLIENT_TENANT_ID": _other_tenant()},
     ["HATCHET_CLIENT_TENANT_ID", "tenant"]),
    # A validly shaped token whose signature the server does not accept: 403 from the real server.
    ("server-rejects-403", lambda: {"HATCHET_CLIENT_TOKEN": _with_signature(_token())},
     ["rejected the token", "403"]),
    # The claims say another tenant (forged `sub`), no HATCHET_CLIENT_TENANT_ID: the real server's
    # resource populator answers 404 for a tenant it does not know before it checks the token
    # (docs/hatchet-behaviour.md D9).
    ("foreign-tenant-token",
     lambda: {"HATCHET_CLIENT_TOKEN": _with_claims(_token(), sub=_other_tenant()), "HATCHET_CLIENT_TENANT_ID": None},
     ["404", "token"]),
]


def _commands(rows: dict) -> dict[str, list[str]]:
    tag = rows["tag"]
    return {
        "runs-cancel": ["runs", "cancel", "--since", "1h", "--metadata", f"itest={tag}", "--yes"],
        "scheduled-delete": ["scheduled", "delete", "--metadata", f"itest={tag}", "--yes"],
        "crons-delete": ["crons", "delete", "--workflow", "itest-unserved", "--metadata", f"itest={tag}", "--yes"],
    }


def _assert_bad_input(bulkops: Bulkops, args: list[str], env: dict, words: list[str]) -> None:
    r = bulkops.run(*args, env=env, timeout=120)
    assert r.returncode == 2, f"expected exit 2\n{r.describe()}"
    assert len(r.stderr_lines) == 1, f"expected exactly one line on stderr\n{r.describe()}"
    # The suite runs bulkops with `-o json`, so the error is one JSON object naming its exit code.
    error = json.loads(r.stderr_lines[0])
    assert error["exit_code"] == 2 and error["cause"], error
    line = error["error"]
    for w in words:
        assert w.lower() in line.lower(), f"{w!r} not in {line!r}"
    assert r.stdout.strip() == "", f"nothing belongs on stdout\n{r.describe()}"
    token = env.get("HATCHET_CLIENT_TOKEN") or _token()
    assert token not in r.stderr and _token() not in r.stderr, "the token leaked into the error"
    assert bulkops.jobs() == [], "a job was created although the input was refused"


def _assert_untouched(rows: dict) -> None:
    tag = rows["tag"]
    # Cancel flips within ~1 s on this server; give a stray request time to show.
    time.sleep(2)
    assert sorted(hh.external_ids(tag, ["QUEUED"])) == sorted(rows["runs"])
    assert hh.external_ids(tag, ["CANCELLED"]) == []
    assert sorted(s["metadata"]["id"] for s in hh.list_scheduled(tag)) == sorted(rows["scheduled"])
    assert sorted(c["metadata"]["id"] for c in hh.list_crons(tag)) == sorted(rows["crons"])


@pytest.mark.parametrize("case", BAD_CONNECTIONS, ids=[c[0] for c in BAD_CONNECTIONS])
@pytest.mark.parametrize("command", ["runs-cancel", "scheduled-delete", "crons-delete"])
def test_bad_connection_is_exit_2_and_changes_nothing(bulkops: Bulkops, fixture_rows: dict, case, command):
    _, env, words = case
    _assert_bad_input(bulkops, _commands(fixture_rows)[command], env(), words)
    if command == "crons-delete":  # once per case is enough for the server-side check
        _assert_untouched(fixture_rows)


@pytest.mark.parametrize("workflow", ["itest-nope", "itest", "ITEST-UNSERVED"])
def test_unknown_workflow_is_exit_2(bulkops: Bulkops, fixture_rows: dict, workflow: str):
    """Names are matched exactly: a prefix ('itest' matches every itest-* workflow in the server's
    name search) or another case is an unknown workflow, not a wider selection."""
    tag = fixture_rows["tag"]
    for args in (["runs", "cancel", "--since", "1h", "--metadata", f"itest={tag}", "--workflow", workflow, "--yes"],
                 ["scheduled", "delete", "--metadata", f"itest={tag}", "--workflow", workflow, "--yes"],
                 ["crons", "delete", "--workflow", workflow, "--yes"]):
        _assert_bad_input(bulkops, args, {}, ["unknown workflow", f"'{workflow}'"])
    _assert_untouched(fixture_rows)


def test_control_the_same_cancel_with_the_good_token_works(bulkops: Bulkops, fixture_rows: dict):
    """Runs last in this module: the command the cases above were refused is a real mutation."""
    tag = fixture_rows["tag"]
    r = bulkops.ok(*_commands(fixture_rows)["runs-cancel"], "--workflow", "itest-unserved")
    assert r.counts["total"] == QUEUED and r.counts["done"] == QUEUED, r.describe()
    hh.wait_for_statuses(fixture_rows["runs"], "CANCELLED", tag=tag, timeout=60)
    # Scheduled rows and crons of the tag were not part of it.
    assert len(hh.list_scheduled(tag)) == 4
    assert len(hh.list_crons(tag)) == 3
    for s in fixture_rows["scheduled"]:
        assert hh.rest().delete(f"/api/v1/tenants/{{tenant}}/workflows/scheduled/{s}").status == 204
    for c in fixture_rows["crons"]:
        assert hh.rest().delete(f"/api/v1/tenants/{{tenant}}/workflows/crons/{c}").status == 204
