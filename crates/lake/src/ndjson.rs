//! Reading landed objects back: delivery writes newline-delimited JSON, compressed by
//! the object's extension. Transform, audit and tests read them through this one place.

use std::io::Read;

/// The text of a landed object, decompressed by its extension: `.gz` (gzip, members
/// concatenated), `.zst` (zstd), anything else as plain UTF-8.
pub fn decode(path: &str, bytes: &[u8]) -> Result<String, String> {
    let mut text = String::new();
    if path.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| e.to_string())?;
    } else if path.ends_with(".zst") {
        zstd::stream::read::Decoder::new(bytes)
            .and_then(|mut d| d.read_to_string(&mut text))
            .map_err(|e| e.to_string())?;
    } else {
        text = String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
