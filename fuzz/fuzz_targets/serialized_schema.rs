//! Reading a serialized type's schema, then a message of it, from arbitrary
//! bytes (what `horus topic echo`, the recorder and Python do with a
//! region's schema area and its frames) never panics or allocates without
//! bound; a schema that reads re-encodes to one that reads the same, and a
//! message that decodes encodes back to bytes that decode.
//!
//! Input: `split, bytes...`: the first `split * 4` bytes (at most the rest)
//! are the schema, the others one message.
#![no_main]

use horus::serialized::{Schema, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (schema, message) = rest.split_at((usize::from(split) * 4).min(rest.len()));
    let Ok(schema) = Schema::decode(schema) else {
        return;
    };
    assert_eq!(Schema::decode(&schema.encode()).as_ref(), Ok(&schema));
    if let Ok(value) = decode(&schema, message) {
        let _ = value.to_string();
        if let Ok(bytes) = encode(&schema, &value) {
            assert!(decode(&schema, &bytes).is_ok(), "re-encoded bytes decode");
        }
    }
});
