//! Reading landed objects back: delivery writes newline-delimited JSON, compressed by
//! the object's extension. Transform, audit and tests read them through this one place.

use std::io::Read;

use crate::gunzip::{Gunzip, MAX_DEFLATE_RATIO};

/// Why a landed object's text cannot be read. Its message is the one a rejected object's
/// dead letter carries as its detail (transform's `unreadable_object`): a failure of zstd or
/// UTF-8 is shown as that error itself, which it is (`transparent`: the message and the
/// causes are the underlying error's, printed once).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A `.gz` object with no bytes at all.
    #[error("empty gzip object")]
    EmptyGzip,
    /// A gzip member is damaged or truncated, or bytes after the last member are not one.
    #[error("invalid gzip member at byte {at} of {total}")]
    BadGzipMember {
        /// Where the member starts.
        at: usize,
        /// The object's size.
        total: usize,
    },
    /// The zstd stream does not decompress.
    #[error(transparent)]
    Zstd(std::io::Error),
    /// The (decompressed) text is not UTF-8.
    #[error(transparent)]
    Utf8(#[from] std::str::Utf8Error),
}

/// The text of a landed object, decompressed by its extension: `.gz` (gzip, members
/// concatenated), `.zst` (zstd), anything else as plain UTF-8.
pub fn decode(path: &str, bytes: &[u8]) -> Result<String, DecodeError> {
    Decoder::new().decode(path, bytes).map(str::to_owned)
}

/// [`decode`] for a reader of many objects: one decompressor and one buffer, reused. A new
/// `String` per object grows by doubling (a copy of the object's text each time) through
/// memory the kernel must zero again, and the parse stage of a full refresh decompresses a
/// few thousand 5 MiB objects.
pub struct Decoder {
    gunzip: Gunzip,
    buffer: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder with an empty buffer (it grows to the largest object decoded).
    pub fn new() -> Decoder {
        Decoder {
            gunzip: Gunzip::new(),
            buffer: Vec::new(),
        }
    }

    /// The object's text, valid until the next call.
    pub fn decode<'a>(&'a mut self, path: &str, bytes: &'a [u8]) -> Result<&'a str, DecodeError> {
        let len = if path.ends_with(".gz") {
            self.gunzip
                .decompress(bytes, &mut self.buffer, gzip_size_hint(bytes))?
        } else if path.ends_with(".zst") {
            self.buffer.clear();
            zstd::stream::read::Decoder::new(bytes)
                .and_then(|mut d| d.read_to_end(&mut self.buffer))
                .map_err(DecodeError::Zstd)?
        } else {
            return Ok(std::str::from_utf8(bytes)?);
        };
        Ok(std::str::from_utf8(&self.buffer[..len])?)
    }
}

