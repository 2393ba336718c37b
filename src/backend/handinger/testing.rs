//! A Handinger simulator started in this process, for the client's and the operations' tests.

use std::time::Duration;

use serde_json::Value;

use super::{HandingerClient, HandingerConnection};

/// A simulator started in this process, its control API, and a client for it.
pub struct Sim {
    pub url: String,
    pub key: String,
    http: reqwest::Client,
}

impl Sim {
    pub async fn start() -> Sim {
        let sim = handinger_sim::start(handinger_sim::SimConfig::default())
            .await
            .expect("the simulator starts");
        Sim {
            url: sim.url.clone(),
            key: sim.api_key.clone(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn control(&self, path: &str, body: Option<Value>) -> Value {
        let req = match body {
            Some(b) => self.http.post(format!("{}{path}", self.url)).json(&b),
            None => self.http.get(format!("{}{path}", self.url)),
        };
        let resp = req.send().await.expect("control call");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("control answer")
    }

    pub fn client(&self, timeout: Duration) -> HandingerClient {
        let conn =
            HandingerConnection::resolve(Some(&self.key), Some(&self.url)).expect("a connection");
        HandingerClient::new(conn, timeout).expect("a client")
    }
}
