//! End-to-end checks of the simulator over HTTP: each test starts its own sim on 127.0.0.1:0.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hatchet_sim::{start, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const DELAY: Duration = Duration::from_millis(250);

struct Sim {
    url: String,
    token: String,
    tenant: String,
    http: reqwest::Client,
}

async fn spawn() -> Sim {
    let config = SimConfig {
        cancel_delay: DELAY,
        replay_delay: DELAY,
        ..SimConfig::default()
    };
    let sim = start(config).await.expect("sim starts");
    Sim {
        url: sim.url.clone(),
        token: sim.token.clone(),
        tenant: sim.tenant.to_string(),
        http: reqwest::Client::new(),
    }
}

impl Sim {
    async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let req = match body {
            Some(b) => self.http.post(format!("{}{path}", self.url)).json(&b),
            None => self.http.get(format!("{}{path}", self.url)),
        };
        req.send()
            .await
            .expect("control call")
            .json()
            .await
            .expect("control json")
    }

    async fn seed(&self, body: Value) -> Value {
        self.control("/_sim/seed", Some(body)).await
    }

    /// Calls the API with the sim's token; `{tenant}` in `path` is replaced.
    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.api_as(&self.token, method, path, body).await
    }

    async fn api_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{}", self.url, path.replace("{tenant}", &self.tenant));
        let mut req = self
            .http
            .request(method, url)
            .header("Authorization", format!("Bearer {token}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("api call");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.api(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.api(Method::POST, path, Some(body)).await
    }

    async fn dump_runs(&self) -> Vec<Value> {
        self.control("/_sim/dump", None).await["runs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Every run's id, in seeding order.
    async fn run_ids(&self) -> Vec<String> {
        self.dump_runs()
            .await
            .iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn status_of(&self, id: &str) -> String {
        let (_, v) = self
            .get(&format!("/api/v1/stable/workflow-runs/{id}/status"))
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Polls a run's status until it equals `want` (or a generous deadline passes).
    async fn wait_status(&self, id: &str, want: &str) -> String {
        for _ in 0..250 {
            let status = self.status_of(id).await;
            if status == want {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.status_of(id).await
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

const RUNS: &str = "/api/v1/stable/tenants/{tenant}/workflow-runs";
const CANCEL: &str = "/api/v1/stable/tenants/{tenant}/tasks/cancel";
const REPLAY: &str = "/api/v1/stable/tenants/{tenant}/tasks/replay";

#[tokio::test]
async fn since_is_strict_on_external_ids_and_inclusive_on_the_list() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 5, "created_from": "2030-01-01T00:00:00Z", "created_to": "2030-01-01T00:04:00Z"}))
        .await;
    let since = "2030-01-01T00:00:00Z";
    let (status, ext) = sim.get(&format!("{RUNS}/external-ids?since={since}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&ext).len(),
        4,
        "the run created exactly at `since` is excluded"
    );
    let (_, ext) = sim
        .get(&format!(
            "{RUNS}/external-ids?since=2029-12-31T23:59:59Z&until=2030-01-01T00:01:00Z"
        ))
        .await;
    assert_eq!(ids(&ext).len(), 2, "until is inclusive");
    let (_, list) = sim
        .get(&format!("{RUNS}?since={since}&only_tasks=false"))
        .await;
    assert_eq!(
        list["rows"].as_array().map(Vec::len),
        Some(5),
        "the list uses >="
    );
    let (status, err) = sim.get(&format!("{RUNS}/external-ids")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "since is required: {err}");
}

#[tokio::test]
async fn list_pagination_has_the_real_quirks() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 25, "status": "FAILED"})).await;
    let since = "2000-01-01T00:00:00Z";
    let (_, page) = sim
        .get(&format!(
            "{RUNS}?since={since}&only_tasks=false&limit=10&offset=20"
        ))
        .await;
    assert_eq!(page["rows"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        page["pagination"],
        json!({"current_page": 3, "next_page": 4, "num_pages": 3})
    );
    let rows = page["rows"].as_array().cloned().unwrap_or_default();
    let row = &rows[0];
    for field in [
        "metadata",
        "createdAt",
        "displayName",
        "input",
        "output",
        "numSpawnedChildren",
        "status",
        "taskExternalId",
        "taskId",
        "taskInsertedAt",
        "tenantId",
        "type",
        "workflowId",
        "workflowRunExternalId",
    ] {
        assert!(row.get(field).is_some(), "required field {field} missing");
    }
    // Newest first: the last page holds the oldest runs, in descending order.
    let times: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["createdAt"].as_str())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    let (status, body) = sim
        .get(&format!("{RUNS}?since={since}&only_tasks=false&limit=0"))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "Internal Server Error"})
        )
    );
    let (status, _) = sim
        .get(&format!("{RUNS}?since={since}&only_tasks=false&limit=-1"))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, bogus) = sim
        .get(&format!(
            "{RUNS}?since={since}&only_tasks=false&statuses=NOPE"
        ))
        .await;
    assert_eq!(
        bogus["rows"].as_array().map(Vec::len),
        Some(25),
        "unknown statuses widen to all"
    );

    sim.seed(json!({"runs": 20_050, "status": "QUEUED"})).await;
    let (_, page) = sim
        .get(&format!("{RUNS}?since={since}&only_tasks=false&limit=100"))
        .await;
    assert_eq!(
        page["pagination"]["num_pages"], 200,
        "the count is capped at 20,000"
    );
}

