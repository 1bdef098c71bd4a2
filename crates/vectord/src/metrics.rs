//! Prometheus metrics: requests by route template, method and status (count
//! and latency histogram), index count and sizes, durable-write latency and
//! failures. Rendered as text at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use lhv_store::{Catalog, IndexState};
use parking_lot::Mutex;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Observations at or below each bucket bound (not cumulative).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.buckets) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braced = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braced} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braced} {}", self.count);
    }
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route template, method, status) -> latency histogram.
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    persist: Mutex<Histogram>,
    persist_failures: Mutex<u64>,
    /// Connections being served.
    pub(crate) connections_open: AtomicU64,
    /// Connections refused (429) because the limit was reached.
    pub(crate) connections_refused: AtomicU64,
    /// The object store's request counts, where they are counted (a cluster on etcd).
    pub(crate) storage: std::sync::OnceLock<Arc<lhv_store::CountedStore>>,
}

impl Metrics {
    /// Records one durable write (log write + apply) and whether it succeeded.
    pub fn observe_persist(&self, elapsed: Duration, ok: bool) {
        self.persist.lock().observe(elapsed);
        if !ok {
            *self.persist_failures.lock() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, catalog: &Catalog) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP vectord_http_request_duration_seconds HTTP requests by route template, method and status.\n",
        );
        out.push_str("# TYPE vectord_http_request_duration_seconds histogram\n");
        for ((route, method, status), histogram) in self.requests.lock().iter() {
            let labels = format!("route=\"{}\",method=\"{method}\",status=\"{status}\"", escape(route));
            histogram.render(&mut out, "vectord_http_request_duration_seconds", &labels);
        }
        out.push_str("# HELP vectord_persist_duration_seconds Durable writes: log write and apply.\n");
        out.push_str("# TYPE vectord_persist_duration_seconds histogram\n");
        self.persist.lock().render(&mut out, "vectord_persist_duration_seconds", "");
        out.push_str("# HELP vectord_persist_failures_total Durable writes that failed in storage.\n");
        out.push_str("# TYPE vectord_persist_failures_total counter\n");
        let _ = writeln!(out, "vectord_persist_failures_total {}", self.persist_failures.lock());
        out.push_str("# HELP vectord_connections_open Connections being served.\n");
        out.push_str("# TYPE vectord_connections_open gauge\n");
        let _ = writeln!(out, "vectord_connections_open {}", self.connections_open.load(Ordering::Relaxed));
        out.push_str("# HELP vectord_connections_refused_total Connections refused at the connection limit.\n");
        out.push_str("# TYPE vectord_connections_refused_total counter\n");
        let _ = writeln!(out, "vectord_connections_refused_total {}", self.connections_refused.load(Ordering::Relaxed));

        if let Some(storage) = self.storage.get() {
            let requests = storage.requests();
            out.push_str("# HELP vectord_storage_requests_total Requests made of object storage, by kind.\n");
            out.push_str("# TYPE vectord_storage_requests_total counter\n");
            for (kind, count) in [
                ("read", requests.reads),
                ("write", requests.writes),
                ("list", requests.lists),
                ("delete", requests.deletes),
            ] {
                let _ = writeln!(out, "vectord_storage_requests_total{{kind=\"{kind}\"}} {count}");
            }
        }

        let statuses = catalog.list();
        out.push_str("# HELP vectord_indexes Indexes by state.\n# TYPE vectord_indexes gauge\n");
        for state in ["loading", "ready", "unavailable"] {
            let count = statuses.iter().filter(|s| state_name(&s.state) == state).count();
            let _ = writeln!(out, "vectord_indexes{{state=\"{state}\"}} {count}");
        }
        out.push_str("# HELP vectord_index_vectors Live vectors per index.\n# TYPE vectord_index_vectors gauge\n");
        let mut memory = String::from(
            "# HELP vectord_index_memory_bytes Memory held by an index's vectors and graph.\n\
             # TYPE vectord_index_memory_bytes gauge\n",
        );
        let mut disk = String::from(
            "# HELP vectord_index_disk_bytes Bytes of an index's exact vectors kept on disk (on_disk), read in place \
             from its snapshot file.\n\
             # TYPE vectord_index_disk_bytes gauge\n",
        );
        for status in &statuses {
            if let Ok(durable) = catalog.get(&status.name) {
                let stats = durable.index().stats();
                let name = escape(&status.name);
                let _ = writeln!(out, "vectord_index_vectors{{index=\"{name}\"}} {}", stats.live);
                let _ = writeln!(memory, "vectord_index_memory_bytes{{index=\"{name}\"}} {}", stats.memory_bytes);
                let _ = writeln!(disk, "vectord_index_disk_bytes{{index=\"{name}\"}} {}", stats.disk_bytes);
            }
        }
        out.push_str(&memory);
        out.push_str(&disk);
        out
    }
}

fn state_name(state: &IndexState) -> &'static str {
    match state {
        IndexState::Loading => "loading",
        IndexState::Ready => "ready",
        IndexState::Unavailable(_) => "unavailable",
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The label a request is counted under: its route's declared path
/// template (set on the answer by admission).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteLabel(pub &'static str);

/// Middleware: times every request and counts it under its route's
/// declared template (a wrong method on a declared path under the path; a
/// URL no route has as `unmatched`).
pub(crate) async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let declared = response.extensions().get::<RouteLabel>().map(|label| label.0.to_owned());
    let route = declared.or(matched).unwrap_or_else(|| "unmatched".to_owned());
    let key = (route, method, response.status().as_u16());
    metrics.requests.lock().entry(key).or_default().observe(started.elapsed());
    response
}
