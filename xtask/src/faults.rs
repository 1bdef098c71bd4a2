//! `cargo xtask faults`: the enospc scenario of `smokes/` on a real 8 MiB
//! tmpfs that fills up (needs permission to mount, e.g. root).

use std::path::Path;
use std::process::Command;

use crate::run;

pub(crate) fn faults(root: &Path) -> Result<(), String> {
    crate::build_service_binaries()?;
    let mount = std::env::temp_dir().join(format!("vectord-enospc-{}", std::process::id()));
    std::fs::create_dir_all(&mount).map_err(|e| format!("cannot create {}: {e}", mount.display()))?;
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(&mount).status();
    if !mounted.is_ok_and(|s| s.success()) {
        return Err(format!(
            "cannot mount a tmpfs at {} (this check needs permission to mount, e.g. root)",
            mount.display()
        ));
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