#[tokio::test]
async fn cancel_echoes_unknown_ids_and_flips_later() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 2, "status": "QUEUED", "workflow": "q"}))
        .await;
    sim.seed(json!({"runs": 1, "status": "COMPLETED", "workflow": "done"}))
        .await;
    let runs = sim.dump_runs().await;
    let queued: Vec<String> = runs
        .iter()
        .filter(|r| r["workflow"] == "q")
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let done = runs
        .iter()
        .find(|r| r["workflow"] == "done")
        .and_then(|r| r["id"].as_str())
        .unwrap_or_default()
        .to_string();
    let unknown = "00000000-0000-4000-8000-000000000001";
    let request = vec![queued[0].clone(), done.clone(), unknown.to_string()];
    let (status, body) = sim.post(CANCEL, json!({"externalIds": request})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&body["ids"]),
        request,
        "ids echo the request, unknown included"
    );
    assert_eq!(
        sim.status_of(&queued[0]).await,
        "QUEUED",
        "cancel is asynchronous"
    );
    assert_eq!(sim.wait_status(&queued[0], "CANCELLED").await, "CANCELLED");
    assert_eq!(
        sim.status_of(&done).await,
        "COMPLETED",
        "finished runs are unchanged"
    );
    assert_eq!(
        sim.status_of(&queued[1]).await,
        "QUEUED",
        "runs not named are untouched"
    );

    sim.post(CANCEL, json!({"externalIds": [queued[0].clone()]}))
        .await;
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(
        stats["max_cancels_per_run"], 2,
        "every accepted cancel is counted"
    );
    let requests = sim.control("/_sim/requests", None).await;
    assert_eq!(requests["mutating_requests"], 2, "{requests}");
    assert_eq!(requests["mutating_requests"], stats["mutating_requests"]);
}

#[tokio::test]
async fn replay_skips_active_runs_and_counts_replays() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 1, "status": "FAILED", "workflow": "f"}))
        .await;
    sim.seed(json!({"runs": 1, "status": "RUNNING", "workflow": "r"}))
        .await;
    sim.seed(json!({"runs": 1, "status": "CANCELLED", "workflow": "dag", "dag_tasks": 3}))
        .await;
    let runs = sim.dump_runs().await;
    let by_wf = |name: &str| {
        runs.iter()
            .find(|r| r["workflow"] == name)
            .cloned()
            .unwrap_or_default()
    };
    let (failed, running, dag) = (by_wf("f"), by_wf("r"), by_wf("dag"));
    let id = |r: &Value| r["id"].as_str().unwrap_or_default().to_string();

    let request = json!({"externalIds": [id(&failed), id(&running), id(&dag), "00000000-0000-4000-8000-000000000002"]});
    let (status, body) = sim.post(REPLAY, request).await;
    assert_eq!(status, StatusCode::OK);
    let mut expected = vec![id(&failed), id(&running)];
    expected.extend(ids(&dag["task_ids"]));
    assert_eq!(
        ids(&body["ids"]),
        expected,
        "task ids, DAG expanded, unknown left out"
    );

    // A second replay while the first is pending is skipped.
    sim.post(REPLAY, json!({"externalIds": [id(&failed)]}))
        .await;
    let runs = sim.dump_runs().await;
    let replays = |name: &str| {
        runs.iter()
            .find(|r| r["workflow"] == name)
            .map(|r| r["replays"].clone())
    };
    assert_eq!(replays("f"), Some(json!(1)));
    assert_eq!(
        replays("r"),
        Some(json!(0)),
        "an active run is not replayed"
    );
    assert_eq!(replays("dag"), Some(json!(1)));

    assert_eq!(
        sim.wait_status(&id(&failed), "COMPLETED").await,
        "COMPLETED"
    );
    // Once finished, a second (erroneous) replay is applied and shows up in the counters.
    sim.post(REPLAY, json!({"externalIds": [id(&failed)]}))
        .await;
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["max_replays_per_run"], 2);
    assert_eq!(stats["replayed_runs"], 2);
    let (_, list) = sim
        .get(&format!(
            "{RUNS}?since=2000-01-01T00:00:00Z&only_tasks=false&workflow_ids={}",
            failed_workflow_id(&sim, "f").await
        ))
        .await;
    assert_eq!(list["rows"][0]["retryCount"], 2);
}

