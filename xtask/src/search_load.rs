//! Searches over HTTP/1.1 keep-alive connections from client threads: what
//! a benchmark asks of a running vectord, with the client's own cost kept
//! small (request bodies serialised up front, answers read by their length).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// One keep-alive connection.
pub(crate) struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    pub(crate) fn open(port: u16) -> Result<Self, String> {
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect to :{port}: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Self { reader: BufReader::new(stream) })
    }

    /// Sends a request and reads the whole answer: its status and body.
    pub(crate) fn request(&mut self, method: &str, path: &str, body: &str) -> Result<(u16, Vec<u8>), String> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.reader.get_mut();
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.as_bytes()))
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let status = line.get(9..12).and_then(|s| s.parse().ok()).ok_or(format!("bad status line {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let length = length.ok_or("an answer without Content-Length")?;
        let mut answer = vec![0u8; length];
        self.reader.read_exact(&mut answer).map_err(|e| e.to_string())?;
        Ok((status, answer))
    }
}

/// The body of a search for `vector`'s `k` nearest with `ef` candidates.
pub(crate) fn search_body(vector: &[f32], k: usize, ef: usize) -> String {
    let components: Vec<String> = vector.iter().map(f32::to_string).collect();
    format!("{{\"vector\":[{}],\"k\":{k},\"ef\":{ef}}}", components.join(","))
}

/// The ids a search answered, nearest first.
pub(crate) fn search_ids(connection: &mut Connection, path: &str, body: &str) -> Result<Vec<String>, String> {
    let (status, answer) = connection.request("POST", path, body)?;
    if status != 200 {
        return Err(format!("search answered {status}: {}", String::from_utf8_lossy(&answer)));
    }
    let answer: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    let hits = answer["results"].as_array().ok_or("an answer without results")?;
    Ok(hits.iter().filter_map(|hit| hit["id"].as_str().map(str::to_owned)).collect())
}

/// What a load run measured.
pub(crate) struct Load {
    pub(crate) queries: usize,
    pub(crate) seconds: f64,
    /// Latencies in milliseconds, sorted.
    pub(crate) latencies: Vec<f64>,
}

impl Load {
    pub(crate) fn qps(&self) -> f64 {
        self.queries as f64 / self.seconds
    }

    /// The latency at `fraction` (0.5 for the median), in milliseconds.
    pub(crate) fn percentile(&self, fraction: f64) -> f64 {
        let at = ((self.latencies.len() as f64 * fraction) as usize).min(self.latencies.len().saturating_sub(1));
        self.latencies.get(at).copied().unwrap_or(f64::NAN)
    }
}

/// Sends `bodies` (each once, in order) to `path` from `clients` threads,
/// each on its own connection; every answer must be 200.
pub(crate) fn run(port: u16, path: &str, bodies: &[String], clients: usize) -> Result<Load, String> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let per_client: Vec<Result<Vec<f64>, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut connection = Connection::open(port)?;
                    let mut latencies = Vec::new();
                    while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let sent = Instant::now();
                        let (status, answer) = connection.request("POST", path, body)?;
                        if status != 200 {
                            return Err(format!("search answered {status}: {}", String::from_utf8_lossy(&answer)));
                        }
                        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                    }
                    Ok(latencies)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Err("a client thread panicked".into()))).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = Vec::with_capacity(bodies.len());
    for client in per_client {
        latencies.extend(client?);
    }
    latencies.sort_by(f64::total_cmp);
    Ok(Load { queries: latencies.len(), seconds, latencies })
}
