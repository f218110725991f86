//! Whole-object gzip decompression with libdeflate. The raw zone's objects are read whole
//! (a few MiB each) and their decompressed size is in the trailer, so a streaming inflater
//! buys nothing; libdeflate, which decodes a member straight into one buffer, inflates them
//! in less than half the time zlib-rs takes (the parse stage of a full refresh spent a sixth
//! of its CPU inflating).
//!
//! libdeflate decodes one member per call and ignores what follows it, so the members of a
//! concatenated object (gzip allows them, and flate2's `MultiGzDecoder`, used before, read
//! them all) are decoded one after another here: none is dropped.
//!
//! The only `unsafe` code of the workspace is here, each block beside the reason it holds.

use crate::ndjson::DecodeError;
use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE,
    libdeflate_result_LIBDEFLATE_SUCCESS,
};

/// Deflate expands its input at most this many times (a 258-byte match per 2 bits); a
/// member whose output would need more space is damaged, not large.
pub(crate) const MAX_DEFLATE_RATIO: usize = 1032;

/// A libdeflate decompressor, owned by one thread at a time.
pub(crate) struct Gunzip {
    state: std::ptr::NonNull<libdeflate_decompressor>,
}

// SAFETY: a libdeflate decompressor is plain memory with no thread affinity; `&mut self`
// on every use keeps it to one thread at a time.
unsafe impl Send for Gunzip {}

impl Gunzip {
    pub(crate) fn new() -> Gunzip {
        // SAFETY: no preconditions; NULL (out of memory) is checked below.
        let state = unsafe { libdeflate_alloc_decompressor() };
        Gunzip {
            state: std::ptr::NonNull::new(state).expect("libdeflate: out of memory"),
        }
    }

    /// Decompresses every member of `input` into `out`, which is used from index 0 and
    /// grown (zero-filled) as needed but never shrunk, so a buffer reused from one object
    /// to the next is filled once; returns the decompressed length. `first_size` is the
    /// expected size of the first member (the object's trailer, for a single member).
    pub(crate) fn decompress(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        first_size: usize,
    ) -> Result<usize, DecodeError> {
        if input.is_empty() {
            return Err(DecodeError::EmptyGzip);
        }
        let total = input.len();
        let mut used = 0usize;
        let mut want = first_size.max(64);
        while !input.is_empty() {
            let limit = input.len().saturating_mul(MAX_DEFLATE_RATIO) + 64;
            loop {
                if out.len() < used + want {
                    out.resize(used + want, 0);
                }
                let room = &mut out[used..];
                let (mut read, mut written) = (0usize, 0usize);
                // SAFETY: `input` and `room` are live slices, passed with their own lengths;
                // libdeflate reads and writes only within them and keeps no pointer after
                // returning; `state` came from `libdeflate_alloc_decompressor`.
                let result = unsafe {
                    libdeflate_gzip_decompress_ex(
                        self.state.as_ptr(),
                        input.as_ptr().cast(),
                        input.len(),
                        room.as_mut_ptr().cast(),
                        room.len(),
                        &mut read,
                        &mut written,
                    )
                };
                if result == libdeflate_result_LIBDEFLATE_SUCCESS {
                    used += written;
                    input = &input[read..];
                    break;
                }
                if result == libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE && want < limit {
                    want = (want * 2).min(limit);
                    continue;
                }
                return Err(DecodeError::BadGzipMember {
                    at: total - input.len(),
                    total,
                });
            }
            // A further member's size is unknown: start from its compressed size.
            want = input.len().saturating_mul(4).max(64);
        }
        Ok(used)
    }
}

impl Drop for Gunzip {
    fn drop(&mut self) {
        // SAFETY: allocated by `libdeflate_alloc_decompressor`, freed once, here.
        unsafe { libdeflate_free_decompressor(self.state.as_ptr()) }
    }
}
