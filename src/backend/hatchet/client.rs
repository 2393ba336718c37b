use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::json;
use uuid::Uuid;

use super::error::{error_message, parse_retry_after};
use super::models::{
    BulkDeleteResponse, BulkError, BulkUpdateResponse, Cron, CronList, IdsResponse, RunDetails,
    RunList, RunSummary, ScheduledList, ScheduledRun, WorkflowList,
};
use super::redact::Redactor;
use super::{Connection, HatchetError};
use crate::job::{MetadataPair, RunStatus};

/// Server-side run filters shared by the run list and external-ids endpoints.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub statuses: Vec<RunStatus>,
    pub workflow_ids: Vec<String>,
    pub metadata: Vec<MetadataPair>,
}

/// One page of the run list, with how long the server took (for slice adaptation).
pub struct RunPage {
    pub rows: Vec<RunSummary>,
    pub elapsed: Duration,
    /// `num_pages`: the matching rows the server counted (at most 20,000), in pages of `limit`.
    pub num_pages: Option<u64>,
}

/// A typed client for the Hatchet REST endpoints bulkops uses. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct HatchetClient {
    http: reqwest::Client,
    conn: Connection,
    timeout: Duration,
    redactor: Arc<Redactor>,
    /// The server's origin without credentials, for every request URL.
    base: String,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl HatchetClient {
    pub fn new(conn: Connection, timeout: Duration) -> Result<Self, HatchetError> {
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .user_agent(concat!("bulkops/", env!("CARGO_PKG_VERSION")));
        if let Some(tls) = &conn.tls {
            http = http.use_preconfigured_tls(tls.client_config());
        }
        let http = http
            .build()
            .map_err(|e| HatchetError::Connect(e.to_string()))?;
        // Credentials in the URL would go out as a Basic `Authorization` header ahead of the
        // token's Bearer one, and Hatchet reads only the first: the token alone authenticates.
        let mut origin = conn.server_url.clone();
        let _ = origin.set_username("");
        let _ = origin.set_password(None);
        Ok(HatchetClient {
            http,
            redactor: Arc::new(conn.redactor()),
            base: origin.as_str().trim_end_matches('/').to_string(),
            conn,
            timeout,
        })
    }

    pub fn tenant(&self) -> Uuid {
        self.conn.tenant
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn tenant_path(&self, prefix: &str, rest: &str) -> String {
        self.url(&format!("{prefix}/tenants/{}{rest}", self.conn.tenant))
    }

    fn request(&self, method: Method, url: String) -> RequestBuilder {
        self.http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, self.conn.token.bearer())
            .timeout(self.timeout)
    }

    async fn send(&self, req: RequestBuilder, timeout: Duration) -> Result<Vec<u8>, HatchetError> {
        self.exchange(req, timeout, |body| Ok(body.to_vec())).await
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        timeout: Duration,
    ) -> Result<T, HatchetError> {
        self.exchange(req, timeout, |body| {
            serde_json::from_slice(body).map_err(|e| HatchetError::Decode(e.to_string()))
        })
        .await
    }

    /// Every request goes through here, so that every error (whose text may quote the server,
    /// the body included) passes the redactor before anything can log or store it.
    async fn exchange<T>(
        &self,
        req: RequestBuilder,
        timeout: Duration,
        decode: impl FnOnce(&[u8]) -> Result<T, HatchetError>,
    ) -> Result<T, HatchetError> {
        let result = match self.response_body(req, timeout).await {
            Ok(body) => decode(&body),
            Err(e) => Err(e),
        };
        result.map_err(|e| e.redacted(&self.redactor))
    }

    async fn response_body(
        &self,
        req: RequestBuilder,
        timeout: Duration,
    ) -> Result<Vec<u8>, HatchetError> {
        let resp = req
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| HatchetError::from_reqwest(e, timeout))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = resp
            .bytes()
            .await
            .map_err(|e| HatchetError::from_reqwest(e, timeout))?;
        if (200..300).contains(&status) {
            Ok(body.to_vec())
        } else {
            Err(HatchetError::Status {
                status,
                message: error_message(status, &body),
                retry_after,
            })
        }
    }

    /// Per-item errors of a bulk answer are server text too.
    fn redact_bulk_errors(&self, errors: &mut [BulkError]) {
        for e in errors {
            e.error = self.redactor.clean(&e.error);
        }
    }

    /// Checks that the server answers and accepts the token for this tenant. Sends nothing that
    /// mutates.
    pub async fn check_access(&self) -> Result<(), HatchetError> {
        let req = self
            .request(Method::GET, self.tenant_path("/api/v1", "/workflows"))
            .query(&[("limit", "1")]);
        self.send(req, self.timeout).await.map(|_| ())
    }

    /// Resolves a workflow name to its id (exact match), or `None` when the tenant has none.
    /// The workflow a `--workflow` value names, as `(id, name)`: a workflow id (as the `hatchet`
    /// CLI accepts), else an exact name, in the connection's namespace. The list's `name` filter is a substring search, so the
    /// exact match is picked here; an id is looked for page by page.
    pub async fn find_workflow(&self, key: &str) -> Result<Option<(String, String)>, HatchetError> {
        const PAGE: usize = 1000;
        let by_id = Uuid::parse_str(key).is_ok();
        let name = self.conn.workflow_name(key);
        let mut offset = 0;
        loop {
            let mut query = vec![("limit", PAGE.to_string()), ("offset", offset.to_string())];
            if !by_id {
                query.push(("name", name.clone()));
            }
            let req = self
                .request(Method::GET, self.tenant_path("/api/v1", "/workflows"))
                .query(&query);
            let rows = self
                .send_json::<WorkflowList>(req, self.timeout)
                .await?
                .rows
                .unwrap_or_default();
            let short = rows.len() < PAGE;
            let found = rows.into_iter().find(|w| {
                if by_id {
                    w.metadata.id.eq_ignore_ascii_case(key)
                } else {
                    w.name == name
                }
            });
            if let Some(w) = found {
                return Ok(Some((w.metadata.id, w.name)));
            }
            if short {
                return Ok(None);
            }
            offset += PAGE;
        }
    }

    fn filter_query(filter: &RunFilter, statuses: &[RunStatus]) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        for s in statuses {
            q.push(("statuses", s.as_str().to_string()));
        }
        for w in &filter.workflow_ids {
            q.push(("workflow_ids", w.clone()));
        }
        for m in &filter.metadata {
            q.push(("additional_metadata", m.to_query()));
        }
        q
    }

    /// Run ids created in `(since, until]` (the endpoint's `since` is strict). Unbounded: the
    /// caller keeps the slice small enough.
    pub async fn external_ids(
        &self,
        filter: &RunFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(Vec<String>, Duration), HatchetError> {
        let mut query = Self::filter_query(filter, &filter.statuses);
        query.push(("since", rfc3339(since)));
        query.push(("until", rfc3339(until)));
        let req = self
            .request(
                Method::GET,
                self.tenant_path("/api/v1/stable", "/workflow-runs/external-ids"),
            )
            .query(&query);
        let started = Instant::now();
        // The server answers `null`, not `[]`, when nothing matches.
        let ids: Option<Vec<String>> = self.send_json(req, self.timeout).await?;
        Ok((ids.unwrap_or_default(), started.elapsed()))
    }

    /// One page of runs created in `[since, until]`, newest first, without payloads. Several
    /// metadata pairs are ANDed (`additional_metadata_operator=AND`).
    pub async fn list_runs(
        &self,
        filter: &RunFilter,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        offset: usize,
        limit: usize,
    ) -> Result<RunPage, HatchetError> {
        let mut query = Self::filter_query(filter, &filter.statuses);
        query.extend([
            ("since", rfc3339(since)),
            ("until", rfc3339(until)),
            ("only_tasks", "false".to_string()),
            ("include_payloads", "false".to_string()),
            ("additional_metadata_operator", "AND".to_string()),
            ("offset", offset.to_string()),
            ("limit", limit.max(1).to_string()),
        ]);
        let req = self
            .request(
                Method::GET,
                self.tenant_path("/api/v1/stable", "/workflow-runs"),
            )
            .query(&query);
        let started = Instant::now();
        let list: RunList = self.send_json(req, self.timeout).await?;
        Ok(RunPage {
            rows: list.rows,
            elapsed: started.elapsed(),
            num_pages: list.pagination.and_then(|p| p.num_pages),
        })
    }

    /// One run's details, or `None` when the server does not know the id (404).
    pub async fn run_details(&self, id: &str) -> Result<Option<RunDetails>, HatchetError> {
        let path = format!("/api/v1/stable/workflow-runs/{}", encode_segment(id));
        let req = self.request(Method::GET, self.url(&path));
        not_found_as_none(self.send_json(req, self.timeout).await)
    }

    /// Cancels runs by id. The server only queues the cancel (docs/hatchet-contract.md §c): the
    /// echoed ids say nothing about what was cancelled.
    pub async fn cancel(&self, ids: &[String]) -> Result<Vec<String>, HatchetError> {
        let req = self
            .request(
                Method::POST,
                self.tenant_path("/api/v1/stable", "/tasks/cancel"),
            )
            .json(&json!({ "externalIds": ids }));
        let resp: IdsResponse = self.send_json(req, self.timeout).await?;
        Ok(resp.ids.unwrap_or_default())
    }

    /// Replays runs by id; answers with the TASK ids it accepted. The server paces replays at
    /// about 0.2 s per 100 tasks, so the timeout grows with the request.
    pub async fn replay(
        &self,
        ids: &[String],
        timeout: Duration,
    ) -> Result<Vec<String>, HatchetError> {
        let req = self
            .request(
                Method::POST,
                self.tenant_path("/api/v1/stable", "/tasks/replay"),
            )
            .json(&json!({ "externalIds": ids }));
        let resp: IdsResponse = self.send_json(req, timeout).await?;
        Ok(resp.ids.unwrap_or_default())
    }

    /// One page of scheduled runs, ordered by trigger time, newest first.
    pub async fn list_scheduled(
        &self,
        workflow_id: Option<&str>,
        metadata: &[MetadataPair],
        offset: usize,
        limit: usize,
    ) -> Result<Vec<ScheduledRun>, HatchetError> {
        let mut query: Vec<(&str, String)> = vec![
            ("offset", offset.to_string()),
            ("limit", limit.max(1).to_string()),
            ("orderByField", "triggerAt".into()),
            ("orderByDirection", "DESC".into()),
        ];
        if let Some(id) = workflow_id {
            query.push(("workflowId", id.to_string()));
        }
        for m in metadata {
            query.push(("additionalMetadata", m.to_query()));
        }
        let req = self
            .request(
                Method::GET,
                self.tenant_path("/api/v1", "/workflows/scheduled"),
            )
            .query(&query);
        let list: ScheduledList = self.send_json(req, self.timeout).await?;
        Ok(list.rows.unwrap_or_default())
    }

    /// One scheduled run, or `None` when it no longer exists (404: deleted, or it fired).
    pub async fn get_scheduled(&self, id: &str) -> Result<Option<ScheduledRun>, HatchetError> {
        let path = format!("/workflows/scheduled/{}", encode_segment(id));
        let req = self.request(Method::GET, self.tenant_path("/api/v1", &path));
        not_found_as_none(self.send_json(req, self.timeout).await)
    }

    pub async fn bulk_delete_scheduled(
        &self,
        ids: &[String],
    ) -> Result<BulkDeleteResponse, HatchetError> {
        let req = self
            .request(
                Method::POST,
                self.tenant_path("/api/v1", "/workflows/scheduled/bulk-delete"),
            )
            .json(&json!({ "scheduledWorkflowRunIds": ids }));
        let mut resp: BulkDeleteResponse = self.send_json(req, self.timeout).await?;
        self.redact_bulk_errors(&mut resp.errors);
        Ok(resp)
    }

    pub async fn bulk_update_scheduled(
        &self,
        updates: &[(String, DateTime<Utc>)],
    ) -> Result<BulkUpdateResponse, HatchetError> {
        let updates: Vec<_> = updates
            .iter()
            .map(|(id, at)| json!({ "id": id, "triggerAt": at.to_rfc3339_opts(SecondsFormat::Millis, true) }))
            .collect();
        let req = self
            .request(
                Method::POST,
                self.tenant_path("/api/v1", "/workflows/scheduled/bulk-update"),
            )
            .json(&json!({ "updates": updates }));
        let mut resp: BulkUpdateResponse = self.send_json(req, self.timeout).await?;
        self.redact_bulk_errors(&mut resp.errors);
        Ok(resp)
    }

    /// Creates a scheduled run of workflow `workflow_name`.
    pub async fn create_scheduled(
        &self,
        workflow_name: &str,
        trigger_at: DateTime<Utc>,
        input: &serde_json::Value,
        additional_metadata: &serde_json::Value,
        priority: Option<i32>,
    ) -> Result<ScheduledRun, HatchetError> {
        let mut body = json!({
            "input": input,
            "additionalMetadata": additional_metadata,
            "triggerAt": trigger_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        });
        if let Some(p) = priority {
            body["priority"] = json!(p);
        }
        let path = format!("/workflows/{}/scheduled", encode_segment(workflow_name));
        let req = self
            .request(Method::POST, self.tenant_path("/api/v1", &path))
            .json(&body);
        self.send_json(req, self.timeout).await
    }

    /// One page of crons, oldest first.
    pub async fn list_crons(
        &self,
        workflow_name: Option<&str>,
        cron_name: Option<&str>,
        metadata: &[MetadataPair],
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Cron>, HatchetError> {
        let mut query: Vec<(&str, String)> = vec![
            ("offset", offset.to_string()),
            ("limit", limit.max(1).to_string()),
            ("orderByField", "createdAt".into()),
            ("orderByDirection", "ASC".into()),
        ];
        if let Some(name) = workflow_name {
            query.push(("workflowName", name.to_string()));
        }
        if let Some(name) = cron_name {
            query.push(("cronName", name.to_string()));
        }
        for m in metadata {
            query.push(("additionalMetadata", m.to_query()));
        }
        let req = self
            .request(Method::GET, self.tenant_path("/api/v1", "/workflows/crons"))
            .query(&query);
        let list: CronList = self.send_json(req, self.timeout).await?;
        Ok(list.rows.unwrap_or_default())
    }

    pub async fn delete_cron(&self, id: &str) -> Result<(), HatchetError> {
        let path = format!("/workflows/crons/{}", encode_segment(id));
        let req = self.request(Method::DELETE, self.tenant_path("/api/v1", &path));
        self.send(req, self.timeout).await.map(|_| ())
    }
}

fn not_found_as_none<T>(result: Result<T, HatchetError>) -> Result<Option<T>, HatchetError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

fn encode_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_never_carry_the_urls_credentials() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiI3MDdkMDg1NS04MGFiLTRlMWYtYTE1Ni1mMWM0NTQ2Y2JmNTIifQ.c2ln";
        let conn = Connection::resolve(
            Some(token),
            Some("http://user:secretpw@127.0.0.1:8080/"),
            None,
            Utc::now(),
        )
        .expect("a connection");
        let client = HatchetClient::new(conn, Duration::from_secs(1)).expect("a client");
        let url = client.url("/api/ready");
        assert_eq!(url, "http://127.0.0.1:8080/api/ready");
    }
}
