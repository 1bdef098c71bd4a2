//! `cargo xtask cluster [--quick]`: the cluster scenarios of `smokes/`
//! against a real etcd and a real S3 server started for them
//! (`smokes/src/etcd/`: capacity over four members' budgets, failover under
//! SIGKILL, fencing of paused writers, the create/drop race replays,
//! rebalancing when a member joins, the object-store cost). `ci` runs the
//! quick mode.

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
    let seed = crate::ci::seed()?;
    run_etcd_scenarios(root, &servers, quick, seed)
}

/// Runs the etcd cluster's scenarios against the servers of `servers`, every draw from `seed`.
pub(crate) fn run_etcd_scenarios(root: &Path, servers: &Servers, quick: bool, seed: u64) -> Result<(), String> {
    let binaries = crate::service_binaries_dir(root);
    let mut command = Command::new(binaries.join("smokes"));
    command.args(["etcd-cluster", "--seed", &seed.to_string(), "--vectord"]).arg(binaries.join("vectord"));
    let bucket = servers.var("LHV_TEST_S3_URL");
    command.args(["--storage-url", &format!("{bucket}/etcd-cluster-{}", std::process::id())]);
    command.args(["--etcd", &servers.var("LHV_TEST_ETCD")]);
    if quick {
        command.arg("--quick");
    }
    command.envs(servers.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    run(&mut command)
}
