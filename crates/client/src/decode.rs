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
/// One pass: the header is checked up to the first dot, the payload is decoded while it is
/// checked, then the signature is checked. In place works because base64 shrinks: output byte
/// `3k` is written only after input bytes `4k..4k + 4`, which come later, have been read.
pub fn decode_payload_in_place(buffer: &[Cell<u8>], len: usize) -> Option<usize> {
    if len > MAX_TOKEN_BYTES {
        return None;
    }
    let token = buffer.get(..len)?;
    let value = |cell: &Cell<u8>| SEXTET[usize::from(cell.get())];

    // The header: one or more alphabet bytes, then a dot.
    let header = token.iter().position(|b| value(b) >= 64)?;
    if header == 0 || value(token.get(header)?) != DOT {
        return None;
    }
    let payload = token.get(header + 1..)?;

    // The payload, four symbols (three bytes) at a time while all four are in the alphabet.
    let mut written = 0;
    let mut read = 0;
    while let Some([a, b, c, d]) = payload.get(read..read + 4) {
        let (a, b, c, d) = (value(a), value(b), value(c), value(d));
        if (a | b | c | d) >= 64 {
            break;
        }
        let n = (u32::from(a) << 18) | (u32::from(b) << 12) | (u32::from(c) << 6) | u32::from(d);
        let [x, y, z] = buffer.get(written..written + 3)? else {
            return None;
        };
        x.set((n >> 16) as u8);
        y.set((n >> 8) as u8);
        z.set(n as u8);
        written += 3;
        read += 4;
    }
    // Fewer than four symbols are left before the second dot.
    let rest = payload.get(read..)?;
    let tail = rest.iter().position(|b| value(b) >= 64)?;
    if value(rest.get(tail)?) != DOT || read + tail == 0 {
        return None;
    }
    let mut sextets = rest.iter().take(tail).map(|b| u32::from(value(b)));
    // Unused low bits must be zero: otherwise two spellings would decode to the same bytes.
    match (tail, sextets.next(), sextets.next(), sextets.next()) {
        (0, ..) => {}
        (2, Some(a), Some(b), _) => {
            let n = (a << 18) | (b << 12);
            if n & 0xFFFF != 0 {
                return None;
            }
            buffer.get(written)?.set((n >> 16) as u8);
            written += 1;
        }
        (3, Some(a), Some(b), Some(c)) => {
            let n = (a << 18) | (b << 12) | (c << 6);
            if n & 0xFF != 0 {
                return None;
            }
            let [x, y] = buffer.get(written..written + 2)? else {
                return None;
            };
            x.set((n >> 16) as u8);
            y.set((n >> 8) as u8);
            written += 2;
        }
        _ => return None, // one symbol (or four or more, which the loop would have taken)
    }

    // The signature: one or more alphabet bytes, and nothing after it.
    let signature = rest.get(tail + 1..)?;
    if signature.is_empty() || signature.iter().any(|b| value(b) >= 64) {
        return None;
    }
    Some(written)
}

/// Marks a byte outside the base64url alphabet in [`SEXTET`].
const INVALID: u8 = 0xFF;
/// Marks the segment separator in [`SEXTET`].
const DOT: u8 = 0xFE;

/// Each byte's base64url value (RFC 4648 §5), [`DOT`] for `.`, [`INVALID`] for the rest.
const SEXTET: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table[b'.' as usize] = DOT;
    table
};

/// Copies `token` into a fresh buffer and decodes its payload: for tests and native callers.
pub fn decode_payload(token: &str) -> Option<alloc::vec::Vec<u8>> {
    let buffer: alloc::vec::Vec<Cell<u8>> = token.bytes().map(Cell::new).collect();
    let n = decode_payload_in_place(&buffer, buffer.len())?;
    Some(buffer.iter().take(n).map(Cell::get).collect())
}
