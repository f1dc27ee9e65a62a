//! Identifier and destination normalisation on arbitrary text: nothing panics, and what
//! `src/domain/identifier.rs` documents holds for every accepted input.
//!
//! - a normalised value parses again to itself (the store re-parses stored identifiers when it
//!   reads a session back, so a value that did not would make the session unreadable);
//! - a mobile is 8 to 15 ASCII digits; an e-mail address has exactly one `@`;
//! - the limit key (`Destination::key`) of a normalised destination is stable: re-normalising,
//!   reading the key back with `parse_key`, or changing the case of an e-mail address gives the
//!   same key (`Jane@x.com` and `jane@x.com` are one inbox, so one daily limit);
//! - masking never panics, keeps the shape `+…` / `x***@domain` and never shows a whole
//!   mobile number.

#![no_main]

use libfuzzer_sys::fuzz_target;
use otpd::domain::{Destination, Identifier, IdentifierType};

const KINDS: [IdentifierType; 3] = [
    IdentifierType::Mobile,
    IdentifierType::Email,
    IdentifierType::Username,
];

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let raw = raw.as_ref();

    for kind in KINDS {
        let Ok(id) = Identifier::parse(kind, raw) else {
            continue;
        };
        assert_eq!(id.kind(), kind);
        let again = Identifier::parse(kind, id.value())
            .unwrap_or_else(|e| panic!("{kind:?} {:?} does not parse again: {e}", id.value()));
        assert_eq!(again, id, "normalising twice changed {raw:?}");
        assert_eq!(id.to_string(), format!("{}|{}", kind.as_str(), id.value()));
        match (kind, id.as_destination()) {
            (IdentifierType::Username, None) => {}
            (IdentifierType::Mobile | IdentifierType::Email, Some(d)) => check_destination(&d),
            (kind, d) => panic!("{kind:?} gave destination {d:?}"),
        }
    }

    if let Ok(d) = Destination::mobile(raw) {
        let Destination::Mobile(digits) = &d else {
            panic!("Destination::mobile gave {d:?}");
        };
        assert!((8..=15).contains(&digits.len()), "{digits:?}");
        assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{digits:?}");
        check_destination(&d);
    }
    if let Ok(d) = Destination::email(raw) {
        let Destination::Email(address) = &d else {
            panic!("Destination::email gave {d:?}");
        };
        assert_eq!(address.matches('@').count(), 1, "{address:?}");
        assert!(address.len() <= 254, "{address:?}");
        check_destination(&d);
        // One inbox, one limit: the case of the address does not change validity or the key.
        for other in [raw.to_ascii_uppercase(), raw.to_ascii_lowercase()] {
            let e = Destination::email(&other)
                .unwrap_or_else(|e| panic!("{raw:?} is valid but {other:?} is not: {e}"));
            assert_eq!(e.key(), d.key(), "{raw:?} and {other:?}");
        }
    }

    // The CLI's `TYPE:value` form and the store's keys: any text, never a panic; what parses
    // has a key that reads back to itself.
    if let Ok(d) = Destination::parse_key(raw) {
        check_destination(&d);
    }
    // Masking is total: it runs in log lines on whatever a destination holds.
    let _ = Destination::Mobile(raw.to_owned()).masked();
    let _ = Destination::Email(raw.to_owned()).masked();
});

/// The properties every normalised destination has.
fn check_destination(d: &Destination) {
    let key = d.key();
    let back = Destination::parse_key(&key)
        .unwrap_or_else(|e| panic!("the key {key:?} of {d:?} does not read back: {e}"));
    assert_eq!(back.key(), key, "{d:?}");
    let renormalised = match d {
        Destination::Mobile(m) => Destination::mobile(m),
        Destination::Email(e) => Destination::email(e),
    }
    .unwrap_or_else(|e| panic!("{d:?} does not normalise again: {e}"));
    assert_eq!(&renormalised, d);
    assert_eq!(renormalised.key(), key);

    let masked = d.masked();
    match d {
        Destination::Mobile(m) => {
            assert!(masked.starts_with('+'), "{masked:?}");
            assert_ne!(&masked[1..], m.as_str(), "the mask shows the whole number");
            assert_eq!(masked.len(), m.len() + 1, "{masked:?}");
            assert_eq!(d.address(), format!("+{m}"));
        }
        Destination::Email(e) => {
            let domain = e.split_once('@').map_or("", |(_, domain)| domain);
            assert!(masked.ends_with(&format!("***@{domain}")), "{masked:?}");
            assert_eq!(&d.address(), e);
        }
    }
}