/// The decompressed size a gzip object announces: its last member's ISIZE (the trailer's
/// last four bytes, the size modulo 2^32), capped at what deflate could expand the object
/// to, since a damaged trailer must not make a huge allocation. A hint only: a wrong one
/// costs a retry with more room, never a wrong result.
fn gzip_size_hint(bytes: &[u8]) -> usize {
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

    fn gz(text: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    }

    /// What flate2's `MultiGzDecoder` (the reader before libdeflate) makes of the bytes.
    fn flate2_text(bytes: &[u8]) -> Result<String, std::io::Error> {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut text)?;
        Ok(text)
    }

    #[test]
    fn a_reused_buffer_holds_each_object_alone_whatever_its_trailer_says() {
        let long = "{\"a\":1}\n".repeat(10_000);
        let mut decoder = Decoder::new();
        assert_eq!(decoder.decode("x.ndjson.gz", &gz(&long)).unwrap(), long);
        // A shorter object after a longer one: none of the longer one is left over.
        assert_eq!(decoder.decode("x.ndjson.gz", &gz("{}\n")).unwrap(), "{}\n");
        // Two members: the hint (the last member's size) is short, the text is whole.
        let mut two = gz(&long);
        two.extend(gz("{\"b\":2}\n"));
        assert_eq!(
            decoder.decode("x.ndjson.gz", &two).unwrap(),
            format!("{long}{{\"b\":2}}\n")
        );
        // A trailer that claims 4 GiB allocates no more than deflate could expand to.
        let mut lying = gz("{\"c\":3}\n");
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(gzip_size_hint(&lying) <= lying.len() * 1032 + 1);
        assert!(decoder.decode("x.ndjson.gz", &lying).is_err());
        assert_eq!(gzip_size_hint(b"ab"), 0);
        assert_eq!(decoder.decode("x.ndjson", b"{}\n").unwrap(), "{}\n");
    }

    /// Every member of a concatenated object is read, in order, and damage anywhere (a
    /// truncated or corrupt member, bytes after the last one, nothing at all) is an error,
    /// as it was with flate2: libdeflate alone would stop after the first member.
    #[test]
    fn every_member_is_read_and_any_damage_is_an_error_as_with_flate2() {
        let members: Vec<String> = (0..5)
            .map(|i| format!("{{\"member\":{i}}}\n").repeat(1 + i * 3000))
            .collect();
        let mut object = Vec::new();
        for m in &members {
            object.extend(gz(m));
        }
        object.extend(gz("")); // an empty member is a member too
        let whole = members.concat();
        let mut decoder = Decoder::new();
        assert_eq!(decoder.decode("x.gz", &object).unwrap(), whole);
        assert_eq!(flate2_text(&object).unwrap(), whole);

        let mut trailing = object.clone();
        trailing.extend(b"garbage");
        let mut corrupt = object.clone();
        let middle = gz(&members[0]).len() + 20;
        corrupt[middle] ^= 0xff;
        let damaged: [(&str, &[u8]); 4] = [
            ("truncated", &object[..object.len() - 3]),
            ("trailing bytes", &trailing),
            ("corrupt", &corrupt),
            ("empty", b""),
        ];
        for (what, bytes) in damaged {
            assert!(decoder.decode("x.gz", bytes).is_err(), "{what}");
            assert!(flate2_text(bytes).is_err(), "{what} (flate2)");
        }
        // The decoder is still good after an error.
        assert_eq!(decoder.decode("x.gz", &gz("ok\n")).unwrap(), "ok\n");
    }

    /// Objects of one to four members, every byte of each damaged in turn (one at a time):
    /// the decoder never panics or reads out of bounds, and whatever it accepts is exactly
    /// the text written (each member's CRC-32 and size are checked) or what flate2 reads.
    #[test]
    fn a_damaged_byte_anywhere_gives_an_error_or_the_text_never_other_text() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut decoder = Decoder::new();
        let (mut accepted, mut refused) = (0, 0);
        for members in 1..=4 {
            let texts: Vec<String> = (0..members)
                .map(|m| {
                    (0..(next() % 40))
                        .map(|i| format!("{{\"m\":{m},\"i\":{i},\"r\":{}}}\n", next() % 1000))
                        .collect()
                })
                .collect();
            let mut object = Vec::new();
            for t in &texts {
                object.extend(gz(t));
            }
            let whole = texts.concat();
            assert_eq!(decoder.decode("x.gz", &object).unwrap(), whole);
            for at in 0..object.len() {
                let mut damaged = object.clone();
                damaged[at] ^= 1 << (next() % 8);
                match decoder.decode("x.gz", &damaged) {
                    Ok(text) => {
                        accepted += 1;
                        // A header byte (a time stamp, the OS) may change without harm.
                        let flate2 = flate2_text(&damaged).ok();
                        assert!(
                            text == whole || flate2.as_deref() == Some(text),
                            "byte {at}"
                        );
                    }
                    Err(_) => refused += 1,
                }
            }
        }
        assert!(refused > accepted, "refused {refused}, accepted {accepted}");
    }

    /// A rejected object's dead letter carries the error's message as its detail: the
    /// wording is the lake's, unchanged since the errors were strings.
    #[test]
    fn an_unreadable_object_is_told_in_the_words_its_dead_letter_has_always_carried() {
        let mut decoder = Decoder::new();
        let err = decoder.decode("x.gz", b"").unwrap_err();
        assert_eq!(err.to_string(), "empty gzip object");
        let err = decoder.decode("x.gz", b"not gzip at all").unwrap_err();
        assert_eq!(err.to_string(), "invalid gzip member at byte 0 of 15");
        let latin1 = vec![b'a', 0xff];
        let err = decoder.decode("x.ndjson", &latin1).unwrap_err();
        let utf8 = std::str::from_utf8(&latin1).unwrap_err();
        assert!(matches!(err, DecodeError::Utf8(_)));
        assert_eq!(err.to_string(), utf8.to_string());
        let err = decoder.decode("x.zst", b"not zstd").unwrap_err();
        let zstd = zstd::stream::read::Decoder::new(&b"not zstd"[..])
            .and_then(|mut d| d.read_to_end(&mut Vec::new()))
            .unwrap_err();
        assert!(matches!(err, DecodeError::Zstd(_)));
        assert_eq!(err.to_string(), zstd.to_string());
    }

    #[test]
    fn gzip_of_text_that_is_not_utf8_is_an_error() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[0xff, 0xfe, b'\n']).unwrap();
        assert!(decode("x.gz", &gz.finish().unwrap()).is_err());
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
