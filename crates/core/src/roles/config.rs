//! The `ROLES` var: a deployment's role table as JSON, `{"role": ["scope", ...], ...}`.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::Roles;
use crate::error::Error;

/// The table as written, in order, repeated names and all (a JSON object parsed into a map
/// would keep only one of two `"admin"` keys, silently; [`Roles::check`] refuses the repeat).
struct Written(Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Written, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Written;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of role names to arrays of scopes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Vec<String>>()? {
                    entries.push(entry);
                }
                Ok(Written(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

impl Roles {
    /// The table a `ROLES` var describes, checked ([`Roles::check`]).
    ///
    /// # Errors
    /// [`Error::Misconfigured`] with a sentence starting `ROLES`: not a JSON object of arrays
    /// of strings, or a table [`Roles::check`] refuses.
    pub fn from_json(json: &str) -> Result<Roles, Error> {
        let Written(table) = serde_json::from_str(json).map_err(|e| {
            Error::Misconfigured(alloc::format!(
                "ROLES must be a JSON object of role names to arrays of scopes, such as \
                 {{\"user\": [\"profile\"], \"admin\": [\"profile\", \"users:read\", \
                 \"users:write\"]}}: {e}"
            ))
        })?;
        let roles = Roles { table };
        roles.check()?;
        Ok(roles)
    }
}
