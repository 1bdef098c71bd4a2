//! Any bytes into the log decoder: an error, or records whose encoding decodes
//! and encodes again to the same bytes (compared as bytes, so that NaN
//! components compare equal). Never a panic.
#![no_main]

use lhv_format::{decode_log, encode_record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(contents) = decode_log(data) else { return };
    assert_eq!(contents.valid_len + contents.torn_tail, data.len());
    let mut encoded = Vec::new();
    for record in &contents.records {
        encode_record(record, &mut encoded).expect("a decoded record encodes");
    }
    let again = decode_log(&encoded).expect("re-encoded records decode");
    let mut encoded_again = Vec::new();
    for record in &again.records {
        encode_record(record, &mut encoded_again).expect("a decoded record encodes");
    }
    assert_eq!(encoded_again, encoded);
});
