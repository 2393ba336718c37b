"""Conformance of handinger-sim with the official Python SDK (handinger 0.18.0).

Every call goes through `handinger.Handinger` with `_strict_response_validation=True`, so the
SDK's pydantic models must accept every sim response as they are (not merely construct them).
Results are checked against the sim's own view (`/_sim/dump`, `/_sim/stats`) and against
docs/handinger-contract.md, retries included: the SDK's own retry loop must see the sim's 429s,
`retry-after-ms` and `x-should-retry` the way bulkops' client reads them. One sim per module;
each test uses its own workers.

The sim binary is $HANDINGER_SIM_BIN when set, otherwise built with `cargo build -p
handinger-sim` (see sim_fixture.sim_binary).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import handinger
import pytest
from handinger.types.workers.schedule_cancel_response import ScheduleCancelResponse
from handinger.types.workers.schedule_list_response import ScheduleListResponse
from handinger.types.workers.worker_schedule import (
    CronWorkerSchedule,
    DelayedWorkerSchedule,
    IntervalWorkerSchedule,
    ScheduledWorkerSchedule,
)
from sim_fixture import sim_binary, start_line

LIST_ROUTE = "GET /api/workers/{worker_id}/schedules"
MODEL_OF_TYPE = {
    "scheduled": ScheduledWorkerSchedule,
    "delayed": DelayedWorkerSchedule,
    "cron": CronWorkerSchedule,
    "interval": IntervalWorkerSchedule,
}


@dataclass
class HandingerSim:
    process: subprocess.Popen
    url: str
    api_key: str

    def control(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def seed(self, workers: list[str], per_worker: int, **extra: Any) -> None:
        self.control("/_sim/seed", {"worker_ids": workers, "per_worker": per_worker, **extra})

    def live(self, worker: str) -> list[dict[str, Any]]:
        return self.control("/_sim/dump")["workers"][worker]["schedules"]

    def requests(self, route: str) -> int:
        return int(self.control("/_sim/stats")["requests"].get(route, 0))

    def faults(self, **config: Any) -> None:
        self.control("/_sim/faults", config)


@pytest.fixture(scope="module")
def hsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandingerSim]:
    workdir: Path = tmp_path_factory.mktemp("handinger-sim")
    binary = sim_binary("handinger-sim", "HANDINGER_SIM_BIN")
    stderr_path = workdir / "handinger-sim.stderr"
    stderr_file = stderr_path.open("wb")
    process = subprocess.Popen(
        [str(binary), "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        cwd=workdir,
    )
    info = start_line(process, stderr_file, stderr_path, "handinger-sim")
    assert info["url"].startswith("http://127.0.0.1:"), info
    sim = HandingerSim(process=process, url=info["url"], api_key=info["api_key"])
    try:
        yield sim
    finally:
        process.terminate()
        process.wait(timeout=10)
        stderr_file.close()


def sdk(sim: HandingerSim, **options: Any) -> handinger.Handinger:
    """The official client, strict about every response, talking to the sim only."""
    return handinger.Handinger(
        api_key=options.pop("api_key", sim.api_key),
        base_url=sim.url,
        _strict_response_validation=True,
        **options,
    )


def test_list_returns_every_type_in_the_sdks_models(hsim: HandingerSim) -> None:
    hsim.seed(["conf-list"], 40)
    listed = sdk(hsim).workers.schedules.list("conf-list")
    assert isinstance(listed, ScheduleListResponse)
    assert listed.worker_id == "conf-list"
    assert len(listed.schedules) == 40
    for row in listed.schedules:
        assert isinstance(row, MODEL_OF_TYPE[row.type]), row
        assert row.next_run_at.tzinfo is not None
    assert [s.id for s in listed.schedules] == [s["id"] for s in hsim.live("conf-list")]
    assert {s.type for s in listed.schedules} == set(MODEL_OF_TYPE)


def test_thousands_on_one_worker_come_in_one_list(hsim: HandingerSim) -> None:
    hsim.seed(["conf-big"], 5000, types=["cron"])
    listed = sdk(hsim).workers.schedules.list("conf-big")
    assert len(listed.schedules) == 5000
    assert all(isinstance(s, CronWorkerSchedule) for s in listed.schedules)


def test_create_of_each_type_answers_the_sdks_model(hsim: HandingerSim) -> None:
    hsim.seed(["conf-create"], 0)
    client = sdk(hsim)
    at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    whens: list[Any] = [
        {"type": "scheduled", "date": at},
        {"type": "delayed", "delay_in_seconds": 90},
        {"type": "cron", "cron": "0 3 * * *"},
        {"type": "interval", "interval_seconds": 600},
    ]
    made = [
        client.workers.schedules.create("conf-create", input=f"job {n}", when=w, budget="high")
        for n, w in enumerate(whens)
    ]
    assert [type(m) for m in made] == list(MODEL_OF_TYPE.values())
    assert made[0].next_run_at == at
    assert made[1].delay_in_seconds == 90
    assert made[2].cron == "0 3 * * *"
    assert made[3].interval_seconds == 600
    assert all(m.budget == "high" for m in made)
    assert [m.id for m in made] == [s["id"] for s in hsim.live("conf-create")]
    default = client.workers.schedules.create(
        "conf-create", input="no budget", when={"type": "delayed", "delay_in_seconds": 5}
    )
    assert default.budget == "standard"


def test_cancel_answers_true_then_false_and_404_for_an_unknown_schedule(
    hsim: HandingerSim,
) -> None:
    hsim.seed(["conf-cancel"], 2)
    client = sdk(hsim)
    first = client.workers.schedules.list("conf-cancel").schedules[0]
    answer = client.workers.schedules.cancel(first.id, worker_id="conf-cancel")
    assert isinstance(answer, ScheduleCancelResponse) and answer.cancelled is True
    again = client.workers.schedules.cancel(first.id, worker_id="conf-cancel")
    assert again.cancelled is False
    with pytest.raises(handinger.NotFoundError):
        client.workers.schedules.cancel("sch_never_known", worker_id="conf-cancel")
    assert [s["id"] for s in hsim.live("conf-cancel")] != [first.id]
    assert len(hsim.live("conf-cancel")) == 1


def test_bad_input_and_a_wrong_key_are_the_sdks_errors(hsim: HandingerSim) -> None:
    hsim.seed(["conf-errors"], 0)
    with pytest.raises(handinger.BadRequestError):
        sdk(hsim).workers.schedules.create(
            "conf-errors", input="x", when={"type": "cron", "cron": "every day"}
        )
    with pytest.raises(handinger.AuthenticationError):
        sdk(hsim, api_key="hk_wrong").workers.schedules.list("conf-errors")
    with pytest.raises(handinger.NotFoundError):
        sdk(hsim).workers.schedules.list("conf-nobody")


def test_the_sdk_retries_a_429_twice_and_obeys_x_should_retry(hsim: HandingerSim) -> None:
    hsim.seed(["conf-retry"], 1)
    try:
        hsim.faults(rate_limited_rate=1.0, retry_after_ms=20)
        before = hsim.requests(LIST_ROUTE)
        with pytest.raises(handinger.RateLimitError):
            sdk(hsim).workers.schedules.list("conf-retry")
        assert hsim.requests(LIST_ROUTE) - before == 3, "one try and two retries"
        hsim.faults(rate_limited_rate=1.0, retry_after_ms=20, should_retry=False)
        before = hsim.requests(LIST_ROUTE)
        with pytest.raises(handinger.RateLimitError):
            sdk(hsim).workers.schedules.list("conf-retry")
        assert hsim.requests(LIST_ROUTE) - before == 1, "x-should-retry: false wins"
        hsim.faults(error_rate=1.0, should_retry=False)
        before = hsim.requests(LIST_ROUTE)
        with pytest.raises(handinger.InternalServerError):
            sdk(hsim).workers.schedules.list("conf-retry")
        assert hsim.requests(LIST_ROUTE) - before == 1
    finally:
        hsim.faults()
