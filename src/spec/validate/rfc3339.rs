//! RFC 3339 timestamps (`optStartTime`, `pauseUntil`) as nats-server reads
//! them: Go's `encoding/json` decodes a `time.Time` with its RFC 3339 parser
//! (`time.RFC3339Nano`'s layout). The layout is checked here, as strictly as
//! Go's RFC 3339 path; the calendar and the arithmetic are jiff's. Go's
//! lenient fallback (`time.Parse`) also takes a comma before the fraction, a
//! one-digit hour and offsets up to 24:60: those are refused here, so a
//! document that validates is one every nats-server version reads alike.

use jiff::civil::DateTime;
use jiff::fmt::temporal::Pieces;

/// The fixed part of the layout, `d` standing for one digit: a four-digit
/// year, two-digit fields, and an upper-case `T`.
const DATE_TIME: &[u8; 19] = b"dddd-dd-ddTdd:dd:dd";
/// A numeric UTC offset, after its sign.
const OFFSET: &[u8; 5] = b"dd:dd";
/// Fraction digits Go keeps; it reads and drops any further ones.
const NANOSECOND_DIGITS: usize = 9;

/// True for an RFC 3339 timestamp as nats-server parses it:
/// `YYYY-MM-DDTHH:MM:SS(.fraction)?(Z|±HH:MM)`, with real calendar dates.
pub fn rfc3339_is_valid(text: &str) -> bool {
    rfc3339_unix_nanos(text).is_some()
}

/// Nanoseconds since the Unix epoch of a strict RFC 3339 timestamp
/// (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`), or None when it is not one.
/// Two spellings of one instant give the same number.
pub fn rfc3339_unix_nanos(text: &str) -> Option<i128> {
    let (date_time, fraction, offset) = split_layout(text)?;
    // jiff reads a leap second as :59 and takes offsets up to 25 hours; Go
    // refuses both.
    if date_time[17..19] > *"59" || offset.get(1..3).is_some_and(|hours| hours > "23") {
        return None;
    }
    let fraction = &fraction[..fraction.len().min(1 + NANOSECOND_DIGITS)];
    let kept = format!("{date_time}{fraction}{offset}");
    let pieces = Pieces::parse(&kept).ok()?;
    let local = DateTime::from_parts(pieces.date(), pieces.time()?);
    let offset_nanos = i128::from(pieces.to_numeric_offset()?.seconds()) * 1_000_000_000;
    let since_epoch = local.duration_since(DateTime::constant(1970, 1, 1, 0, 0, 0, 0));
    Some(since_epoch.as_nanos() - offset_nanos)
}

