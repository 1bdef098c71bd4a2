//! Any bytes into the log decoder: an error, or records that encode and
//! decode back to the same records. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lhv_format::{decode_log, encode_record};

fuzz_target!(|data: &[u8]| {
    let Ok(contents) = decode_log(data) else { return };
    assert_eq!(contents.valid_len + contents.torn_tail, data.len());
    let mut encoded = Vec::new();
    for record in &contents.records {
        encode_record(record, &mut encoded).expect("a decoded record encodes");
    }
    let again = decode_log(&encoded).expect("re-encoded records decode");
    assert_eq!(again.records, contents.records);
});
