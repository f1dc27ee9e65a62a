//! Admin operations (brands, limits, signing keys), shared by the admin API and the CLI.