/// Splits `text` into its date and time, its fraction (with the `.`, or
/// empty) and its offset (`Z` or `±HH:MM`), or None when it does not follow
/// Go's RFC 3339 layout.
fn split_layout(text: &str) -> Option<(&str, &str, &str)> {
    let matches = |bytes: &[u8], layout: &[u8]| {
        bytes.len() == layout.len()
            && bytes
                .iter()
                .zip(layout)
                .all(|(byte, expected)| match expected {
                    b'd' => byte.is_ascii_digit(),
                    _ => byte == expected,
                })
    };
    let bytes = text.as_bytes();
    if !matches(bytes.get(..DATE_TIME.len())?, DATE_TIME) {
        return None;
    }
    let rest = &bytes[DATE_TIME.len()..];
    let fraction_len = match rest.strip_prefix(b".") {
        Some(digits) => match digits.iter().take_while(|b| b.is_ascii_digit()).count() {
            0 => return None,
            count => 1 + count,
        },
        None => 0,
    };
    let offset = &rest[fraction_len..];
    let offset_is_valid = match offset {
        b"Z" => true,
        [b'+' | b'-', numeric @ ..] => matches(numeric, OFFSET),
        _ => false,
    };
    offset_is_valid.then(|| {
        let fraction_end = DATE_TIME.len() + fraction_len;
        (
            &text[..DATE_TIME.len()],
            &text[DATE_TIME.len()..fraction_end],
            &text[fraction_end..],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_all_refused(texts: &[&str]) {
        for text in texts {
            assert!(!rfc3339_is_valid(text), "{text}");
            assert_eq!(rfc3339_unix_nanos(text), None, "{text}");
        }
    }

    #[test]
    fn one_instant_written_two_ways_gives_one_number() {
        assert_eq!(rfc3339_unix_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_unix_nanos("2030-01-01T02:00:00+02:00"),
            rfc3339_unix_nanos("2030-01-01T00:00:00.000000000Z")
        );
        assert_eq!(
            rfc3339_unix_nanos("2000-03-01T00:00:00.5Z"),
            Some(951_868_800_500_000_000)
        );
        assert_eq!(rfc3339_unix_nanos("2000-02-30T00:00:00Z"), None);
    }

    #[test]
    fn rfc3339_accepts_utc_offsets_and_fractions() {
        let accepted = [
            "2025-01-31T12:00:00Z",
            "2025-01-31T12:00:00.123456789Z",
            "2024-02-29T23:59:59+05:30",
            "2000-02-29T00:00:00-00:00",
        ];
        for text in accepted {
            assert!(rfc3339_is_valid(text), "{text}");
        }
    }

    #[test]
    fn rfc3339_refuses_other_shapes_and_impossible_dates() {
        let refused = [
            "",
            "2025-01-31",
            "2025-01-31 12:00:00Z",
            "2025-01-31t12:00:00z",
            "2025-01-31T12:00:00",
            "2025-01-31T12:00Z",
            "2025-1-31T12:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-01-31T24:00:00Z",
            "2025-01-31T12:60:00Z",
            "2025-01-31T12:00:60Z",
            "2025-01-31T12:00:00.Z",
            "2025-01-31T12:00:00+0100",
            "2025-01-31T12:00:00+24:00",
            "2025-01-31T12:00:00Z ",
        ];
        assert_all_refused(&refused);
    }

    #[test]
    fn rfc3339_takes_what_gos_parser_takes_at_the_edges_of_the_layout() {
        // Go reads any number of fraction digits and keeps nine; it takes
        // every four-digit year, up to the last nanosecond of 9999.
        assert_eq!(
            rfc3339_unix_nanos("2025-01-31T12:00:00.1234567891234Z"),
            rfc3339_unix_nanos("2025-01-31T12:00:00.123456789Z")
        );
        let accepted = [
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "9999-12-31T23:59:59.999999999-23:59",
            "2025-01-31T12:00:00+23:59",
            "2025-01-31T12:00:00.5-00:00",
        ];
        for text in accepted {
            assert!(rfc3339_is_valid(text), "{text}");
        }
        assert_eq!(
            rfc3339_unix_nanos("9999-12-31T23:59:59.999999999Z"),
            Some(253_402_300_799_999_999_999)
        );
    }

    #[test]
    fn rfc3339_refuses_the_iso_8601_spellings_jiff_reads_and_go_does_not() {
        // A lower-case `z`, an offset without minutes or with seconds, a time
        // zone annotation, a six-digit year, a one-digit offset hour, a week
        // date, a date without dashes.
        let refused = [
            "2025-01-31T12:00:00z",
            "2025-01-31T12:00:00+01",
            "2025-01-31T12:00:00+01:00:00",
            "2025-01-31T12:00:00Z[UTC]",
            "2025-01-31T12:00:00+01:00[Europe/Paris]",
            "+002025-01-31T12:00:00Z",
            "2025-01-31T12:00:00.+01:00",
            "2025-01-31T12:00:00+1:00",
            "2025-W05-5T12:00:00Z",
            "20250131T120000Z",
        ];
        assert_all_refused(&refused);
    }

    #[test]
    fn rfc3339_refuses_what_only_gos_lenient_fallback_reads() {
        // Go's time.Parse takes these after its RFC 3339 path refused them:
        // a comma before the fraction, a one-digit hour, offsets of 24 hours
        // or 60 minutes.
        let refused = [
            "2025-01-31T12:00:00,5Z",
            "2025-01-31T1:00:00Z",
            "2025-01-31T12:00:00+24:00",
            "2025-01-31T12:00:00-00:60",
        ];
        assert_all_refused(&refused);
    }
}
