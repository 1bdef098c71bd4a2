//! `cargo xtask smoke g1|g1p|g2|all`: builds the service binary and runs the
//! end-to-end scenarios of `smokes/` against it.

use std::path::Path;
use std::process::Command;

use crate::run;

const ALL: [&str; 3] = ["g1", "g1p", "g2"];

pub(crate) fn smoke(root: &Path, which: &str) -> Result<(), String> {
    let scenarios: Vec<&str> = match which {
        "all" => ALL.to_vec(),
        one if ALL.contains(&one) => vec![one],
        other => return Err(format!("unknown scenario {other}: use g1, g1p, g2 or all")),
    };
    crate::build_service_binaries()?;
    let binaries = crate::service_binaries_dir(root);
    let dataset = std::env::var_os("LHV_DATASET_DIR")
        .map_or_else(|| root.join("..").join("shared").join("data").join("minilm-dev"), Into::into);
    for scenario in scenarios {
        let mut command = Command::new(binaries.join("smokes"));
        command.arg(scenario).arg("--vectord").arg(binaries.join("vectord")).arg("--dataset").arg(&dataset);
        run(&mut command)?;
    }
    Ok(())
}
