//! Size and length limits, each with its unit and why it is that number.

/// Largest access token accepted, in bytes. Ours are about 400 bytes; 8 KiB leaves room for
/// other issuers' tokens while refusing megabyte strings before any base64 or crypto work.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Longest email address, in bytes (RFC 5321 §4.5.3.1.3 path limit of 256 minus the brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Shortest password accepted, in characters (Unicode scalar values): OWASP ASVS 5.0 V6.2.1.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Longest password accepted, in bytes: checked before hashing so nobody can make the server
/// hash megabytes. ASVS asks that at least 64 characters be allowed; 1024 bytes is generous.
pub const MAX_PASSWORD_BYTES: usize = 1024;
