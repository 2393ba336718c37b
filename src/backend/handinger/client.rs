use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;

use super::error::{error_message, server_delay};
use super::models::{CancelResponse, Definition, ScheduleList, WorkerSchedule};
use super::{HandingerConnection, HandingerError};

/// What a cancel found: both `{"cancelled": false}` and 404 are answers about the schedule, not
/// failures of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAnswer {
    Cancelled,
    /// `{"cancelled": false}`: the server did not cancel it (it was already cancelled).
    NotCancelled,
    /// 404: the server does not know the schedule (or the worker).
    NotFound,
}

/// A typed client for the worker-schedules endpoints. Cloning is cheap. It makes one attempt
/// per call: retries belong to the caller, which knows whether the call may be repeated.
#[derive(Debug, Clone)]
pub struct HandingerClient {
    http: reqwest::Client,
    conn: HandingerConnection,
    timeout: Duration,
    /// The base URL without its trailing slash, for every request URL.
    base: String,
}

fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl HandingerClient {
    pub fn new(conn: HandingerConnection, timeout: Duration) -> Result<Self, HandingerError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .user_agent(concat!("bulkops/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HandingerError::Connect(e.to_string()))?;
        Ok(HandingerClient {
            http,
            base: conn.base_url.as_str().trim_end_matches('/').to_string(),
            conn,
            timeout,
        })
    }

    fn schedules_url(&self, worker: &str) -> String {
        format!("{}/api/workers/{}/schedules", self.base, segment(worker))
    }

    fn request(&self, method: Method, url: String) -> RequestBuilder {
        self.http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, self.conn.key.bearer())
            .timeout(self.timeout)
    }

    /// Every request goes through here, so that every error (whose text may quote the server)
    /// is cleaned of the key before anything can log or store it.
    async fn send_json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
    ) -> Result<T, HandingerError> {
        let result = match self.response_body(req).await {
            Ok(body) => {
                serde_json::from_slice(&body).map_err(|e| HandingerError::Decode(e.to_string()))
            }
            Err(e) => Err(e),
        };
        result.map_err(|e| e.redacted(&self.conn.key))
    }

    async fn response_body(&self, req: RequestBuilder) -> Result<Vec<u8>, HandingerError> {
        let timeout = self.timeout;
        let resp = req
            .send()
            .await
            .map_err(|e| HandingerError::from_reqwest(e, timeout))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = server_delay(
            header("retry-after-ms").as_deref(),
            header("retry-after").as_deref(),
        );
        let should_retry = match header("x-should-retry").as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        let body = resp
            .bytes()
            .await
            .map_err(|e| HandingerError::from_reqwest(e, timeout))?;
        if (200..300).contains(&status) {
            Ok(body.to_vec())
        } else {
            Err(HandingerError::Status {
                status,
                message: error_message(status, &body),
                retry_after,
                should_retry,
            })
        }
    }

    /// Every schedule of `worker` (the API has no paging and no filters).
    pub async fn list_schedules(
        &self,
        worker: &str,
    ) -> Result<Vec<WorkerSchedule>, HandingerError> {
        let req = self.request(Method::GET, self.schedules_url(worker));
        let list: ScheduleList = self.send_json(req).await?;
        Ok(list.schedules)
    }

    /// Creates a schedule. Not idempotent: the server takes no idempotency key.
    pub async fn create_schedule(
        &self,
        worker: &str,
        def: &Definition,
    ) -> Result<WorkerSchedule, HandingerError> {
        let req = self
            .request(Method::POST, self.schedules_url(worker))
            .json(def);
        self.send_json(req).await
    }

    pub async fn cancel_schedule(
        &self,
        worker: &str,
        schedule: &str,
    ) -> Result<CancelAnswer, HandingerError> {
        let url = format!("{}/{}", self.schedules_url(worker), segment(schedule));
        let req = self.request(Method::DELETE, url);
        match self.send_json::<CancelResponse>(req).await {
            Ok(CancelResponse { cancelled: true }) => Ok(CancelAnswer::Cancelled),
            Ok(CancelResponse { cancelled: false }) => Ok(CancelAnswer::NotCancelled),
            Err(e) if e.status() == Some(404) => Ok(CancelAnswer::NotFound),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::handinger::models::When;
    use crate::backend::handinger::testing::Sim;
    use crate::engine::Failure;
    use serde_json::json;

    #[tokio::test]
    async fn lists_creates_and_cancels_against_the_simulator() {
        let sim = Sim::start().await;
        sim.control(
            "/_sim/seed",
            Some(json!({"worker_ids": ["team/a b"], "per_worker": 8})),
        )
        .await;
        let client = sim.client(Duration::from_secs(5));
        let listed = client.list_schedules("team/a b").await.expect("list");
        assert_eq!(listed.len(), 8);
        let def = listed[2].definition().expect("a known type");
        let made = client
            .create_schedule("team/a b", &def)
            .await
            .expect("create");
        assert!(made.matches(&def));
        assert_ne!(made.id, listed[2].id);
        assert_eq!(
            client.cancel_schedule("team/a b", &made.id).await,
            Ok(CancelAnswer::Cancelled)
        );
        assert_eq!(
            client.cancel_schedule("team/a b", &made.id).await,
            Ok(CancelAnswer::NotCancelled)
        );
        assert_eq!(
            client.cancel_schedule("team/a b", "sch_unknown").await,
            Ok(CancelAnswer::NotFound)
        );
        let unknown_worker = client.list_schedules("nobody").await.expect_err("404");
        assert_eq!(unknown_worker.status(), Some(404));
        assert!(!unknown_worker.is_transient());
    }

    #[tokio::test]
    async fn a_refused_create_is_an_error_with_the_servers_reason() {
        let sim = Sim::start().await;
        sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
            .await;
        let client = sim.client(Duration::from_secs(5));
        let bad = Definition {
            input: "x".into(),
            budget: "standard".into(),
            when: When::Cron {
                cron: "not a cron".into(),
            },
        };
        let err = client.create_schedule("w", &bad).await.expect_err("400");
        assert_eq!(err.status(), Some(400));
        assert!(err.to_string().contains("invalid cron"), "{err}");
        assert!(err.certainly_not_applied());
    }

    #[tokio::test]
    async fn the_servers_delay_and_verdict_come_with_the_error_and_the_key_never_does() {
        let sim = Sim::start().await;
        sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
            .await;
        let faults = json!({"rate_limited_rate": 1.0, "retry_after_s": 7, "retry_after_ms": 250, "should_retry": false});
        sim.control("/_sim/faults", Some(faults)).await;
        let client = sim.client(Duration::from_secs(5));
        let err = client.list_schedules("w").await.expect_err("429");
        assert_eq!(err.retry_after(), Some(Duration::from_millis(250)));
        assert!(!err.is_transient(), "x-should-retry: false wins over 429");
        let wrong = HandingerConnection::resolve(Some("hk_wrong_key_123"), Some(&sim.url)).unwrap();
        sim.control("/_sim/faults", Some(json!({}))).await;
        let err = HandingerClient::new(wrong, Duration::from_secs(5))
            .unwrap()
            .list_schedules("w")
            .await
            .expect_err("401");
        assert_eq!(err.status(), Some(401));
        assert!(!format!("{err} {err:?}").contains("hk_wrong_key_123"));
    }

    #[tokio::test]
    async fn a_dropped_connection_is_ambiguous_and_a_slow_answer_times_out() {
        let sim = Sim::start().await;
        sim.control("/_sim/seed", Some(json!({"worker_ids": ["w"]})))
            .await;
        sim.control("/_sim/faults", Some(json!({"drop_rate": 1.0})))
            .await;
        let client = sim.client(Duration::from_secs(5));
        let err = client.list_schedules("w").await.expect_err("dropped");
        assert!(
            err.is_transient() && !err.certainly_not_applied(),
            "{err:?}"
        );
        sim.control("/_sim/faults", Some(json!({"latency_ms": 400})))
            .await;
        let err = sim
            .client(Duration::from_millis(100))
            .list_schedules("w")
            .await
            .expect_err("timeout");
        assert_eq!(err, HandingerError::Timeout(Duration::from_millis(100)));
    }
}