#[tokio::test]
async fn replaying_a_queued_run_wedges_it_for_good() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 2, "status": "QUEUED", "workflow": "q"}))
        .await;
    sim.seed(json!({"runs": 1, "status": "RUNNING", "workflow": "r"}))
        .await;
    let runs = sim.dump_runs().await;
    let all: Vec<Value> = runs.iter().map(|r| r["id"].clone()).collect();
    let (status, body) = sim.post(REPLAY, json!({"externalIds": all})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body["ids"]).len(), 3, "every id is echoed");
    // Long past the replay's QUEUED and COMPLETED steps.
    tokio::time::sleep(DELAY * 4).await;
    let by_wf = |runs: &[Value], wf: &str| -> Vec<(Value, Value, Value, Value)> {
        runs.iter()
            .filter(|r| r["workflow"] == wf)
            .map(|r| {
                (
                    r["status"].clone(),
                    r["replays"].clone(),
                    r["retry_count"].clone(),
                    r["wedged"].clone(),
                )
            })
            .collect()
    };
    let runs = sim.dump_runs().await;
    let wedged = (json!("QUEUED"), json!(1), json!(1), json!(true));
    assert_eq!(by_wf(&runs, "q"), vec![wedged.clone(), wedged]);
    assert_eq!(
        by_wf(&runs, "r"),
        vec![(json!("RUNNING"), json!(0), json!(0), json!(false))],
        "a RUNNING run is skipped"
    );
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["wedged_runs"], 2);
    assert_eq!(stats["replayed_runs"], 2);
}

#[tokio::test]
async fn replay_drop_rate_loses_a_share_of_each_request_silently() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 50, "status": "FAILED", "workflow": "f"}))
        .await;
    let refused = sim
        .http
        .post(format!("{}/_sim/faults", sim.url))
        .json(&json!({"replay_drop_rate": 1.5}))
        .send()
        .await
        .expect("call");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    sim.control("/_sim/faults", Some(json!({"replay_drop_rate": 0.3})))
        .await;
    let all = sim.run_ids().await;
    let (status, body) = sim.post(REPLAY, json!({"externalIds": all})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body["ids"]), all, "200 with every id all the same");
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(
        (&stats["replayed_runs"], &stats["dropped_replays"]),
        (&json!(35), &json!(15)),
        "30% of 50"
    );
    let dropped: Vec<String> = sim
        .dump_runs()
        .await
        .iter()
        .filter(|r| r["replays"] == 0)
        .map(|r| {
            assert_eq!(
                (&r["retry_count"], &r["status"]),
                (&json!(0), &json!("FAILED"))
            );
            r["id"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(dropped.len(), 15);
    // 30% of 3 rounds down to nothing: a small request loses nothing.
    sim.post(REPLAY, json!({"externalIds": dropped[..3]})).await;
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["replayed_runs"], 38);
    assert_eq!(stats["max_replays_per_run"], 1);
}

#[tokio::test]
async fn replay_batch_tasks_loses_every_batch_after_the_first() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 40, "status": "FAILED", "workflow": "dag", "dag_tasks": 3}))
        .await;
    sim.control("/_sim/faults", Some(json!({"replay_batch_tasks": 100})))
        .await;
    let all = sim.run_ids().await;
    let (status, body) = sim.post(REPLAY, json!({"externalIds": all})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body["ids"]).len(), 120, "every task id all the same");
    assert_eq!(
        sim.control("/_sim/stats", None).await["replay_request_tasks"],
        json!([120])
    );
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(
        (&stats["replayed_runs"], &stats["dropped_replays"]),
        (&json!(33), &json!(7)),
        "whole runs up to 100 tasks, then nothing"
    );
    let replayed: Vec<Value> = sim
        .dump_runs()
        .await
        .iter()
        .map(|r| r["replays"].clone())
        .collect();
    assert_eq!(replayed[..33], vec![json!(1); 33], "request order");
}

