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
    let usage = || "usage: cargo xtask cluster [--quick] [--only SCENARIO,...]".to_owned();
    let (mut quick, mut only) = (false, None);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--quick" => quick = true,
            "--only" => only = Some(rest.next().ok_or_else(usage)?.to_string()),
            _ => return Err(usage()),
        }
    }
    crate::build_service_binaries()?;
    crate::servers::install(root)?;
    let servers = crate::servers::start(root)?;
    let seed = crate::ci::seed()?;
    run_etcd_scenarios(root, &servers, quick, seed, only.as_deref())
}

/// Runs the etcd cluster's scenarios against the servers of `servers`, every draw from `seed`.
/// `only` names the scenarios to run (every one if None).
pub(crate) fn run_etcd_scenarios(
    root: &Path,
    servers: &Servers,
    quick: bool,
    seed: u64,
    only: Option<&str>,
) -> Result<(), String> {
    let binaries = crate::service_binaries_dir(root);
    let mut command = Command::new(binaries.join("smokes"));
    command.args(["etcd-cluster", "--seed", &seed.to_string(), "--vectord"]).arg(binaries.join("vectord"));
    let bucket = servers.var("LHV_TEST_S3_URL");
    command.args(["--storage-url", &format!("{bucket}/etcd-cluster-{}", std::process::id())]);
    command.args(["--etcd", &servers.var("LHV_TEST_ETCD")]);
    if quick {
        command.arg("--quick");
    }
    if let Some(only) = only {
        command.args(["--only", only]);
    }
    command.envs(servers.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    run(&mut command)
}
