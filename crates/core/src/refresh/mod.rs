//! Refresh tokens: families with deterministic rotation, built for KV's eventual consistency.
//!
//! [`token`] defines the opaque, MAC-authenticated token for one generation of a family;
//! [`family`] defines the stored record and [`rotate`], the decision a refresh carries out.

pub mod family;
pub mod token;

pub use family::{Family, RefreshPolicy, RevokeReason, Rotation, rotate};
pub use token::{PresentedToken, RefreshKey, decode_token};