#[tokio::test]
async fn replay_apply_ms_applies_late_and_loses_a_request_that_meets_the_busy_lock() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 30, "status": "FAILED", "workflow": "f"}))
        .await;
    sim.control("/_sim/faults", Some(json!({"replay_apply_ms": 400})))
        .await;
    let all = sim.run_ids().await;
    let retries = |runs: &[Value]| -> Vec<i64> {
        runs.iter()
            .map(|r| r["retry_count"].as_i64().unwrap_or(-1))
            .collect()
    };
    let (status, _) = sim.post(REPLAY, json!({"externalIds": all[..10]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        retries(&sim.dump_runs().await[..10]),
        vec![0; 10],
        "not applied yet"
    );
    // Sent while the first is being applied: 200 with every id, and lost.
    let (status, body) = sim.post(REPLAY, json!({"externalIds": all[10..20]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body["ids"]).len(), 10);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let runs = sim.dump_runs().await;
    assert_eq!(
        retries(&runs[..10]),
        vec![1; 10],
        "applied once the time is up"
    );
    assert_eq!(retries(&runs[10..20]), vec![0; 10], "met the busy lock");
    // Once the lock is free, a request is applied again.
    sim.post(REPLAY, json!({"externalIds": all[20..]})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(
        (&stats["replayed_runs"], &stats["dropped_replays"]),
        (&json!(20), &json!(10))
    );
    assert_eq!(stats["max_replays_per_run"], 1);
}

#[tokio::test]
async fn cancel_apply_rate_applies_cancels_in_order_at_that_rate_and_the_lag_rises_with_the_load() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 1_000, "status": "QUEUED", "workflow": "q"}))
        .await;
    let ids = sim.run_ids().await;
    sim.control("/_sim/faults", Some(json!({"cancel_apply_rate": 1_000})))
        .await;
    let started = std::time::Instant::now();
    // Two requests of 500: the server answers both at once and takes about a second to apply
    // them, the first request's runs first.
    let (first, second) = ids.split_at(500);
    let (a, _) = sim.post(CANCEL, json!({"externalIds": first})).await;
    let (b, _) = sim.post(CANCEL, json!({"externalIds": second})).await;
    assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "answered at once"
    );
    let stats = sim.control("/_sim/stats", None).await;
    assert!(stats["cancel_backlog"].as_u64().unwrap() > 500, "{stats}");
    assert_eq!(sim.wait_status(&first[499], "CANCELLED").await, "CANCELLED");
    assert_eq!(sim.status_of(&second[499]).await, "QUEUED", "in order");
    assert_eq!(
        sim.wait_status(&second[499], "CANCELLED").await,
        "CANCELLED"
    );
    let took = started.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(2_500)).contains(&took),
        "{took:?}"
    );
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["cancel_backlog"], 0);
    assert_eq!(stats["cancel_backlog_max"], 1_000);
    let lag = stats["cancel_apply_lag_max_ms"].as_u64().unwrap();
    // The last run waited for the 999 before it (the `--cancel-delay-ms` of 250 included).
    assert!((900..2_500).contains(&lag), "{stats}");
    assert_eq!(stats["runs_by_status"]["CANCELLED"], 1_000);
}

