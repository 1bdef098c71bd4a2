//! `cargo xtask ci`: everything CI checks, in one command, with a fixed seed
//! for every randomized check and the time each step took.
//!
//! The seed is `VECTORD_TEST_SEED` (default [`DEFAULT_SEED`]): proptest gets it
//! as `PROPTEST_RNG_SEED`, schemathesis as `--seed`, the crash, cluster and
//! load scenarios as `--seed`. The same seed gives the same generated cases, so a
//! submission passes or fails on its merits; another seed is one variable away.
//!
//! Every cargo step builds `--all-features`: the `cluster` feature (etcd's
//! client) is linted, tested and documented with the rest.
//!
//! Tools that do not need the workspace build (the S3 server, which `cargo
//! install` compiles, and the Python venvs) are prepared on a second thread
//! while clippy and the ci-profile build run.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{api_fuzz, cargo, cluster, crash, faults, load, qdrant_clients, servers, smoke, venv};

/// The variable that picks another seed for CI's randomized checks.
pub(crate) const SEED_VAR: &str = "VECTORD_TEST_SEED";
/// The seed CI uses unless told otherwise.
pub(crate) const DEFAULT_SEED: u64 = 20_261_202;

/// The seed for randomized checks: `VECTORD_TEST_SEED`, else the default.
pub(crate) fn seed() -> Result<u64, String> {
    match std::env::var(SEED_VAR) {
        Ok(value) => value.trim().parse().map_err(|e| format!("{SEED_VAR}={value:?}: {e}")),
        Err(_) => Ok(DEFAULT_SEED),
    }
}

/// How long each step took, printed as the run goes and again at the end.
#[derive(Default)]
struct Timings(Vec<(&'static str, Duration)>);

impl Timings {
    fn step(&mut self, name: &'static str, work: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
        let started = Instant::now();
        let result = work();
        let took = started.elapsed();
        eprintln!("xtask: step {name}: {} in {took:.1?}", if result.is_ok() { "passed" } else { "FAILED" });
        self.0.push((name, took));
        result
    }

    fn report(&self, total: Duration) {
        eprintln!("xtask: time per step:");
        for (name, took) in &self.0 {
            eprintln!("xtask:   {name:<22} {:>7.1} s", took.as_secs_f64());
        }
        eprintln!("xtask:   {:<22} {:>7.1} s", "total", total.as_secs_f64());
    }
}

pub(crate) fn ci(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let seed = seed()?;
    eprintln!("xtask: randomized checks use seed {seed} (set {SEED_VAR} to run them with another)");
    let mut timings = Timings::default();
    let result = steps(root, seed, &mut timings);
    timings.report(started.elapsed());
    result
}

fn steps(root: &Path, seed: u64, timings: &mut Timings) -> Result<(), String> {
    // etcd and protoc (the `cluster` feature's build needs it) come from Debian, first.
    timings.step("system packages", crate::system::install)?;
    let tools = std::thread::scope(|scope| {
        let tools = scope.spawn(|| prepare_tools(root));
        let built = timings
            .step("fmt", || cargo(&["fmt", "--all", "--", "--check"], &[]))
            .and_then(|()| {
                timings.step("clippy", || {
                    cargo(&["clippy", "--workspace", "--all-features", "--all-targets", "--", "-D", "warnings"], &[])
                })
            })
            .and_then(|()| timings.step("build (ci profile)", crate::build_service_binaries));
        let tools = tools.join().unwrap_or_else(|_| Err("preparing the test tools panicked".into()));
        built.and(tools)
    });
    tools?;
    let seed_text = seed.to_string();
    let servers = servers::start(root)?;
    let mut env: Vec<(&str, &str)> = servers.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.push(("PROPTEST_RNG_SEED", &seed_text));
    timings.step("test", || cargo(&["test", "--workspace", "--all-features", "--profile", "ci"], &env))?;
    timings.step("smoke", || smoke::smoke(root, "all"))?;
    timings.step("crash (file)", || crash::run_scenario(root, "30", seed, None))?;
    timings.step("crash (s3)", || crash::run_scenario(root, "10", seed, Some(&servers)))?;
    timings.step("cluster (etcd)", || cluster::run_etcd_scenarios(root, &servers, true, seed, None))?;
    timings.step("qdrant-clients (cluster)", || qdrant_clients::qdrant_clients_on_cluster(root, &servers))?;
    drop(servers);
    timings.step("faults", || faults::faults_or_skip(root))?;
    timings.step("api-fuzz", || api_fuzz::api_fuzz(root, seed, None))?;
    timings.step("qdrant-clients", || qdrant_clients::qdrant_clients(root))?;
    timings.step("load", || load::load(root, &["--seconds", "20", "--clients", "8", "--churn-seconds", "60"]))?;
    timings.step("doc", || {
        cargo(&["doc", "--workspace", "--all-features", "--no-deps"], &[("RUSTDOCFLAGS", "-D warnings")])
    })
}

/// Installs the servers and Python packages the later steps use.
fn prepare_tools(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    servers::install(root)?;
    api_fuzz::install(root)?;
    venv::venv(root, qdrant_clients::VENV, qdrant_clients::PACKAGES)?;
    eprintln!("xtask: test tools ready after {:.1?}", started.elapsed());
    Ok(())
}
