//! Reading landed objects back: delivery writes newline-delimited JSON, compressed by
//! the object's extension. Transform, audit and tests read them through this one place.

use std::io::Read;

/// The text of a landed object, decompressed by its extension: `.gz` (gzip, members
/// concatenated), `.zst` (zstd), anything else as plain UTF-8.
pub fn decode(path: &str, bytes: &[u8]) -> Result<String, String> {
    let mut text = String::new();
    decode_into(path, bytes, &mut text)?;
    Ok(text)
}

/// [`decode`] into `text` (emptied first), for a reader of many objects: one buffer reused
/// is one allocation, where a new `String` per object grows by doubling (a copy of the
/// object's text each time) through memory the kernel must zero again (the parse stage of
/// a full refresh decompresses a few thousand 5 MiB objects).
pub fn decode_into(path: &str, bytes: &[u8], text: &mut String) -> Result<(), String> {
    text.clear();
    if path.ends_with(".gz") {
        text.reserve(gzip_size_hint(bytes));
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_string(text)
            .map_err(|e| e.to_string())?;
    } else if path.ends_with(".zst") {
        zstd::stream::read::Decoder::new(bytes)
            .and_then(|mut d| d.read_to_string(text))
            .map_err(|e| e.to_string())?;
    } else {
        text.push_str(std::str::from_utf8(bytes).map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// The decompressed size a gzip object announces: its last member's ISIZE (the trailer's
/// last four bytes, the size modulo 2^32), capped at what deflate could expand the object
/// to, since a damaged trailer must not make a huge allocation. A hint only: a wrong one
/// costs a reallocation, never a wrong result.
fn gzip_size_hint(bytes: &[u8]) -> usize {
    const MAX_DEFLATE_RATIO: usize = 1032;
    let Some(trailer) = bytes.len().checked_sub(4).map(|at| &bytes[at..]) else {
        return 0;
    };
    let isize = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]) as usize;
    isize.min(bytes.len().saturating_mul(MAX_DEFLATE_RATIO)) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_reused_buffer_holds_each_object_alone_whatever_its_trailer_says() {
        let gz = |text: &str| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(text.as_bytes()).unwrap();
            gz.finish().unwrap()
        };
        let long = "{\"a\":1}\n".repeat(10_000);
        let mut text = String::new();
        decode_into("x.ndjson.gz", &gz(&long), &mut text).unwrap();
        assert_eq!(text, long);
        // Two members: the hint (the last member's size) is short, the text is whole.
        let mut two = gz(&long);
        two.extend(gz("{\"b\":2}\n"));
        decode_into("x.ndjson.gz", &two, &mut text).unwrap();
        assert_eq!(text, format!("{long}{{\"b\":2}}\n"));
        // A trailer that claims 4 GiB allocates no more than deflate could expand to.
        let mut lying = gz("{\"c\":3}\n");
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(gzip_size_hint(&lying) <= lying.len() * 1032 + 1);
        assert!(decode_into("x.ndjson.gz", &lying, &mut text).is_err());
        assert_eq!(gzip_size_hint(b"ab"), 0);
        decode_into("x.ndjson", b"{}\n", &mut text).unwrap();
        assert_eq!(text, "{}\n");
    }

    #[test]
    fn each_extension_is_decoded_and_a_wrong_one_is_an_error() {
        let text = "{\"a\":1}\n{\"a\":2}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(text.as_bytes(), 1).unwrap();
        assert_eq!(decode("x.ndjson.gz", &gz).unwrap(), text);
        assert_eq!(decode("x.ndjson.zst", &zst).unwrap(), text);
        assert_eq!(decode("x.ndjson", text.as_bytes()).unwrap(), text);
        assert!(decode("x.ndjson.gz", &zst).is_err());
        assert!(
            decode("x.ndjson", &gz).is_err(),
            "gzip bytes are not UTF-8 text"
        );
    }
}
