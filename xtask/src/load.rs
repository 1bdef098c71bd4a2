//! `cargo xtask load [--seconds S] [--clients C] [--churn-seconds S]`: the load
//! scenario of `smokes/` against the service binary (mixed traffic with
//! per-route percentiles and RSS, then churn with its RSS bound).

use std::path::Path;
use std::process::Command;

use crate::run;

pub(crate) fn load(root: &Path, args: &[&str]) -> Result<(), String> {
    let mut forwarded: Vec<&str> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match (*arg, rest.next()) {
            (flag @ ("--seconds" | "--clients" | "--churn-seconds"), Some(value)) => forwarded.extend([flag, *value]),
            _ => return Err("usage: cargo xtask load [--seconds S] [--clients C] [--churn-seconds S]".into()),
        }
    }
    crate::build_service_binaries()?;
    let binaries = crate::service_binaries_dir(root);
    let mut command = Command::new(binaries.join("smokes"));
    let seed = crate::ci::seed()?.to_string();
    command.arg("load").args(["--seed", &seed]).arg("--vectord").arg(binaries.join("vectord")).args(&forwarded);
    run(&mut command)
}