#[tokio::test]
async fn latency_rises_with_the_requests_in_flight_beyond_the_knee() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 1, "status": "FAILED", "workflow": "f"}))
        .await;
    let status = format!(
        "/api/v1/stable/workflow-runs/{}/status",
        sim.run_ids().await[0]
    );
    sim.control(
        "/_sim/faults",
        Some(json!({"latency_ms": 50, "latency_knee": 2, "latency_per_request_ms": 200})),
    )
    .await;
    assert_eq!(sim.control("/_sim/faults", None).await["latency_knee"], 2);
    let alone = std::time::Instant::now();
    sim.get(&status).await;
    assert!(
        alone.elapsed() < Duration::from_millis(200),
        "one request is below the knee: {:?}",
        alone.elapsed()
    );
    let started = std::time::Instant::now();
    let six = tokio::join!(
        sim.get(&status),
        sim.get(&status),
        sim.get(&status),
        sim.get(&status),
        sim.get(&status),
        sim.get(&status)
    );
    for (status, _) in [six.0, six.1, six.2, six.3, six.4, six.5] {
        assert_eq!(status, StatusCode::OK);
    }
    // The last of six to arrive (within the 50 ms the first takes) is 4 beyond the knee.
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["max_in_flight"], 6);
    assert_eq!(stats["requests_above_knee"], 4);
}

#[tokio::test]
async fn a_dag_row_shows_its_latest_start_as_created_at() {
    let sim = spawn().await;
    let (from, to) = ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z");
    sim.seed(json!({"runs": 2, "status": "FAILED", "workflow": "dag", "dag_tasks": 3, "created_from": from, "created_to": to}))
        .await;
    sim.seed(json!({"runs": 2, "status": "FAILED", "workflow": "task", "created_from": from, "created_to": to}))
        .await;
    let (_, list) = sim
        .get(&format!(
            "{RUNS}?since=2000-01-01T00:00:00Z&only_tasks=false"
        ))
        .await;
    let rows = list["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 4);
    let time = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default()).expect("a time")
    };
    for row in &rows {
        let (created, shown) = (time(&row["metadata"]["createdAt"]), time(&row["createdAt"]));
        if row["type"] == "DAG" {
            assert!(shown > created, "a DAG row's createdAt is its start: {row}");
        } else {
            assert_eq!(shown, created, "{row}");
        }
        let id = row["metadata"]["id"].as_str().unwrap_or_default();
        let (_, details) = sim.get(&format!("/api/v1/stable/workflow-runs/{id}")).await;
        assert_eq!(
            details["run"]["metadata"]["createdAt"],
            row["metadata"]["createdAt"]
        );
        assert!(time(&details["run"]["createdAt"]) > created, "{details}");
        let tasks = details["tasks"].as_array().cloned().unwrap_or_default();
        assert!(!tasks.is_empty());
        for task in tasks {
            assert_eq!(task["createdAt"], "0001-01-01T00:00:00Z");
        }
    }
    // The window filters on the creation time, not on what `createdAt` shows.
    let (_, exact) = sim
        .get(&format!("{RUNS}?since={from}&until={to}&only_tasks=false"))
        .await;
    assert_eq!(exact["rows"].as_array().map(Vec::len), Some(4));
}

async fn failed_workflow_id(sim: &Sim, name: &str) -> String {
    let (_, list) = sim
        .get(&format!("/api/v1/tenants/{{tenant}}/workflows?name={name}"))
        .await;
    let rows = list["rows"].as_array().cloned().unwrap_or_default();
    rows.iter()
        .find(|w| w["name"] == name)
        .and_then(|w| w["metadata"]["id"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn cancel_and_replay_mode_errors() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 3, "status": "QUEUED", "metadata": {"team": "a"}}))
        .await;
    let id = sim.dump_runs().await[0]["id"].clone();
    let filter = json!({"since": "2000-01-01T00:00:00Z"});
    for path in [CANCEL, REPLAY] {
        let (status, body) = sim
            .post(
                path,
                json!({"externalIds": [id.clone()], "filter": filter.clone()}),
            )
            .await;
        assert_eq!(
            (status, body),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"message": "Internal Server Error"})
            )
        );
        let (status, body) = sim.post(path, json!({})).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"ids": []})));
        let bad =
            json!({"filter": {"since": "2000-01-01T00:00:00Z", "additionalMetadata": ["nocolon"]}});
        assert_eq!(
            sim.post(path, bad).await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(
        stats["max_cancels_per_run"], 0,
        "rejected requests change nothing"
    );
    // Filter mode selects by metadata and echoes the matched run ids.
    let (_, body) = sim
        .post(
            CANCEL,
            json!({"filter": {"since": "2000-01-01T00:00:00Z", "additionalMetadata": ["team:a"]}}),
        )
        .await;
    assert_eq!(ids(&body["ids"]).len(), 3);
}

const SCHEDULED: &str = "/api/v1/tenants/{tenant}/workflows/scheduled";

