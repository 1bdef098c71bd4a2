//! Debian packages the checks need from the system, pinned: etcd (the
//! cluster's control plane, started by the tests on loopback) and the
//! protobuf compiler with its well-known types (the `cluster` feature's etcd
//! client compiles etcd's `.proto` files when it builds).
//!
//! Installed with `apt-get` when missing or at another version; that needs
//! root (CI runs as root). Elsewhere the error says what to install.

use std::process::Command;

use crate::run;

/// Package and the version the checks were made with (Debian 12).
const PACKAGES: &[(&str, &str)] =
    &[("etcd-server", "3.4.23-4+b4"), ("protobuf-compiler", "3.21.12-3"), ("libprotobuf-dev", "3.21.12-3")];

/// The installed version of `package`, if any.
fn installed(package: &str) -> Option<String> {
    let output = Command::new("dpkg-query").args(["-W", "-f=${Status} ${Version}", package]).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let version = text.strip_prefix("install ok installed ")?;
    Some(version.trim().to_owned())
}

/// Installs every package of [`PACKAGES`] not installed at its version.
pub(crate) fn install() -> Result<(), String> {
    let missing: Vec<String> = PACKAGES
        .iter()
        .filter(|(package, version)| installed(package).as_deref() != Some(*version))
        .map(|(package, version)| format!("{package}={version}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.ok().as_deref() != Some("0") {
        return Err(format!(
            "the checks need these Debian packages: {} (install them with apt-get as root, or run as root)",
            missing.join(" ")
        ));
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let install = |command: &mut Command| {
        run(command
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing))
    };
    if install(&mut Command::new("apt-get")).is_err() {
        // A fresh machine may have no package lists yet.
        run(Command::new("apt-get").args(["update", "-q"]))?;
        install(&mut Command::new("apt-get"))?;
    }
    Ok(())
}
