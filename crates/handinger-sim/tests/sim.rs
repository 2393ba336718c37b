//! The simulator over HTTP: each test starts its own sim on 127.0.0.1:0.

use handinger_sim::{start, SimConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Sim {
    url: String,
    key: String,
    http: reqwest::Client,
}

async fn spawn() -> Sim {
    let sim = start(SimConfig::default()).await.expect("sim starts");
    Sim {
        url: sim.url.clone(),
        key: sim.api_key.clone(),
        http: reqwest::Client::new(),
    }
}

impl Sim {
    async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let req = match body {
            Some(b) => self.http.post(format!("{}{path}", self.url)).json(&b),
            None => self.http.get(format!("{}{path}", self.url)),
        };
        let resp = req.send().await.expect("control call");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("control json")
    }

    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let resp = self.api_raw(&self.key, method, path, body).await;
        let status = resp.status();
        (status, resp.json().await.expect("json answer"))
    }

    async fn api_raw(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("api call")
    }

    async fn schedules(&self, worker: &str) -> Vec<Value> {
        let (status, body) = self
            .api(
                Method::GET,
                &format!("/api/workers/{worker}/schedules"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["workerId"], worker);
        body["schedules"].as_array().expect("schedules").clone()
    }
}

#[tokio::test]
async fn seeds_thousands_per_worker_with_every_type_in_the_api_shape() {
    let sim = spawn().await;
    let seeded = sim
        .control(
            "/_sim/seed",
            Some(json!({"workers": 3, "per_worker": 4000})),
        )
        .await;
    assert_eq!(seeded["seeded"], 12_000);
    assert_eq!(
        seeded["workers"],
        json!(["worker-0001", "worker-0002", "worker-0003"])
    );
    let rows = sim.schedules("worker-0002").await;
    assert_eq!(rows.len(), 4000);
    let own_field = |t: &str| match t {
        "delayed" => Some("delayInSeconds"),
        "cron" => Some("cron"),
        "interval" => Some("intervalSeconds"),
        _ => None,
    };
    for row in &rows[..4] {
        for field in ["id", "budget", "input", "nextRunAt", "type"] {
            assert!(row.get(field).is_some(), "{field} missing in {row}");
        }
        let t = row["type"].as_str().expect("type");
        if let Some(field) = own_field(t) {
            assert!(row.get(field).is_some(), "{field} missing in {row}");
        }
    }
    let types: Vec<&str> = rows[..4]
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["scheduled", "delayed", "cron", "interval"]);
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["schedules"], 12_000);
    assert_eq!(stats["creates"], 0, "seeding is not creating");
}

#[tokio::test]
async fn creates_are_counted_per_logical_schedule_so_duplicates_show() {
    let sim = spawn().await;
    sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
        .await;
    let body = json!({"input": "nightly", "when": {"type": "cron", "cron": "0 4 * * *"}});
    let (status, first) = sim
        .api(Method::POST, "/api/workers/w/schedules", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["type"], "cron");
    assert_eq!(first["cron"], "0 4 * * *");
    assert_eq!(first["budget"], "standard");
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["max_creates_per_logical_schedule"], 1);
    assert_eq!(stats["duplicate_creates"], 0);
    sim.api(Method::POST, "/api/workers/w/schedules", Some(body))
        .await;
    let other = json!({"input": "nightly", "budget": "high", "when": {"type": "cron", "cron": "0 4 * * *"}});
    sim.api(Method::POST, "/api/workers/w/schedules", Some(other))
        .await;
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["creates"], 3);
    assert_eq!(stats["max_creates_per_logical_schedule"], 2);
    assert_eq!(stats["duplicate_creates"], 1);
    assert_eq!(sim.schedules("w").await.len(), 3);
}