#[tokio::test]
async fn bulk_delete_reports_code_defined_rows_per_item() {
    let sim = spawn().await;
    sim.seed(
        json!({"scheduled": 4, "workflow": "s", "code_defined_every": 2, "metadata": {"env": "x"}}),
    )
    .await;
    let dump = sim.control("/_sim/dump", None).await;
    let rows = dump["scheduled"].as_array().cloned().unwrap_or_default();
    let all: Vec<Value> = rows.iter().map(|r| r["metadata"]["id"].clone()).collect();
    let code_defined: Vec<Value> = rows
        .iter()
        .filter(|r| r["method"] == "DEFAULT")
        .map(|r| r["metadata"]["id"].clone())
        .collect();
    assert_eq!(code_defined.len(), 2);

    let (status, body) = sim
        .post(
            &format!("{SCHEDULED}/bulk-delete"),
            json!({"scheduledWorkflowRunIds": all}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["deletedIds"].as_array().map(Vec::len), Some(2));
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 2);
    for e in &errors {
        assert_eq!(e["error"], "Failed to delete scheduled workflow.");
        assert!(code_defined.contains(&e["id"]));
    }
    assert_eq!(
        sim.control("/_sim/stats", None).await["scheduled"],
        2,
        "code-defined rows stay"
    );

    let (status, body) = sim
        .post(
            &format!("{SCHEDULED}/bulk-delete"),
            json!({"filter": {"additionalMetadata": ["env:x"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["deletedIds"], json!([]));
    assert_eq!(
        body["errors"][0]["error"],
        "Cannot delete scheduled run created via code definition."
    );

    let both = json!({"scheduledWorkflowRunIds": [code_defined[0].clone()], "filter": {}});
    let (status, body) = sim.post(&format!("{SCHEDULED}/bulk-delete"), both).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["description"],
        "Provide either scheduledWorkflowRunIds or filter, not both."
    );
    let (status, _) = sim
        .post(&format!("{SCHEDULED}/bulk-delete"), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = sim
        .api(
            Method::DELETE,
            &format!(
                "{SCHEDULED}/{}",
                code_defined[0].as_str().unwrap_or_default()
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"description": "Cannot delete scheduled run created via code definition."})
    );
}

#[tokio::test]
async fn scheduled_list_pagination_and_metadata_validation() {
    let sim = spawn().await;
    sim.seed(json!({"scheduled": 5, "workflow": "s"})).await;
    let (_, page) = sim.get(&format!("{SCHEDULED}?limit=2&offset=4")).await;
    assert_eq!(
        page["pagination"],
        json!({"current_page": 3, "next_page": 3, "num_pages": 3})
    );
    let (_, page) = sim
        .get(&format!(
            "{SCHEDULED}?limit=2&workflowId=00000000-0000-4000-8000-000000000003"
        ))
        .await;
    assert_eq!(
        page["pagination"],
        json!({"current_page": 1, "next_page": 2, "num_pages": 0})
    );
    let (status, body) = sim
        .get(&format!("{SCHEDULED}?additionalMetadata=a:b:c"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errors"][0]["description"],
        "Additional metadata filters must be in the format key:value."
    );
    assert_eq!(
        sim.get(&format!("{SCHEDULED}?orderByField=name")).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let (_, asc) = sim.get(&format!("{SCHEDULED}?orderByDirection=ASC")).await;
    let times: Vec<&str> = asc["rows"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["triggerAt"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "ascending by triggerAt: {times:?}"
    );
}

#[tokio::test]
async fn tokens_for_other_tenants_and_garbage_get_403_and_unknown_tenants_404() {
    let sim = spawn().await;
    let workflows = "/api/v1/tenants/{tenant}/workflows";
    assert_eq!(sim.get(workflows).await.0, StatusCode::OK);
    let forbidden = json!({"message": "Please provide valid credentials"});

    // Same signature, `sub` swapped for another tenant.
    let parts: Vec<&str> = sim.token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default())
            .unwrap_or_default();
    let other = "11111111-1111-4111-8111-111111111111";
    payload["sub"] = json!(other);
    let foreign = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(
        sim.api_as(&foreign, Method::GET, workflows, None).await,
        (StatusCode::FORBIDDEN, forbidden.clone())
    );
    // A path naming a tenant the sim does not have is 404 whatever the token: Hatchet looks the
    // tenant up before it checks the token (docs/hatchet-behaviour.md D15).
    let own_path = format!("/api/v1/tenants/{other}/workflows");
    let not_found = (StatusCode::NOT_FOUND, json!({"message": "not found"}));
    assert_eq!(
        sim.api_as(&foreign, Method::GET, &own_path, None).await,
        not_found
    );
    assert_eq!(sim.get(&own_path).await, not_found);
    assert_eq!(
        sim.api_as("eyJnot.a.token", Method::GET, workflows, None)
            .await,
        (StatusCode::FORBIDDEN, forbidden.clone())
    );

    let resp = sim
        .http
        .get(format!(
            "{}/api/v1/tenants/{}/workflows",
            sim.url, sim.tenant
        ))
        .header("Authorization", format!("bearer {}", sim.token))
        .send()
        .await
        .expect("call");
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "`Bearer` is case-sensitive"
    );
    let ready = sim
        .http
        .get(format!("{}/api/ready", sim.url))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), StatusCode::OK, "readiness needs no token");
}

#[tokio::test]
async fn faults_fail_requests_without_applying_them() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 1, "status": "QUEUED"})).await;
    let id = sim.dump_runs().await[0]["id"].clone();
    sim.control("/_sim/faults", Some(json!({"error_rate": 1.0})))
        .await;
    for _ in 0..4 {
        let (status, _) = sim.post(CANCEL, json!({"externalIds": [id.clone()]})).await;
        assert!(status.is_server_error(), "got {status}");
    }
    sim.control(
        "/_sim/faults",
        Some(json!({"rate_limited_rate": 1.0, "retry_after_s": 7})),
    )
    .await;
    let resp = sim
        .http
        .post(format!(
            "{}/api/v1/stable/tenants/{}/tasks/cancel",
            sim.url, sim.tenant
        ))
        .header("Authorization", format!("Bearer {}", sim.token))
        .json(&json!({"externalIds": [id.clone()]}))
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(resp.text().await.unwrap_or_default(), "null");
    sim.control("/_sim/faults", Some(json!({"drop_rate": 1.0})))
        .await;
    let dropped = sim
        .http
        .get(format!(
            "{}/api/v1/tenants/{}/workflows",
            sim.url, sim.tenant
        ))
        .header("Authorization", format!("Bearer {}", sim.token))
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "the connection is dropped without a response"
    );
    sim.control("/_sim/faults", Some(json!({}))).await;

    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(
        stats["max_cancels_per_run"], 0,
        "faulted-before requests do not mutate"
    );
    assert_eq!(
        stats["mutating_requests"], 5,
        "faulted requests are still counted"
    );
}

