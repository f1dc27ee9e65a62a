//! Tests of the embedded engine itself, which open its files (fjall, and sled for stores of otpd 0.1) or run the real binary on a
//! data directory: a damaged store refused, stores written by older otpd versions opened, the
//! binary killed mid-write. On a PostgreSQL run, those that start a test server say so and
//! return; the rest run the binary on its embedded store either way.

mod crash;
mod damage;
mod space;
mod upgrade;
