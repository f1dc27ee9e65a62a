//! Human-readable rendering of admin API answers: aligned `key  value` lines and simple tables.
//! `--json` bypasses all of it and prints the server's answer as is.

use std::io::Write;

use serde_json::Value;

/// `println!` for CLI output: a reader that went away (`otpd log list | head`) ends the
/// command quietly instead of panicking, as `println!` does on a closed pipe.
macro_rules! say {
    () => { $crate::cli::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use say;

/// Writes to standard output; on a broken pipe exits with success, on another error with
/// failure (nothing more can be said on standard output).
pub fn write_out(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe {
            0
        } else {
            1
        });
    }
}

/// Prints the answer as pretty JSON.
pub fn print_json(v: &Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// One value as an operator reads it: strings bare, `null` as `none`, lists comma-separated.
pub fn human(v: &Value) -> String {
    match v {
        Value::Null => "none".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(human).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// `ms` since the epoch as `2026-01-31 12:00:00Z`.
pub fn time(ms: &Value) -> String {
    ms.as_i64()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map_or_else(
            || human(ms),
            |t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        )
}

/// `3725` as `1h 2m 5s`.
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// Aligned `key  value` lines, indented by `indent` spaces.
pub fn print_pairs(indent: usize, rows: &[(String, String)]) {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        say!("{:indent$}{k:<width$}  {v}", "");
    }
}

/// A table with a header row; columns as wide as their widest cell.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        say!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_read_naturally() {
        assert_eq!(human(&json!(null)), "none");
        assert_eq!(
            human(&json!(["OTP_GENERATE", "OTP_VALIDATE"])),
            "OTP_GENERATE,OTP_VALIDATE"
        );
        assert_eq!(human(&json!(true)), "yes");
        assert_eq!(duration(3725), "1h 2m 5s");
        assert_eq!(time(&json!(0)), "1970-01-01 00:00:00Z");
    }
}
