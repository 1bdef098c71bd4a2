//! Python virtual environments under `target/test-tools` for the checks
//! that run Python tools (schemathesis, the Qdrant client suites, the S3
//! server), with pinned packages so that a new release cannot change what
//! CI checks.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

/// The venv `name` holding exactly `packages` (pinned requirement lines,
/// optionally with `--hash=`: pip then checks every download against it),
/// made or brought up to date when its record of them differs.
pub(crate) fn venv(root: &Path, name: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let venv = root.join("target").join("test-tools").join(name);
    let record = venv.join("xtask-requirements.txt");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&record).ok().as_deref() != Some(wanted.as_str()) {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        let requirements = venv.join("xtask-requirements.in");
        std::fs::write(&requirements, format!("{wanted}\n"))
            .map_err(|e| format!("cannot write {}: {e}", requirements.display()))?;
        let pip = venv.join("bin").join("pip");
        run(Command::new(pip).args(["install", "--quiet", "--disable-pip-version-check", "-r"]).arg(&requirements))?;
        std::fs::write(&record, wanted).map_err(|e| format!("cannot write {}: {e}", record.display()))?;
    }
    Ok(venv)
}
