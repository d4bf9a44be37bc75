//! The core's [`Random`] over the operating system's generator.

use tollgate_core::random::Random;

use crate::error::CliError;

/// Bytes drawn from the OS per refill: one `getrandom` call serves about 250 user ids, which
/// keeps a 100,000-line import from making 100,000 system calls.
const BUFFER_BYTES: usize = 4096;

/// Cryptographically secure randomness from the OS (`getrandom(2)` on Linux), buffered.
pub struct OsRandom {
    buffer: Box<[u8; BUFFER_BYTES]>,
    /// Bytes of `buffer` already handed out; `BUFFER_BYTES` means empty.
    used: usize,
}

impl OsRandom {
    /// A generator whose first draw already succeeded, so later draws can be assumed to.
    ///
    /// # Errors
    /// [`CliError::Io`] when the OS has no usable generator.
    pub fn new() -> Result<OsRandom, CliError> {
        let mut rng = OsRandom {
            buffer: Box::new([0u8; BUFFER_BYTES]),
            used: BUFFER_BYTES,
        };
        rng.refill().map_err(|why| CliError::Io {
            action: "reading the operating system's random generator".into(),
            reason: why.to_string(),
        })?;
        Ok(rng)
    }

    fn refill(&mut self) -> Result<(), getrandom::Error> {
        getrandom::fill(&mut self.buffer[..])?;
        self.used = 0;
        Ok(())
    }
}

impl Random for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        let mut filled = 0;
        while filled < dest.len() {
            if self.used == BUFFER_BYTES && self.refill().is_err() {
                // `new` proved the generator works; if it stops, carrying on with anything
                // but fresh randomness would write guessable ids, salts or keys.
                eprintln!("error[io_error]: the operating system's random generator failed");
                std::process::exit(1);
            }
            let take = (dest.len() - filled).min(BUFFER_BYTES - self.used);
            dest[filled..filled + take].copy_from_slice(&self.buffer[self.used..self.used + take]);
            // Handed-out bytes are wiped so the buffer never holds a copy of a key or salt.
            self.buffer[self.used..self.used + take].fill(0);
            self.used += take;
            filled += take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_across_refills_without_repeating() -> Result<(), CliError> {
        let mut rng = OsRandom::new()?;
        let mut a = vec![0u8; BUFFER_BYTES + 100];
        let mut b = vec![0u8; BUFFER_BYTES + 100];
        rng.fill(&mut a);
        rng.fill(&mut b);
        assert_ne!(a, b);
        // A run of 32 zero bytes from a real generator has probability 2^-256.
        assert!(a.windows(32).all(|w| w.iter().any(|&x| x != 0)));
        Ok(())
    }
}
