//! Passwords: the policy for choosing them.
//!
//! - [`check_policy`] is the registration rule: 8 to 1024 bytes' worth of characters, not a
//!   common password, no composition rules.

mod common;
mod policy;

pub use policy::check_policy;
