//! `cargo xtask cluster [--quick]`: the cluster scenario of `smokes/` (3
//! vectord processes over one bucket of a real S3 server started for it, a
//! client writing and searching through all of them, the writer killed with
//! SIGKILL mid-stream): acknowledged writes lost (0), failover time, replica
//! lag, and throughput with 1 and 3 processes. `ci` runs the quick mode.

use std::path::Path;
use std::process::Command;

use crate::run;
use crate::servers::Servers;

pub(crate) fn cluster(root: &Path, args: &[&str]) -> Result<(), String> {
    let quick = match args {
        [] => false,
        ["--quick"] => true,
        _ => return Err("usage: cargo xtask cluster [--quick]".into()),
    };
    crate::build_service_binaries()?;
    crate::servers::install(root)?;
    let servers = crate::servers::start(root)?;
    run_scenario(root, &servers, quick, crate::ci::seed()?)
}

/// Runs the scenario against the S3 server of `servers`, its vectors drawn from `seed`.
pub(crate) fn run_scenario(root: &Path, servers: &Servers, quick: bool, seed: u64) -> Result<(), String> {
    let binaries = crate::service_binaries_dir(root);
    let bucket = servers.env.iter().find(|(k, _)| k == "LHV_TEST_S3_URL").map(|(_, v)| v.clone()).unwrap_or_default();
    let mut command = Command::new(binaries.join("smokes"));
    command.args(["cluster", "--seed", &seed.to_string(), "--vectord"]).arg(binaries.join("vectord"));
    command.args(["--storage-url", &format!("{bucket}/cluster-{}", std::process::id())]);
    if quick {
        command.arg("--quick");
    }
    command.envs(servers.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    run(&mut command)
}
