//! The payload of a compact JWT, base64url-decoded **without verifying anything**, in a form
//! that can neither panic nor allocate.
//!
//! It applies the shape and encoding rules of `tollgate_core::unverified::decode_unverified`:
//! at most [`MAX_TOKEN_BYTES`], three non-empty segments of the base64url alphabet, a payload
//! in canonical unpadded base64url. (UTF-8 and "is a JSON object" are checked by the caller,
//! which parses the text anyway.) `tests/decode_agrees_with_core.rs` checks the two agree on a
//! generated corpus, so they cannot drift apart unnoticed.
//!
//! Why not call the core directly: its functions slice `str`s and return `Vec`s, and each of
//! those can panic, which links Rust's panic formatting and an allocator into the wasm (16 KB
//! gzipped, against 3 KB without).

use core::cell::Cell;
use tollgate_core::limits::MAX_TOKEN_BYTES;

/// Decodes the payload of the token held in `buffer[..len]` into `buffer[..n]`, in place, and
/// returns `n`; `None` when the token breaks a rule (the buffer is then unspecified).
///
/// In place works because base64 shrinks: output byte `3k` is written only after input bytes
/// `4k..4k + 4`, which come later in the buffer, have been read.
pub fn decode_payload_in_place(buffer: &[Cell<u8>], len: usize) -> Option<usize> {
    if len > MAX_TOKEN_BYTES {
        return None;
    }
    let token = buffer.get(..len)?;
    let (start, end) = payload_bounds(token)?;
    let input = token.get(start..end)?;
    if input.len() % 4 == 1 {
        return None;
    }
    let mut written = 0;
    let mut chunks = input.chunks_exact(4);
    for chunk in &mut chunks {
        let [a, b, c, d] = chunk else { return None };
        let n = (sextet(a.get())? << 18)
            | (sextet(b.get())? << 12)
            | (sextet(c.get())? << 6)
            | sextet(d.get())?;
        put(buffer, written, &[(n >> 16) as u8, (n >> 8) as u8, n as u8])?;
        written += 3;
    }
    // Unused low bits must be zero: otherwise two spellings would decode to the same bytes.
    match chunks.remainder() {
        [] => Some(written),
        [a, b] => {
            let n = (sextet(a.get())? << 18) | (sextet(b.get())? << 12);
            if n & 0xFFFF != 0 {
                return None;
            }
            put(buffer, written, &[(n >> 16) as u8])?;
            Some(written + 1)
        }
        [a, b, c] => {
            let n = (sextet(a.get())? << 18) | (sextet(b.get())? << 12) | (sextet(c.get())? << 6);
            if n & 0xFF != 0 {
                return None;
            }
            put(buffer, written, &[(n >> 16) as u8, (n >> 8) as u8])?;
            Some(written + 2)
        }
        _ => None,
    }
}

/// Where the payload segment starts and ends, if `token` is three non-empty segments of the
/// base64url alphabet joined by dots.
fn payload_bounds(token: &[Cell<u8>]) -> Option<(usize, usize)> {
    let mut dots = [0usize; 2];
    let mut found = 0;
    for (i, byte) in token.iter().enumerate() {
        let b = byte.get();
        if b == b'.' {
            *dots.get_mut(found)? = i;
            found += 1;
        } else if sextet(b).is_none() {
            return None;
        }
    }
    let [d1, d2] = dots;
    let nonempty = d1 > 0 && d2 > d1 + 1 && d2 + 1 < token.len();
    (found == 2 && nonempty).then_some((d1 + 1, d2))
}

fn put(buffer: &[Cell<u8>], at: usize, bytes: &[u8]) -> Option<()> {
    let target = buffer.get(at..at + bytes.len())?;
    for (cell, &b) in target.iter().zip(bytes) {
        cell.set(b);
    }
    Some(())
}

fn sextet(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Copies `token` into a fresh buffer and decodes its payload: for tests and native callers.
pub fn decode_payload(token: &str) -> Option<alloc::vec::Vec<u8>> {
    let buffer: alloc::vec::Vec<Cell<u8>> = token.bytes().map(Cell::new).collect();
    let n = decode_payload_in_place(&buffer, buffer.len())?;
    Some(buffer.iter().take(n).map(Cell::get).collect())
}
