//! A memory cap for one process: a cgroup of its own with a hard limit that
//! counts its page cache too (so a capped process cannot keep a mapped file
//! resident beyond the cap). cgroup v2 (`memory.max`, `memory.swap.max` 0)
//! where a v2 hierarchy has the memory controller, else cgroup v1
//! (`memory.limit_in_bytes`, and `memory.memsw.limit_in_bytes` where swap is
//! accounted). Needs a writable cgroup file system (root, or a delegated
//! subtree).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A cgroup with a memory limit; removed when dropped (once its process has exited).
pub(crate) struct MemoryCap {
    dir: PathBuf,
    version: u8,
    bytes: u64,
}

impl MemoryCap {
    /// A new cgroup limited to `bytes`, or why none could be made.
    pub(crate) fn create(name: &str, bytes: u64) -> Result<Self, String> {
        let mut reasons = Vec::new();
        for (mount, _) in mounts("cgroup2") {
            match Self::create_v2(&mount, name, bytes) {
                Ok(cap) => return Ok(cap),
                Err(reason) => reasons.push(reason),
            }
        }
        let v1 = mounts("cgroup").into_iter().filter(|(_, options)| options.split(',').any(|o| o == "memory"));
        for (mount, _) in v1 {
            match Self::create_v1(&mount, name, bytes) {
                Ok(cap) => return Ok(cap),
                Err(reason) => reasons.push(reason),
            }
        }
        if reasons.is_empty() {
            reasons.push("no cgroup file system with a memory controller is mounted".into());
        }
        Err(reasons.join("; "))
    }

    fn create_v2(mount: &Path, name: &str, bytes: u64) -> Result<Self, String> {
        let controllers = std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
        if !controllers.split_whitespace().any(|c| c == "memory") {
            return Err(format!("{}: cgroup v2 without the memory controller", mount.display()));
        }
        // Children get the memory controller only if the parent hands it down.
        let _ = std::fs::write(mount.join("cgroup.subtree_control"), "+memory");
        let dir = mount.join(name);
        make_dir(&dir)?;
        let cap = Self { dir, version: 2, bytes };
        cap.write("memory.max", &bytes.to_string())?;
        if cap.dir.join("memory.swap.max").exists() {
            cap.write("memory.swap.max", "0")?;
        }
        Ok(cap)
    }

    fn create_v1(mount: &Path, name: &str, bytes: u64) -> Result<Self, String> {
        let dir = mount.join(name);
        make_dir(&dir)?;
        let cap = Self { dir, version: 1, bytes };
        cap.write("memory.limit_in_bytes", &bytes.to_string())?;
        if cap.dir.join("memory.memsw.limit_in_bytes").exists() {
            cap.write("memory.memsw.limit_in_bytes", &bytes.to_string())?;
        }
        Ok(cap)
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        std::fs::write(&path, value).map_err(|e| format!("cannot write {value} to {}: {e}", path.display()))
    }

    /// A command that runs `program` inside the cgroup from its first
    /// instruction: a shell moves itself in, then becomes the program (same pid).
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("echo $$ > '{}' && exec \"$0\" \"$@\"", self.dir.join("cgroup.procs").display()))
            .arg(program);
        command
    }

    /// How the cap was set, for the report.
    pub(crate) fn describe(&self) -> String {
        let (limit, swap) = match self.version {
            2 => ("memory.max", "memory.swap.max 0"),
            _ => ("memory.limit_in_bytes", "no swap on this machine or memory.memsw.limit_in_bytes"),
        };
        format!("cgroup v{} `{}` {} MiB (page cache included; {swap})", self.version, limit, self.bytes >> 20)
    }

    /// The most the cgroup ever held (page cache included), where the kernel reports it.
    pub(crate) fn peak(&self) -> Option<u64> {
        let file = if self.version == 2 { "memory.peak" } else { "memory.max_usage_in_bytes" };
        std::fs::read_to_string(self.dir.join(file)).ok()?.trim().parse().ok()
    }
}

impl Drop for MemoryCap {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Mount points and options of file systems of `kind` (from /proc/mounts).
fn mounts(kind: &str) -> Vec<(PathBuf, String)> {
    let table = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    table
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [_, point, fs, options, ..] if *fs == kind => Some((PathBuf::from(point), (*options).to_owned())),
                _ => None,
            }
        })
        .collect()
}

fn make_dir(dir: &Path) -> Result<(), String> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create {}: {e}", dir.display())),
    }
}
