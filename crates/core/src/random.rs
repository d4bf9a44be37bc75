//! Randomness as the core sees it: bytes the host supplies.
//!
//! The Worker and browser fill them from `crypto.getRandomValues`, native hosts from the OS;
//! tests use `SeededRandom` so that every generated id and salt is reproducible.

/// A source of cryptographically secure random bytes, implemented by each host.
pub trait Random {
    /// Fills `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]);

    /// Returns `N` random bytes.
    fn bytes<const N: usize>(&mut self) -> [u8; N]
    where
        Self: Sized,
    {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }
}

impl<R: Random + ?Sized> Random for &mut R {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }
}

/// A deterministic generator (SplitMix64) for tests. **Not** secure: never use it to serve.
///
/// Only in builds that cannot be production: this crate's tests and the `test-support`
/// feature, which other crates enable in their dev-dependencies (tests and benchmarks).
#[cfg(any(test, feature = "test-support"))]
#[derive(Clone, Debug)]
pub struct SeededRandom(u64);

#[cfg(any(test, feature = "test-support"))]
impl SeededRandom {
    /// A generator whose output is fully determined by `seed`.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom(seed)
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Random for SeededRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            // SplitMix64 (Steele, Lea, Flood 2014): a full-period 64-bit mixer.
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}
