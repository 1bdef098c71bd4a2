//! `cargo xtask crash [--cycles N] [--storage file|s3]`: the crash scenario of
//! `smokes/` (concurrent writers and searchers against the service binary,
//! SIGKILL at random moments, restart, exact check of everything acknowledged)
//! on a local directory or on a real S3 server started for it.

use std::path::Path;
use std::process::Command;

use crate::run;
use crate::servers::Servers;

pub(crate) fn crash(root: &Path, args: &[&str]) -> Result<(), String> {
    let mut cycles = "30".to_owned();
    let mut storage = "file".to_owned();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match (*arg, rest.next()) {
            ("--cycles", Some(value)) => cycles = (*value).to_owned(),
            ("--storage", Some(value)) => storage = (*value).to_owned(),
            _ => return Err("usage: cargo xtask crash [--cycles N] [--storage file|s3]".into()),
        }
    }
    crate::build_service_binaries()?;
    let seed = crate::ci::seed()?;
    match storage.as_str() {
        "file" => run_scenario(root, &cycles, seed, None),
        "s3" => {
            crate::servers::install(root)?;
            let servers = crate::servers::start(root)?;
            run_scenario(root, &cycles, seed, Some(&servers))
        }
        other => Err(format!("unknown storage {other}: use file or s3")),
    }
}

/// Runs the scenario with `seed` (which picks the writes and the kill
/// moments); with `servers`, on their S3 server, else on a local directory.
pub(crate) fn run_scenario(root: &Path, cycles: &str, seed: u64, servers: Option<&Servers>) -> Result<(), String> {
    let binaries = crate::service_binaries_dir(root);
    let mut command = Command::new(binaries.join("smokes"));
    command.args(["crash", "--cycles", cycles, "--seed", &seed.to_string()]);
    command.arg("--vectord").arg(binaries.join("vectord"));
    if let Some(servers) = servers {
        let bucket =
            servers.env.iter().find(|(k, _)| k == "LHV_TEST_S3_URL").map(|(_, v)| v.clone()).unwrap_or_default();
        command.args(["--storage-url", &format!("{bucket}/crash-{}", std::process::id())]);
        command.envs(servers.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    run(&mut command)
}
