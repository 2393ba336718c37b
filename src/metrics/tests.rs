//! The registry as a scraper reads it: the rendered text parsed back into series.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

/// One parsed sample line: the series name, its labels, its value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus text format (0.0.4) as a scraper does: `# HELP`/`# TYPE` comments,
/// then `name{label="value",...} number` lines.
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("a TYPE line names a kind");
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = value.parse().expect("a sample's value is a number");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels are closed");
                let pairs = labels
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (key, value) = pair.split_once("=\"").expect("key=\"value\"");
                        let value = value.strip_suffix('"').unwrap_or(value);
                        (key.to_string(), value.to_string())
                    })
                    .collect();
                (name.to_string(), pairs)
            }
        };
        samples.push((name, labels, value));
    }
    (samples, types)
}

/// The value of the series `name` with exactly `labels`, if rendered.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse(text)
        .0
        .into_iter()
        .find(|(n, l, _)| n == name && *l == wanted)
        .map(|(_, _, v)| v)
}

/// A failed request as a backend reports it.
#[derive(Debug, thiserror::Error)]
#[error("status {0:?}")]
struct Refusal(Option<u16>);

impl Failure for Refusal {
    fn is_transient(&self) -> bool {
        true
    }
    fn certainly_not_applied(&self) -> bool {
        false
    }
    fn is_pressure(&self) -> bool {
        true
    }
    fn retry_after(&self) -> Option<Duration> {
        None
    }
    fn answer(&self) -> Answer {
        match self.0 {
            Some(429) => Answer::Throttled,
            Some(_) => Answer::ServerError,
            None => Answer::Unanswered,
        }
    }
    fn http_status(&self) -> Option<u16> {
        self.0
    }
}

const CANCEL: &str = "hatchet.tasks.cancel";

#[test]
fn requests_are_counted_by_endpoint_and_status_with_429s_retries_and_their_durations() {
    let registry = Registry::new();
    let ms = Duration::from_millis;
    registry.request(CANCEL, Ok(()), ms(3));
    registry.request(CANCEL, Ok(()), ms(40));
    registry.request(CANCEL, Err(&Refusal(Some(429))), ms(1));
    registry.request(CANCEL, Err(&Refusal(Some(503))), ms(2));
    registry.request(CANCEL, Err(&Refusal(None)), ms(30_000));
    registry.retry(CANCEL);
    registry.retry(CANCEL);
    registry.request("hatchet.runs.list", Ok(()), ms(7));
    let text = registry.render();
    let requests = |status| value(&text, REQUESTS, &[("endpoint", CANCEL), ("status", status)]);
    assert_eq!(requests("ok"), Some(2.0), "{text}");
    assert_eq!(requests("429"), Some(1.0));
    assert_eq!(requests("503"), Some(1.0));
    assert_eq!(requests("unanswered"), Some(1.0));
    let list = [("endpoint", "hatchet.runs.list"), ("status", "ok")];
    assert_eq!(value(&text, REQUESTS, &list), Some(1.0));
    assert_eq!(value(&text, THROTTLED, &[("endpoint", CANCEL)]), Some(1.0));
    assert_eq!(value(&text, RETRIES, &[("endpoint", CANCEL)]), Some(2.0));
    let bucket = |le| {
        let name = format!("{REQUEST_DURATION}_bucket");
        value(&text, &name, &[("endpoint", CANCEL), ("le", le)])
    };
    assert_eq!(bucket("0.005"), Some(3.0), "3 ms, 1 ms and 2 ms");
    assert_eq!(bucket("0.05"), Some(4.0), "and 40 ms");
    assert_eq!(bucket("10"), Some(4.0), "the 30 s one is above 10 s");
    assert_eq!(bucket("+Inf"), Some(5.0));
    let count = format!("{REQUEST_DURATION}_count");
    assert_eq!(value(&text, &count, &[("endpoint", CANCEL)]), Some(5.0));
    let (_, types) = parse(&text);
    assert_eq!(types.get(REQUESTS).map(String::as_str), Some("counter"));
    assert_eq!(types.get(THROTTLED).map(String::as_str), Some("counter"));
    assert_eq!(
        types.get(REQUEST_DURATION).map(String::as_str),
        Some("histogram")
    );
}

#[test]
fn items_rise_by_operation_and_outcome() {
    let registry = Registry::new();
    let series = |text: &str, outcome| {
        value(
            text,
            ITEMS,
            &[("operation", "runs cancel"), ("outcome", outcome)],
        )
    };
    registry.items("runs cancel", ItemState::Sent, 500);
    let before = registry.render();
    registry.items("runs cancel", ItemState::Sent, 250);
    registry.items("runs cancel", ItemState::Done, 700);
    registry.items("runs cancel", ItemState::Unconfirmed, 50);
    registry.items("runs replay", ItemState::Skipped, 3);
    let after = registry.render();
    assert_eq!(series(&before, "sent"), Some(500.0));
    assert_eq!(series(&before, "done"), None, "nothing done yet");
    assert_eq!(series(&after, "sent"), Some(750.0));
    assert_eq!(series(&after, "done"), Some(700.0));
    assert_eq!(series(&after, "unconfirmed"), Some(50.0));
    let skipped = [("operation", "runs replay"), ("outcome", "skipped")];
    assert_eq!(value(&after, ITEMS, &skipped), Some(3.0));
}

