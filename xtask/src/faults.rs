//! `cargo xtask faults`: the enospc scenario of `smokes/` on a real 8 MiB
//! tmpfs that fills up. Mounting needs privileges: as root it mounts
//! directly; otherwise it runs itself in a new user and mount namespace
//! (`unshare --user --map-root-user --mount`), where it may mount a tmpfs.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::run;

/// The flag the re-run inside the namespace gets.
const IN_NAMESPACE: &str = "--in-namespace";

/// Where the tmpfs can be mounted, if anywhere.
enum Mounting {
    Direct,
    UserNamespace,
}

/// Runs the scenario; an error if no tmpfs can be mounted.
pub(crate) fn faults(root: &Path, args: &[&str]) -> Result<(), String> {
    match args {
        [] => {}
        [flag] if *flag == IN_NAMESPACE => return mount_and_run(root),
        _ => return Err("usage: cargo xtask faults".into()),
    }
    crate::build_service_binaries()?;
    match mounting() {
        Some(Mounting::Direct) => mount_and_run(root),
        Some(Mounting::UserNamespace) => {
            let xtask = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
            let mut command = Command::new("unshare");
            command.args(["--user", "--map-root-user", "--mount", "--"]).arg(xtask).args(["faults", IN_NAMESPACE]);
            run(&mut command)
        }
        None => Err("cannot mount a tmpfs, neither directly (not root) nor in a user namespace \
                     (unprivileged user namespaces disabled?)"
            .into()),
    }
}

/// In CI: the scenario where a tmpfs can be mounted, else a loud skip.
pub(crate) fn faults_or_skip(root: &Path) -> Result<(), String> {
    if mounting().is_none() {
        eprintln!(
            "xtask: SKIPPED `cargo xtask faults`: this machine cannot mount a tmpfs (not root, no user namespaces)"
        );
        return Ok(());
    }
    faults(root, &[])
}

fn mounting() -> Option<Mounting> {
    let probe = std::env::temp_dir().join(format!("vectord-mount-probe-{}", std::process::id()));
    std::fs::create_dir_all(&probe).ok()?;
    let tmpfs = ["-t", "tmpfs", "-o", "size=1m", "tmpfs"];
    let quiet = |command: &mut Command| command.stdout(Stdio::null()).stderr(Stdio::null()).status();
    let found = if quiet(Command::new("mount").args(tmpfs).arg(&probe)).is_ok_and(|s| s.success()) {
        let _ = quiet(Command::new("umount").arg(&probe));
        Some(Mounting::Direct)
    } else {
        // The mount vanishes with the namespace.
        let mut command = Command::new("unshare");
        command.args(["--user", "--map-root-user", "--mount", "--", "mount"]).args(tmpfs).arg(&probe);
        quiet(&mut command).is_ok_and(|s| s.success()).then_some(Mounting::UserNamespace)
    };
    let _ = std::fs::remove_dir(&probe);
    found
}

fn mount_and_run(root: &Path) -> Result<(), String> {
    let mount = std::env::temp_dir().join(format!("vectord-enospc-{}", std::process::id()));
    std::fs::create_dir_all(&mount).map_err(|e| format!("cannot create {}: {e}", mount.display()))?;
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(&mount).status();
    if !mounted.is_ok_and(|s| s.success()) {
        let _ = std::fs::remove_dir(&mount);
        return Err(format!("cannot mount a tmpfs at {}", mount.display()));
    }
    // 2 MiB of ballast: removing it is how the scenario frees space.
    let ballast = mount.join("ballast");
    let result = std::fs::write(&ballast, vec![0u8; 2 << 20])
        .map_err(|e| format!("cannot write the ballast: {e}"))
        .and_then(|()| {
            let binaries = crate::service_binaries_dir(root);
            let mut command = Command::new(binaries.join("smokes"));
            command
                .arg("enospc")
                .arg("--vectord")
                .arg(binaries.join("vectord"))
                .arg("--mount")
                .arg(&mount)
                .arg("--ballast")
                .arg(&ballast);
            run(&mut command)
        });
    let _ = Command::new("umount").arg(&mount).status();
    let _ = std::fs::remove_dir(&mount);
    result
}
