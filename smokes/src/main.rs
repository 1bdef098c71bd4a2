//! `smoke SCENARIO --vectord BINARY [--dataset DIR]`: runs one scenario
//! (g1, g1p, g2) against the real binary, each in a fresh data directory,
//! printing PASS/FAIL per step. `cargo xtask smoke` builds and runs them.

mod crash;
mod enospc;
mod etcd;
mod g1;
mod g1p;
mod g2;
mod harness;
mod load;

use std::path::PathBuf;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let (Some(scenario), Some(binary)) = (args.first(), flag("--vectord")) else {
        eprintln!(
            "usage: smoke g1|g1p|g2|crash|etcd-cluster|enospc|load --vectord BINARY [--dataset DIR] [--cycles N] [--seed S] [--storage-url URL] [--etcd URL] [--quick] [--only SCENARIO,...]"
        );
        return ExitCode::from(2);
    };
    let data = std::env::temp_dir().join(format!("vectord-smoke-{scenario}-{}", std::process::id()));
    let result = match scenario.as_str() {
        "g1" => g1::run(&binary, &data).await,
        "g1p" => g1p::run(&binary, &data).await,
        "crash" => {
            let cycles = flag("--cycles").and_then(|c| c.to_str()?.parse().ok()).unwrap_or(30);
            let seed = flag("--seed").and_then(|c| c.to_str()?.parse().ok()).unwrap_or(7);
            let url =
                flag("--storage-url").map_or_else(|| format!("file://{}", data.display()), |u| u.display().to_string());
            crash::run(&binary, &url, cycles, seed).await
        }
        "etcd-cluster" => match (flag("--storage-url"), flag("--etcd")) {
            (Some(url), Some(etcd)) => {
                let seed = flag("--seed").and_then(|c| c.to_str()?.parse().ok()).unwrap_or(7);
                let quick = args.iter().any(|a| a == "--quick");
                let only: Vec<String> = flag("--only")
                    .map(|names| names.display().to_string().split(',').map(str::to_owned).collect())
                    .unwrap_or_default();
                etcd::run(&binary, &url.display().to_string(), &etcd.display().to_string(), quick, seed, &only).await
            }
            _ => Err("etcd-cluster needs --storage-url s3://bucket/prefix --etcd http://host:port".into()),
        },
        "enospc" => match (flag("--mount"), flag("--ballast")) {
            (Some(mount), Some(ballast)) => enospc::run(&binary, &mount, &ballast).await,
            _ => Err("enospc needs --mount DIR --ballast FILE".into()),
        },
        "load" => {
            let number =
                |name: &str, default: u64| flag(name).and_then(|c| c.to_str()?.parse().ok()).unwrap_or(default);
            load::run(
                &binary,
                &data,
                number("--seconds", 20),
                number("--clients", 8) as usize,
                number("--churn-seconds", 60),
                number("--seed", 0),
            )
            .await
        }
        "g2" => match flag("--dataset") {
            Some(dataset) => g2::run(&binary, &data, &dataset).await,
            None => Err("g2 needs --dataset DIR".into()),
        },
        other => Err(format!("unknown scenario {other}")),
    };
    let _ = std::fs::remove_dir_all(&data);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("smoke: {message}");
            ExitCode::FAILURE
        }
    }
}