#[tokio::test]
async fn bulk_partial_failure_applies_the_first_chunk_then_500s() {
    let sim = spawn().await;
    sim.seed(json!({"scheduled": 450, "workflow": "s"})).await;
    let dump = sim.control("/_sim/dump", None).await;
    let all: Vec<Value> = dump["scheduled"]
        .as_array()
        .map(|rows| rows.iter().map(|r| r["metadata"]["id"].clone()).collect())
        .unwrap_or_default();
    sim.control(
        "/_sim/faults",
        Some(json!({"bulk_partial_failure_rate": 1.0})),
    )
    .await;
    let (status, body) = sim
        .post(
            &format!("{SCHEDULED}/bulk-delete"),
            json!({"scheduledWorkflowRunIds": all}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"message": "Internal Server Error"})
        )
    );
    assert_eq!(
        sim.control("/_sim/stats", None).await["scheduled"],
        250,
        "the first 200-item chunk stays applied"
    );
}

#[tokio::test]
async fn requests_are_counted_by_the_second_they_arrived_in() {
    let sim = spawn().await;
    sim.seed(json!({"runs": 1, "status": "FAILED", "workflow": "f"}))
        .await;
    let status = format!(
        "/api/v1/stable/workflow-runs/{}/status",
        sim.run_ids().await[0]
    );
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for _ in 0..7 {
        sim.get(&status).await;
    }
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stats = sim.control("/_sim/stats", None).await;
    let per_second = stats["requests_per_second"].as_object().expect("a map");
    let mut total = 0;
    for (second, count) in per_second {
        let second: u64 = second.parse().expect("a Unix second");
        assert!(
            (before..=after).contains(&second),
            "{second} outside {before}..={after}"
        );
        total += count.as_u64().expect("a count");
    }
    assert_eq!(total, 7, "{per_second:?}");
}