#[tokio::test]
async fn a_scheduled_create_runs_at_its_date_and_bad_bodies_are_400() {
    let sim = spawn().await;
    sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
        .await;
    let body =
        json!({"input": "x", "when": {"type": "scheduled", "date": "2031-05-01T10:00:00+02:00"}});
    let (_, row) = sim
        .api(Method::POST, "/api/workers/w/schedules", Some(body))
        .await;
    assert_eq!(row["nextRunAt"], "2031-05-01T08:00:00.000Z");
    for bad in [
        json!({"input": "x", "when": {"type": "cron", "cron": "every day"}}),
        json!({"input": "x", "when": {"type": "weekly"}}),
        json!({"input": "x", "when": {"type": "interval", "intervalSeconds": 0}}),
        json!({"input": "x", "when": {"type": "delayed", "delayInSeconds": i64::MAX}}),
        json!({"when": {"type": "delayed", "delayInSeconds": 5}}),
        json!({"input": "x", "budget": "huge", "when": {"type": "delayed", "delayInSeconds": 5}}),
    ] {
        let (status, answer) = sim
            .api(Method::POST, "/api/workers/w/schedules", Some(bad.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(answer["error"].is_string());
    }
    let (status, _) = sim
        .api(
            Method::POST,
            "/api/workers/nobody/schedules",
            Some(json!({"input": "x", "when": {"type": "delayed", "delayInSeconds": 5}})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cancel_answers_true_once_then_false_and_404_for_an_unknown_id() {
    let sim = spawn().await;
    sim.control(
        "/_sim/seed",
        Some(json!({"worker_ids": ["w"], "per_worker": 2})),
    )
    .await;
    let id = sim.schedules("w").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/workers/w/schedules/{id}");
    assert_eq!(
        sim.api(Method::DELETE, &path, None).await,
        (StatusCode::OK, json!({"cancelled": true}))
    );
    assert_eq!(
        sim.api(Method::DELETE, &path, None).await,
        (StatusCode::OK, json!({"cancelled": false}))
    );
    let (status, _) = sim
        .api(Method::DELETE, "/api/workers/w/schedules/sch_nope", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(sim.schedules("w").await.len(), 1);
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(stats["cancels"], 1);
    assert_eq!(stats["cancel_misses"], 2);
    let dump = sim.control("/_sim/dump", None).await;
    assert_eq!(dump["workers"]["w"]["cancelled"][0]["id"], id.as_str());
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401() {
    let sim = spawn().await;
    sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
        .await;
    let resp = sim
        .api_raw("wrong", Method::GET, "/api/workers/w/schedules", None)
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn faults_send_429_with_both_retry_headers_and_the_servers_verdict() {
    let sim = spawn().await;
    sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
        .await;
    let faults = json!({"rate_limited_rate": 1.0, "retry_after_s": 2, "retry_after_ms": 1500, "should_retry": false});
    sim.control("/_sim/faults", Some(faults)).await;
    let resp = sim
        .api_raw(&sim.key, Method::GET, "/api/workers/w/schedules", None)
        .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("retry-after").as_deref(), Some("2"));
    assert_eq!(header("retry-after-ms").as_deref(), Some("1500"));
    assert_eq!(header("x-should-retry").as_deref(), Some("false"));
    sim.control("/_sim/faults", Some(json!({"error_rate": 1.0})))
        .await;
    let resp = sim
        .api_raw(&sim.key, Method::GET, "/api/workers/w/schedules", None)
        .await;
    assert!(resp.status().is_server_error());
    assert!(resp.headers().get("x-should-retry").is_none());
    let refused = sim
        .http
        .post(format!("{}/_sim/faults", sim.url))
        .json(&json!({"error_rate": 0.7, "drop_rate": 0.7}))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_dropped_connection_may_have_applied_the_create() {
    let sim = spawn().await;
    sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
        .await;
    sim.control("/_sim/faults", Some(json!({"drop_rate": 1.0})))
        .await;
    let body = json!({"input": "x", "when": {"type": "delayed", "delayInSeconds": 60}});
    for _ in 0..20 {
        let sent = sim
            .http
            .post(format!("{}/api/workers/w/schedules", sim.url))
            .bearer_auth(&sim.key)
            .json(&body)
            .send()
            .await;
        let failed = match sent {
            Err(_) => true,
            Ok(resp) => resp.bytes().await.is_err(),
        };
        assert!(failed, "a dropped connection gave a whole answer");
    }
    sim.control("/_sim/faults", Some(json!({}))).await;
    let created = sim.schedules("w").await.len();
    // Half the drops come after the create was applied: 20 coin flips all on one side would be
    // a one-in-500,000 event.
    assert!((1..20).contains(&created), "{created} of 20 applied");
    let stats = sim.control("/_sim/stats", None).await;
    assert_eq!(
        stats["requests"]["POST /api/workers/{worker_id}/schedules"],
        20
    );
}
