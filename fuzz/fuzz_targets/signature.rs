//! Payload signatures (docs/api.md §5) with arbitrary keys, fields, hashes and clocks:
//! `verify` and `key_that_made` never panic; a signature made with the real `sign` over
//! arbitrary fields verifies under any non-revoked key ring holding its key, inside the window;
//! and no single-byte change of it (in its hex text or in the tag it encodes), nor a change of
//! a signed field, verifies.

#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use otpd::domain::signature::{
    KeyState, SignatureProblem, SignedFields, SigningKey, key_that_made, sign, verify,
};

#[derive(Arbitrary, Debug)]
struct Input {
    keys: Vec<(u8, Vec<u8>)>,
    /// Which key signs (modulo the ring's length).
    signer: u8,
    /// An arbitrary `timeStamp` text, and a number for one that parses.
    time_stamp_text: String,
    time_stamp: i64,
    path: String,
    brand: String,
    identifier_type: String,
    identifier_value: String,
    device_id: String,
    session_id: String,
    otp: String,
    /// An arbitrary `hash` as a client could send it.
    hash: String,
    now_ms: i64,
    /// How far the server's clock is from the timestamp.
    skew_ms: i64,
    window_secs: u32,
    /// Where the signature is damaged, and with what.
    position: u8,
    replacement: u8,
    field: u8,
}

fn state(n: u8) -> KeyState {
    match n % 3 {
        0 => KeyState::Active,
        1 => KeyState::Retiring,
        _ => KeyState::Revoked,
    }
}

fuzz_target!(|input: Input| {
    let keys: Vec<SigningKey> = input
        .keys
        .iter()
        .take(8)
        .enumerate()
        .map(|(i, (s, secret))| SigningKey {
            id: u32::try_from(i).unwrap_or(u32::MAX),
            secret: secret.clone(),
            state: state(*s),
            created_ms: 0,
        })
        .collect();
    let mut fields = SignedFields {
        time_stamp: &input.time_stamp_text,
        path: &input.path,
        brand: &input.brand,
        identifier_type: &input.identifier_type,
        identifier_value: &input.identifier_value,
        device_id: &input.device_id,
        session_id: &input.session_id,
        otp: &input.otp,
    };

    // Whatever a client sends: an answer, never a panic; and a revoked-only ring verifies
    // nothing.
    let answer = verify(&keys, &fields, &input.hash, input.now_ms, input.window_secs);
    if keys.iter().all(|k| k.state == KeyState::Revoked) {
        assert!(answer.is_err(), "a ring without live keys verified");
    }
    let _ = key_that_made(&keys, &fields, &input.hash);

    // A real signature over these fields, with a timestamp that parses.
    let Some(signer) = keys.get(usize::from(input.signer) % keys.len().max(1)) else {
        return;
    };
    let ts_text = input.time_stamp.to_string();
    fields.time_stamp = &ts_text;
    let good = sign(&signer.secret, &fields);
    assert_eq!(good.len(), 64);
    assert!(
        good.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let Some(now) = input.time_stamp.checked_add(input.skew_ms) else {
        return;
    };
    let within = input.time_stamp.abs_diff(now) <= u64::from(input.window_secs) * 1000;
    // A revoked signer's signature still verifies when a live key of the ring makes the same
    // one: the same secret, or one HMAC cannot tell from it (trailing zero bytes). Server-made
    // secrets are 32 random bytes, so in practice that is the signer itself.
    let live_signer = keys
        .iter()
        .any(|k| k.state != KeyState::Revoked && sign(&k.secret, &fields) == good);
    let answer = verify(&keys, &fields, &good, now, input.window_secs);
    match (live_signer, within) {
        (false, _) => assert!(answer.is_err(), "only revoked keys make {good}"),
        (true, true) => assert_eq!(answer, Ok(()), "a good signature was refused"),
        (true, false) => assert_eq!(answer, Err(SignatureProblem::Stale)),
    }
    // The diagnosis names a key that makes this signature: the signer, or an earlier key
    // HMAC cannot tell from it (the same secret, or one that differs only by trailing zero
    // bytes, which HMAC pads with anyway).
    let made = key_that_made(&keys, &fields, &good);
    assert!(made.is_some_and(|k| sign(&k.secret, &fields) == good));

    // One byte of the hex text changed: refused (malformed or no match), never accepted.
    let at = usize::from(input.position) % good.len();
    let mut damaged = good.clone().into_bytes();
    if damaged[at] != input.replacement {
        damaged[at] = input.replacement;
        if let Ok(damaged) = String::from_utf8(damaged) {
            assert!(
                verify(
                    &keys,
                    &fields,
                    &damaged,
                    input.time_stamp,
                    input.window_secs
                )
                .is_err(),
                "{good} changed at {at} to {damaged} still verified"
            );
        }
    }
    // One byte of the tag changed, well-formed hex: no key matches.
    let mut tag = hex_decode(&good);
    let at = usize::from(input.position) % tag.len();
    tag[at] ^= input.replacement.max(1);
    let damaged = hex_encode(&tag);
    assert_eq!(
        verify(
            &keys,
            &fields,
            &damaged,
            input.time_stamp,
            input.window_secs
        ),
        Err(SignatureProblem::NoMatch)
    );

    // A signed field changed (a byte appended): the signature no longer matches.
    let appended = |s: &str| format!("{s}{}", char::from(input.replacement));
    let (changed_owned, mut changed) = (appended(field_text(&fields, input.field)), fields);
    set_field(&mut changed, input.field, &changed_owned);
    if changed.message() != fields.message() {
        let answer = verify(&keys, &changed, &good, input.time_stamp, input.window_secs);
        assert!(
            answer.is_err(),
            "field {} changed and still verified",
            input.field % 8
        );
    }
});

/// The text of the signed field `n` (timestamp excluded: it must keep parsing).
fn field_text<'a>(f: &SignedFields<'a>, n: u8) -> &'a str {
    match n % 7 {
        0 => f.path,
        1 => f.brand,
        2 => f.identifier_type,
        3 => f.identifier_value,
        4 => f.device_id,
        5 => f.session_id,
        _ => f.otp,
    }
}

fn set_field<'a>(f: &mut SignedFields<'a>, n: u8, value: &'a str) {
    match n % 7 {
        0 => f.path = value,
        1 => f.brand = value,
        2 => f.identifier_type = value,
        3 => f.identifier_value = value,
        4 => f.device_id = value,
        5 => f.session_id = value,
        _ => f.otp = value,
    }
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap_or(0))
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
