//! `cargo xtask load [--seconds S] [--clients C] [--churn-seconds S]`: the load
//! scenario of `smokes/` against the release binary (mixed traffic with
//! per-route percentiles and RSS, then churn with its RSS bound).

use std::path::Path;
use std::process::Command;

use crate::{cargo, run};

pub(crate) fn load(root: &Path, args: &[&str]) -> Result<(), String> {
    let mut forwarded: Vec<&str> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match (*arg, rest.next()) {
            (flag @ ("--seconds" | "--clients" | "--churn-seconds"), Some(value)) => forwarded.extend([flag, *value]),
            _ => return Err("usage: cargo xtask load [--seconds S] [--clients C] [--churn-seconds S]".into()),
        }
    }
    cargo(&["build", "--release", "-p", "vectord", "-p", "smokes"], &[])?;
    let release = root.join("target").join("release");
    let mut command = Command::new(release.join("smokes"));
    command.arg("load").arg("--vectord").arg(release.join("vectord")).args(&forwarded);
    run(&mut command)
}