#[test]
fn the_rate_and_window_gauges_add_up_the_running_jobs_and_drop_a_job_that_ended() {
    let registry = Registry::new();
    let gauges = |registry: &Registry| {
        let text = registry.render();
        let of = |name| value(&text, name, &[("operation", "runs cancel")]);
        (of(RATE), of(WINDOW))
    };
    registry.rate("a-1", "runs cancel", 50.0);
    registry.window("a-1", "runs cancel", 2);
    assert_eq!(gauges(&registry), (Some(50.0), Some(2.0)));
    registry.window("a-1", "runs cancel", 4);
    registry.rate("b-1", "runs cancel", 10.0);
    registry.window("b-1", "runs cancel", 1);
    assert_eq!(gauges(&registry), (Some(60.0), Some(5.0)));
    registry.rate("a-1", "runs cancel", 5.0);
    assert_eq!(gauges(&registry), (Some(15.0), Some(5.0)), "a retune");
    registry.run_ended("a-1", "runs cancel", Duration::from_secs(90), true);
    assert_eq!(gauges(&registry), (Some(10.0), Some(1.0)));
    registry.run_ended("b-1", "runs cancel", Duration::from_secs(2), false);
    assert_eq!(gauges(&registry), (Some(0.0), Some(0.0)));
    let text = registry.render();
    let ended = |end| {
        let name = format!("{JOB_DURATION}_count");
        value(&text, &name, &[("operation", "runs cancel"), ("end", end)])
    };
    assert_eq!(ended("finished"), Some(1.0), "{text}");
    assert_eq!(ended("interrupted"), Some(1.0));
    let (_, types) = parse(&text);
    assert_eq!(types.get(RATE).map(String::as_str), Some("gauge"));
    assert_eq!(
        types.get(JOB_DURATION).map(String::as_str),
        Some("histogram")
    );
}

#[test]
fn lease_takeovers_are_counted_by_operation() {
    let registry = Registry::new();
    registry.lease_takeover("runs replay");
    registry.lease_takeover("runs replay");
    let text = registry.render();
    let replay = [("operation", "runs replay")];
    assert_eq!(value(&text, LEASE_TAKEOVERS, &replay), Some(2.0));
}

#[test]
fn chunks_taken_over_are_counted_by_operation() {
    let registry = Registry::new();
    registry.chunk_taken_over("runs cancel");
    let text = registry.render();
    let cancel = [("operation", "runs cancel")];
    assert_eq!(value(&text, CHUNKS_TAKEN_OVER, &cancel), Some(1.0));
}

#[tokio::test]
async fn get_metrics_answers_the_text_format_with_its_content_type() {
    let registry = Arc::new(Registry::new());
    registry.items("runs cancel", ItemState::Done, 7);
    let exporter = Exporter::start("127.0.0.1:0".parse().unwrap(), registry.router())
        .await
        .unwrap();
    let url = format!("http://{}/metrics", exporter.addr());
    let answer = reqwest::get(&url).await.unwrap();
    assert_eq!(answer.status(), 200);
    let content_type = answer.headers()[reqwest::header::CONTENT_TYPE].clone();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let text = answer.text().await.unwrap();
    let done = [("operation", "runs cancel"), ("outcome", "done")];
    assert_eq!(value(&text, ITEMS, &done), Some(7.0));
    let other = reqwest::get(url.replace("/metrics", "/other"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn an_address_in_use_is_refused_naming_the_flag_to_change() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let refused = Exporter::start(addr, router()).await.unwrap_err();
    let message = refused.to_string();
    assert!(message.contains(&addr.to_string()), "{message}");
    assert!(message.contains("--metrics-addr"), "{message}");
    assert!(!message.contains('\n'));
}

#[test]
fn apply_lags_are_a_histogram_by_endpoint() {
    let registry = Registry::new();
    registry.apply_lag(CANCEL, Duration::from_millis(80));
    registry.apply_lag(CANCEL, Duration::from_millis(700));
    registry.apply_lag(CANCEL, Duration::from_secs(12));
    let text = registry.render();
    let bucket = |le| {
        let name = format!("{APPLY_LAG}_bucket");
        value(&text, &name, &[("endpoint", CANCEL), ("le", le)])
    };
    assert_eq!(bucket("0.1"), Some(1.0), "{text}");
    assert_eq!(bucket("1"), Some(2.0));
    assert_eq!(bucket("10"), Some(2.0));
    assert_eq!(bucket("20"), Some(3.0));
    let sum = value(&text, &format!("{APPLY_LAG}_sum"), &[("endpoint", CANCEL)]);
    assert!(sum.is_some_and(|s| (s - 12.78).abs() < 1e-9), "{text}");
    let (_, types) = parse(&text);
    assert_eq!(types.get(APPLY_LAG).map(String::as_str), Some("histogram"));
}
