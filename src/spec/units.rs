//! The two unit types of the manifest format: [`Duration`] (`90s`, `1h30m`, `7d`)
//! and [`Size`] (`1048576`, `512MB`, `1GiB`).
//!
//! Both parse exactly, without floating point, print in one canonical form and
//! parse that form back to the same value, so a manifest rendered from live state
//! compares equal to the one a user wrote.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_MICROSECOND: u64 = 1_000;
const NANOS_PER_MILLISECOND: u64 = 1_000_000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
const NANOS_PER_MINUTE: u64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MINUTE;
const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;
const NANOS_PER_WEEK: u64 = 7 * NANOS_PER_DAY;

/// Every duration unit the parser accepts, with its length in nanoseconds.
/// Microseconds may be written `us`, `µs` (micro sign, U+00B5) or `μs` (Greek mu, U+03BC).
const DURATION_UNITS: [(&str, u64); 10] = [
    ("ns", 1),
    ("us", NANOS_PER_MICROSECOND),
    ("\u{b5}s", NANOS_PER_MICROSECOND),
    ("\u{3bc}s", NANOS_PER_MICROSECOND),
    ("ms", NANOS_PER_MILLISECOND),
    ("s", NANOS_PER_SECOND),
    ("m", NANOS_PER_MINUTE),
    ("h", NANOS_PER_HOUR),
    ("d", NANOS_PER_DAY),
    ("w", NANOS_PER_WEEK),
];

/// The units [`Duration`]'s canonical form uses, largest first.
const CANONICAL_DURATION_UNITS: [(&str, u64); 8] = [
    ("w", NANOS_PER_WEEK),
    ("d", NANOS_PER_DAY),
    ("h", NANOS_PER_HOUR),
    ("m", NANOS_PER_MINUTE),
    ("s", NANOS_PER_SECOND),
    ("ms", NANOS_PER_MILLISECOND),
    ("us", NANOS_PER_MICROSECOND),
    ("ns", 1),
];

const KILOBYTE: u64 = 1_000;
const MEGABYTE: u64 = 1_000 * KILOBYTE;
const GIGABYTE: u64 = 1_000 * MEGABYTE;
const TERABYTE: u64 = 1_000 * GIGABYTE;
const KIBIBYTE: u64 = 1_024;
const MEBIBYTE: u64 = 1_024 * KIBIBYTE;
const GIBIBYTE: u64 = 1_024 * MEBIBYTE;
const TEBIBYTE: u64 = 1_024 * GIBIBYTE;

/// Every size unit the parser accepts (case-sensitive), with its length in bytes.
/// A number without a unit counts bytes.
const SIZE_UNITS: [(&str, u64); 18] = [
    ("", 1),
    ("B", 1),
    ("K", KILOBYTE),
    ("KB", KILOBYTE),
    ("M", MEGABYTE),
    ("MB", MEGABYTE),
    ("G", GIGABYTE),
    ("GB", GIGABYTE),
    ("T", TERABYTE),
    ("TB", TERABYTE),
    ("Ki", KIBIBYTE),
    ("KiB", KIBIBYTE),
    ("Mi", MEBIBYTE),
    ("MiB", MEBIBYTE),
    ("Gi", GIBIBYTE),
    ("GiB", GIBIBYTE),
    ("Ti", TEBIBYTE),
    ("TiB", TEBIBYTE),
];

/// The units [`Size`]'s canonical form uses, largest first, so the first one that
/// divides a size exactly gives the shortest count (`512MB`, not `500000KiB`).
const CANONICAL_SIZE_UNITS: [(&str, u64); 8] = [
    ("TiB", TEBIBYTE),
    ("TB", TERABYTE),
    ("GiB", GIBIBYTE),
    ("GB", GIGABYTE),
    ("MiB", MEBIBYTE),
    ("MB", MEGABYTE),
    ("KiB", KIBIBYTE),
    ("KB", KILOBYTE),
];

/// ECMA-262 (and RE2) pattern for the duration syntax, published in the JSON schema.
///
/// Either `0` alone, or one or more parts, each a number (digits, optionally a
/// decimal point followed by more digits) directly followed by a unit. It only
/// checks syntax; the parser additionally rejects values beyond about 584 years.
pub const DURATION_PATTERN: &str =
    "^(0|([0-9]+(\\.[0-9]+)?(ns|us|\u{b5}s|\u{3bc}s|ms|s|m|h|d|w))+)$";

/// ECMA-262 (and RE2) pattern for the string form of a size, published in the JSON schema.
///
/// A number (digits, optionally a decimal point followed by more digits) with an
/// optional unit: `B`, or `K`/`M`/`G`/`T` optionally followed by `i` and then
/// optionally by `B`. It only checks syntax; the parser additionally requires a
/// whole number of bytes (`1.5KiB` is fine, `1.5B` is not) that fits in 64 bits.
pub const SIZE_PATTERN: &str = "^[0-9]+(\\.[0-9]+)?([KMGT]i?B?|B)?$";

/// Why a duration or size written in a manifest was rejected.
///
/// Messages are meant for the people writing manifests: each one quotes the
/// offending text and says what would be accepted instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// The duration string was empty.
    #[error("the duration is empty; write a number followed by a unit, e.g. `30s`")]
    EmptyDuration,
    /// The duration started with a minus sign.
    #[error("`{text}`: durations cannot be negative")]
    NegativeDuration { text: String },
    /// A number in the duration had no unit (only a lone `0` may omit it).
    #[error("`{text}` has a number without a unit; add a unit, e.g. `30s`")]
    MissingDurationUnit { text: String },
    /// A number in the duration was followed by something that is not a unit.
    #[error(
        "unknown unit `{unit}` in `{text}`; accepted units are ns, us (or µs), ms, s, m, h, \
         d (24h) and w (7d), written right after the number, e.g. `90s` or `1h30m`"
    )]
    UnknownDurationUnit { text: String, unit: String },
    /// The text does not have the shape of a duration at all.
    #[error(
        "`{text}` is not a duration; write numbers followed by units, \
         e.g. `500ms`, `90s`, `1h30m` or `1.5h`"
    )]
    MalformedDuration { text: String },
    /// The duration does not fit in 64 bits of nanoseconds.
    #[error("`{text}` is too long; durations can be at most about 584 years")]
    DurationOverflow { text: String },
    /// The manifest held a bare number where a duration string belongs.
    #[error(
        "expected a duration string such as `30s`, found the number `{number}`; \
         add a unit, e.g. `{number}s`"
    )]
    DurationNotAString { number: String },
    /// The size string was empty.
    #[error(
        "the size is empty; write a number of bytes such as `1048576` \
         or a number with a unit such as `1GiB`"
    )]
    EmptySize,
    /// The size was a negative number or started with a minus sign.
    #[error("`{text}`: sizes cannot be negative; leave the field out for unlimited")]
    NegativeSize { text: String },
    /// The number in the size was followed by something that is not a unit.
    #[error(
        "unknown unit `{unit}` in `{text}`; accepted units are B, K or KB, M or MB, G or GB, \
         T or TB (powers of 1000) and Ki or KiB, Mi or MiB, Gi or GiB, Ti or TiB (powers of 1024), \
         case-sensitive and written right after the number, e.g. `512MB` or `1GiB`"
    )]
    UnknownSizeUnit { text: String, unit: String },
    /// The size string works out to a fraction of a byte.
    #[error("`{text}` is not a whole number of bytes; sizes must be whole numbers")]
    FractionalSize { text: String },
    /// The manifest held a number with a decimal point where a byte count belongs.
    #[error(
        "sizes must be whole numbers, found `{number}`; write a whole number of bytes \
         such as `1536`, or a string with a unit such as `1.5KiB`"
    )]
    DecimalNumberSize { number: String },
    /// The text does not have the shape of a size at all.
    #[error(
        "`{text}` is not a size; write a number of bytes such as `1048576` \
         or a number with a unit such as `512MB` or `1GiB`"
    )]
    MalformedSize { text: String },
    /// The size does not fit in 64 bits of bytes.
    #[error("`{text}` is too large; sizes can be at most 18446744073709551615 bytes (about 16EiB)")]
    SizeOverflow { text: String },
}

/// A non-negative span of time with nanosecond resolution, JetStream's own unit.
///
/// Written as a string of one or more number+unit parts such as `500ms`, `1h30m`,
/// `1.5h` or `7d` (units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d` = 24h, `w` = 7d), or
/// a lone `0`, which may also be a bare number. As in Go, digits finer than a
/// nanosecond are dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    nanos: u64,
}

impl Duration {
    /// The empty duration, written `0s`.
    pub const ZERO: Self = Self { nanos: 0 };

    /// A duration of exactly `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    /// A duration of exactly `seconds` seconds.
    ///
    /// # Panics
    ///
    /// If the duration does not fit in 64 bits of nanoseconds (more than about 584 years).
    pub const fn from_secs(seconds: u64) -> Self {
        match seconds.checked_mul(NANOS_PER_SECOND) {
            Some(nanos) => Self { nanos },
            None => panic!("duration in seconds does not fit in 64 bits of nanoseconds"),
        }
    }

    /// The length in nanoseconds, as JetStream's API expects it.
    pub const fn as_nanos(&self) -> u64 {
        self.nanos
    }

    /// The same length as a standard library duration, for timers and client APIs.
    pub const fn as_std(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.nanos)
    }
}

impl Duration {
    /// This duration in the one unit `written` uses (`168h` for 7 days
    /// when `written` is `24h`), when `written` has one unit that divides
    /// it exactly; None otherwise (`1h30m`, or 90 minutes in hours).
    pub fn in_unit_of(&self, written: &str) -> Option<String> {
        in_unit_of(self.nanos, written, &DURATION_UNITS)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(duration: Duration) -> Self {
        duration.as_std()
    }
}

impl FromStr for Duration {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(UnitError::EmptyDuration);
        }
        if text.starts_with('-') {
            return Err(UnitError::NegativeDuration {
                text: text.to_owned(),
            });
        }
        if text == "0" {
            return Ok(Self::ZERO);
        }
        let malformed = || UnitError::MalformedDuration {
            text: text.to_owned(),
        };
        let overflow = || UnitError::DurationOverflow {
            text: text.to_owned(),
        };

        let mut total_nanos: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let (number, after_number) = DecimalNumber::split_off(rest).ok_or_else(malformed)?;
            let unit_length = after_number
                .find(|character: char| character.is_ascii_digit() || character == '.')
                .unwrap_or(after_number.len());
            let (unit, after_unit) = after_number.split_at(unit_length);
            if unit.is_empty() {
                return Err(if after_unit.is_empty() {
                    UnitError::MissingDurationUnit {
                        text: text.to_owned(),
                    }
                } else {
                    malformed()
                });
            }
            let nanos_per_unit = DURATION_UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, nanos)| *nanos)
                .ok_or_else(|| UnitError::UnknownDurationUnit {
                    text: text.to_owned(),
                    unit: unit.to_owned(),
                })?;
            // Like Go's time.ParseDuration, digits below a nanosecond are dropped.
            let part = number.times(nanos_per_unit).ok_or_else(overflow)?;
            total_nanos = total_nanos.checked_add(part.whole).ok_or_else(overflow)?;
            rest = after_unit;
        }
        Ok(Self { nanos: total_nanos })
    }
}

/// Prints the canonical form: largest units first, zero parts left out, `0s` for zero.
impl fmt::Display for Duration {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return formatter.write_str("0s");
        }
        let mut remaining = self.nanos;
        for (unit, nanos_per_unit) in CANONICAL_DURATION_UNITS {
            let count = remaining / nanos_per_unit;
            if count > 0 {
                write!(formatter, "{count}{unit}")?;
            }
            remaining %= nanos_per_unit;
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Accepts a duration string, or the integer `0` (which needs no unit).
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a duration string such as `30s`")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Duration, E> {
        if number == 0 {
            Ok(Duration::ZERO)
        } else {
            Err(E::custom(UnitError::DurationNotAString {
                number: number.to_string(),
            }))
        }
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Duration, E> {
        match u64::try_from(number) {
            Ok(number) => self.visit_u64(number),
            Err(_) => Err(E::custom(UnitError::NegativeDuration {
                text: number.to_string(),
            })),
        }
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Duration, E> {
        Err(E::custom(if number < 0.0 {
            UnitError::NegativeDuration {
                text: format!("{number:?}"),
            }
        } else {
            UnitError::DurationNotAString {
                number: format!("{number:?}"),
            }
        }))
    }
}

impl JsonSchema for Duration {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration such as `500ms`, `90s`, `1h30m`, `1.5h`, `7d` or `2w`: \
                one or more numbers, each directly followed by a unit \
                (ns, us or µs, ms, s, m, h, d = 24h, w = 7d), or `0`.",
        })
    }
}

/// A byte count, such as a stream's storage limit or a message size limit.
///
/// Written as a non-negative integer (`1048576`) or a string, with or without a unit:
/// decimal `KB`/`K`, `MB`/`M`, `GB`/`G`, `TB`/`T`, binary `KiB`/`Ki` … `TiB`/`Ti`, or `B`.
/// Decimals are allowed as long as the result is whole bytes (`1.5GiB`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size {
    bytes: u64,
}

impl Size {
    /// A size of exactly `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        Self { bytes }
    }

    /// The number of bytes, as JetStream's API expects it.
    pub const fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The count and unit of the canonical string form, or `None` when the
    /// canonical form is a plain integer (zero, or not a multiple of 1000 or 1024).
    fn canonical_unit(&self) -> Option<(u64, &'static str)> {
        if self.bytes == 0 {
            return None;
        }
        CANONICAL_SIZE_UNITS
            .iter()
            .find(|(_, bytes_per_unit)| self.bytes.is_multiple_of(*bytes_per_unit))
            .map(|(unit, bytes_per_unit)| (self.bytes / bytes_per_unit, *unit))
    }
}

impl Size {
    /// This size in the unit `written` uses (`2GiB` when `written` is
    /// `1GiB`, plain bytes when it has none), when that unit divides it
    /// exactly; None otherwise.
    pub fn in_unit_of(&self, written: &str) -> Option<String> {
        in_unit_of(self.bytes, written, &SIZE_UNITS)
    }
}

/// `amount` as a count of the one unit (among `units`) that `written`
/// ends in, when that unit divides it exactly.
fn in_unit_of(amount: u64, written: &str, units: &[(&str, u64)]) -> Option<String> {
    let (_, unit) = DecimalNumber::split_off(written)?;
    let (name, per_unit) = units.iter().find(|(name, _)| *name == unit)?;
    amount
        .is_multiple_of(*per_unit)
        .then(|| format!("{}{name}", amount / per_unit))
}

impl FromStr for Size {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(UnitError::EmptySize);
        }
        if text.starts_with('-') {
            return Err(UnitError::NegativeSize {
                text: text.to_owned(),
            });
        }
        let (number, unit) = DecimalNumber::split_off(text)
            .filter(|(_, unit)| !unit.starts_with('.'))
            .ok_or_else(|| UnitError::MalformedSize {
                text: text.to_owned(),
            })?;
        let bytes_per_unit = SIZE_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, bytes)| *bytes)
            .ok_or_else(|| UnitError::UnknownSizeUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
            })?;
        let bytes = number
            .times(bytes_per_unit)
            .ok_or_else(|| UnitError::SizeOverflow {
                text: text.to_owned(),
            })?;
        if !bytes.exact {
            return Err(UnitError::FractionalSize {
                text: text.to_owned(),
            });
        }
        Ok(Self { bytes: bytes.whole })
    }
}

/// Prints the canonical form: the size in the largest binary or decimal unit that
/// divides it exactly (`1GiB`, `512MB`, `1000KiB`), else plain bytes (`1536`).
impl fmt::Display for Size {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.canonical_unit() {
            Some((count, unit)) => write!(formatter, "{count}{unit}"),
            None => write!(formatter, "{}", self.bytes),
        }
    }
}

/// Serializes sizes with a unit as strings (`"1GiB"`) and all others as integers.
impl Serialize for Size {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.canonical_unit() {
            Some(_) => serializer.collect_str(self),
            None => serializer.serialize_u64(self.bytes),
        }
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Accepts a non-negative integer or a size string.
struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = Size;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a number of bytes such as `1048576` or a size string such as `1GiB`")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Size, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<Size, E> {
        Ok(Size::from_bytes(bytes))
    }

    fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<Size, E> {
        u64::try_from(bytes).map(Size::from_bytes).map_err(|_| {
            E::custom(UnitError::NegativeSize {
                text: bytes.to_string(),
            })
        })
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Size, E> {
        Err(E::custom(if number < 0.0 {
            UnitError::NegativeSize {
                text: format!("{number:?}"),
            }
        } else {
            UnitError::DecimalNumberSize {
                number: format!("{number:?}"),
            }
        }))
    }
}

/// Kubernetes "int-or-string" schema. The integer minimum and the string pattern
/// sit beside `anyOf` rather than inside it: Kubernetes only accepts the exact
/// `anyOf: [{type: integer}, {type: string}]` form, and JSON Schema applies
/// `minimum` to numbers only and `pattern` to strings only.
impl JsonSchema for Size {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "x-kubernetes-int-or-string": true,
            "anyOf": [{ "type": "integer" }, { "type": "string" }],
            "minimum": 0,
            "pattern": SIZE_PATTERN,
            "description": "A size in bytes: a non-negative integer such as `1048576`, or a string \
                with a unit such as `512MB` or `1GiB` (B; K or KB, M or MB, G or GB, T or TB \
                are powers of 1000; Ki or KiB, Mi or MiB, Gi or GiB, Ti or TiB are powers of 1024).",
        })
    }
}

/// A non-negative decimal number as written in a manifest, kept as its digit
/// strings so it can be scaled by a unit without rounding.
struct DecimalNumber<'text> {
    integer_digits: &'text str,
    fraction_digits: &'text str,
}

/// A scaled number: its whole part, and whether there was no fractional part left.
struct Scaled {
    whole: u64,
    exact: bool,
}

impl<'text> DecimalNumber<'text> {
    /// Splits a leading `digits` or `digits.digits` off `text`, returning it and the rest.
    fn split_off(text: &'text str) -> Option<(Self, &'text str)> {
        let integer_length = leading_digit_count(text);
        if integer_length == 0 {
            return None;
        }
        let (integer_digits, rest) = text.split_at(integer_length);
        let Some(after_point) = rest.strip_prefix('.') else {
            let number = Self {
                integer_digits,
                fraction_digits: "",
            };
            return Some((number, rest));
        };
        let fraction_length = leading_digit_count(after_point);
        if fraction_length == 0 {
            return None;
        }
        let (fraction_digits, rest) = after_point.split_at(fraction_length);
        Some((
            Self {
                integer_digits,
                fraction_digits,
            },
            rest,
        ))
    }

    /// This number times `multiplier`, rounded down; `None` if it exceeds `u64`.
    fn times(&self, multiplier: u64) -> Option<Scaled> {
        let integer = self
            .integer_digits
            .bytes()
            .try_fold(0_u64, |value, digit| {
                value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
            })?;
        // The fraction times the multiplier, evaluated from the last digit:
        // floor((digit * multiplier + carried) / 10) per digit equals the floor
        // of the whole product, and `carried` stays below `multiplier`.
        let mut fraction_part = 0_u64;
        let mut exact = true;
        for digit in self.fraction_digits.bytes().rev() {
            let sum = u64::from(digit - b'0') * multiplier + fraction_part;
            exact &= sum.is_multiple_of(10);
            fraction_part = sum / 10;
        }
        let whole = integer
            .checked_mul(multiplier)?
            .checked_add(fraction_part)?;
        Some(Scaled { whole, exact })
    }
}

fn leading_digit_count(text: &str) -> usize {
    text.bytes().take_while(u8::is_ascii_digit).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(text: &str) -> Duration {
        text.parse()
            .unwrap_or_else(|error| panic!("`{text}` should parse: {error}"))
    }

    fn duration_error(text: &str) -> UnitError {
        match text.parse::<Duration>() {
            Ok(value) => panic!("`{text}` should be rejected, got {value}"),
            Err(error) => error,
        }
    }

    fn size(text: &str) -> Size {
        text.parse()
            .unwrap_or_else(|error| panic!("`{text}` should parse: {error}"))
    }

    fn size_error(text: &str) -> UnitError {
        match text.parse::<Size>() {
            Ok(value) => panic!("`{text}` should be rejected, got {value}"),
            Err(error) => error,
        }
    }

    #[test]
    fn a_value_is_shown_in_the_one_unit_a_written_value_uses_when_it_divides() {
        assert_eq!(duration("7d").in_unit_of("24h").as_deref(), Some("168h"));
        assert_eq!(duration("7d").in_unit_of("7d").as_deref(), Some("7d"));
        assert_eq!(duration("90m").in_unit_of("1.5h"), None);
        assert_eq!(duration("2h").in_unit_of("1h30m"), None);
        assert_eq!(
            size("2GiB").in_unit_of("512MiB").as_deref(),
            Some("2048MiB")
        );
        assert_eq!(
            size("1GiB").in_unit_of("1048576").as_deref(),
            Some("1073741824")
        );
        assert_eq!(size("1500").in_unit_of("1KiB"), None);
    }

    fn json_error<T: for<'de> Deserialize<'de> + fmt::Debug>(json: &str) -> String {
        match serde_json::from_str::<T>(json) {
            Ok(value) => panic!("{json} should be rejected, got {value:?}"),
            Err(error) => error.to_string(),
        }
    }

    // Durations: accepted forms.

    #[test]
    fn duration_accepts_every_unit() {
        assert_eq!(duration("10ns").as_nanos(), 10);
        assert_eq!(duration("250us").as_nanos(), 250_000);
        assert_eq!(duration("500ms").as_nanos(), 500_000_000);
        assert_eq!(duration("90s"), Duration::from_secs(90));
        assert_eq!(duration("5m"), Duration::from_secs(300));
        assert_eq!(duration("2h"), Duration::from_secs(7_200));
    }

    #[test]
    fn duration_accepts_micro_sign_and_greek_mu_for_microseconds() {
        assert_eq!(duration("250\u{b5}s").as_nanos(), 250_000);
        assert_eq!(duration("250\u{3bc}s").as_nanos(), 250_000);
    }

    #[test]
    fn duration_accepts_days_and_weeks() {
        assert_eq!(duration("1d"), Duration::from_secs(86_400));
        assert_eq!(duration("7d"), Duration::from_secs(7 * 86_400));
        assert_eq!(duration("2w"), Duration::from_secs(14 * 86_400));
        assert_eq!(duration("1w"), duration("7d"));
    }

    #[test]
    fn duration_adds_up_several_parts() {
        assert_eq!(duration("1h30m"), Duration::from_secs(5_400));
        assert_eq!(
            duration("1w2d3h4m5s6ms7us8ns").as_nanos(),
            NANOS_PER_WEEK
                + 2 * NANOS_PER_DAY
                + 3 * NANOS_PER_HOUR
                + 4 * NANOS_PER_MINUTE
                + 5 * NANOS_PER_SECOND
                + 6 * NANOS_PER_MILLISECOND
                + 7 * NANOS_PER_MICROSECOND
                + 8
        );
        // Like Go, parts may come in any order and repeat.
        assert_eq!(duration("30m1h"), duration("1h30m"));
        assert_eq!(duration("1s1s"), duration("2s"));
    }

    #[test]
    fn duration_accepts_decimal_numbers_exactly() {
        assert_eq!(duration("1.5h"), duration("1h30m"));
        assert_eq!(duration("0.5s").as_nanos(), 500_000_000);
        assert_eq!(duration("1.25ms").as_nanos(), 1_250_000);
        assert_eq!(duration("0.1s").as_nanos(), 100_000_000);
        assert_eq!(duration("1.000000001s").as_nanos(), 1_000_000_001);
        assert_eq!(duration("2.50d"), duration("2d12h"));
    }

    #[test]
    fn duration_drops_digits_below_a_nanosecond() {
        assert_eq!(duration("1.5ns").as_nanos(), 1);
        assert_eq!(duration("0.9ns").as_nanos(), 0);
        assert_eq!(duration("1.0000000019s").as_nanos(), 1_000_000_001);
        assert_eq!(
            duration("0.99999999999999999999999999w").as_nanos(),
            NANOS_PER_WEEK - 1
        );
    }

    #[test]
    fn duration_accepts_zero_with_or_without_unit() {
        assert_eq!(duration("0"), Duration::ZERO);
        assert_eq!(duration("0s"), Duration::ZERO);
        assert_eq!(duration("0ms"), Duration::ZERO);
        assert_eq!(duration("0.0h"), Duration::ZERO);
        assert_eq!(Duration::default(), Duration::ZERO);
    }

    #[test]
    fn duration_accepts_the_largest_value() {
        assert_eq!(duration("18446744073709551615ns").as_nanos(), u64::MAX);
        let largest = Duration::from_nanos(u64::MAX);
        assert_eq!(duration(&largest.to_string()), largest);
    }

    // Durations: errors.

    #[test]
    fn empty_duration_is_an_error() {
        assert_eq!(duration_error(""), UnitError::EmptyDuration);
        assert_eq!(
            UnitError::EmptyDuration.to_string(),
            "the duration is empty; write a number followed by a unit, e.g. `30s`"
        );
    }

    #[test]
    fn negative_duration_is_an_error() {
        for text in ["-5s", "-0", "-1h30m"] {
            assert_eq!(
                duration_error(text),
                UnitError::NegativeDuration { text: text.into() }
            );
        }
        assert_eq!(
            duration_error("-5s").to_string(),
            "`-5s`: durations cannot be negative"
        );
    }

    #[test]
    fn duration_number_without_unit_is_an_error() {
        for text in ["30", "00", "0.0", "1h30", "1.5"] {
            assert_eq!(
                duration_error(text),
                UnitError::MissingDurationUnit { text: text.into() }
            );
        }
        assert_eq!(
            duration_error("30").to_string(),
            "`30` has a number without a unit; add a unit, e.g. `30s`"
        );
    }

    #[test]
    fn duration_with_unknown_unit_lists_the_accepted_units() {
        for (text, unit) in [
            ("1x", "x"),
            ("1y", "y"),
            ("5 min", " min"),
            ("5min", "min"),
            ("1S", "S"),
            ("1h 30m", "h "),
            ("30s ", "s "),
            ("1sec", "sec"),
        ] {
            assert_eq!(
                duration_error(text),
                UnitError::UnknownDurationUnit {
                    text: text.into(),
                    unit: unit.into()
                }
            );
        }
        assert_eq!(
            duration_error("1y").to_string(),
            "unknown unit `y` in `1y`; accepted units are ns, us (or µs), ms, s, m, h, \
             d (24h) and w (7d), written right after the number, e.g. `90s` or `1h30m`"
        );
    }

    #[test]
    fn malformed_duration_is_an_error() {
        for text in [
            "s", "abc", " 5s", "+5s", ".5s", "1.s", "1..5s", "1.5.5s", "1h.5m",
        ] {
            assert_eq!(
                duration_error(text),
                UnitError::MalformedDuration { text: text.into() }
            );
        }
        assert_eq!(
            duration_error("abc").to_string(),
            "`abc` is not a duration; write numbers followed by units, \
             e.g. `500ms`, `90s`, `1h30m` or `1.5h`"
        );
    }

    #[test]
    fn duration_overflow_is_an_error() {
        for text in [
            "18446744073709551616ns",
            "30501w",
            "99999999999999999999999s",
            "30500w30500w",
            "18446744073709551615ns1ns",
        ] {
            assert_eq!(
                duration_error(text),
                UnitError::DurationOverflow { text: text.into() }
            );
        }
        assert_eq!(
            duration_error("30501w").to_string(),
            "`30501w` is too long; durations can be at most about 584 years"
        );
    }

    // Durations: canonical form.

    #[test]
    fn duration_displays_largest_units_first_without_zero_parts() {
        let cases = [
            (0, "0s"),
            (5_400 * NANOS_PER_SECOND, "1h30m"),
            (7 * NANOS_PER_DAY, "1w"),
            (1_500 * NANOS_PER_MILLISECOND, "1s500ms"),
            (NANOS_PER_DAY + NANOS_PER_SECOND, "1d1s"),
            (90 * NANOS_PER_SECOND, "1m30s"),
            (250 * NANOS_PER_MICROSECOND, "250us"),
            (1, "1ns"),
            (u64::MAX, "30500w3d23h34m33s709ms551us615ns"),
        ];
        for (nanos, expected) in cases {
            assert_eq!(Duration::from_nanos(nanos).to_string(), expected);
        }
    }

    #[test]
    fn duration_display_parses_back_to_the_same_value() {
        let mut nanos = 1_u64;
        while let Some(next) = nanos.checked_mul(7) {
            for value in [nanos - 1, nanos, nanos + 1] {
                let original = Duration::from_nanos(value);
                assert_eq!(duration(&original.to_string()), original);
            }
            nanos = next;
        }
    }

    #[test]
    fn duration_serializes_to_its_canonical_string() {
        let value = serde_json::to_value(duration("90m")).unwrap();
        assert_eq!(value, serde_json::json!("1h30m"));
        let value = serde_json::to_value(Duration::ZERO).unwrap();
        assert_eq!(value, serde_json::json!("0s"));
    }

    #[test]
    fn duration_round_trips_through_json() {
        for text in ["0", "1.5h", "7d", "250us", "1s500ms", "2w3d"] {
            let original = duration(text);
            let json = serde_json::to_string(&original).unwrap();
            assert_eq!(serde_json::from_str::<Duration>(&json).unwrap(), original);
        }
    }

    #[test]
    fn duration_deserializes_from_strings_and_integer_zero() {
        let parsed: Duration = serde_json::from_str("\"1h30m\"").unwrap();
        assert_eq!(parsed, Duration::from_secs(5_400));
        let parsed: Duration = serde_json::from_str("0").unwrap();
        assert_eq!(parsed, Duration::ZERO);
        let parsed: Vec<Duration> = serde_json::from_str(r#"["1s", "2s", "0"]"#).unwrap();
        assert_eq!(parsed, [duration("1s"), duration("2s"), Duration::ZERO]);
    }

    #[test]
    fn duration_rejects_bare_numbers_and_other_json_types() {
        assert!(json_error::<Duration>("30").starts_with(
            "expected a duration string such as `30s`, found the number `30`; \
                 add a unit, e.g. `30s`"
        ));
        assert!(
            json_error::<Duration>("1.5")
                .starts_with("expected a duration string such as `30s`, found the number `1.5`")
        );
        assert!(json_error::<Duration>("-5").starts_with("`-5`: durations cannot be negative"));
        assert!(json_error::<Duration>("true").contains("expected a duration string"));
        assert!(json_error::<Duration>("\"5x\"").starts_with("unknown unit `x` in `5x`"));
    }

    #[test]
    fn duration_converts_to_and_from_plain_numbers() {
        assert_eq!(Duration::from_nanos(42).as_nanos(), 42);
        assert_eq!(Duration::from_secs(3).as_nanos(), 3_000_000_000);
        assert_eq!(
            duration("1.5s").as_std(),
            std::time::Duration::from_millis(1_500)
        );
        assert_eq!(
            std::time::Duration::from(duration("2m")),
            std::time::Duration::from_secs(120)
        );
        assert!(duration("1s") < duration("1m"));
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn duration_from_seconds_panics_instead_of_wrapping() {
        let _ = Duration::from_secs(u64::MAX);
    }

    #[test]
    fn duration_schema_is_an_inline_string_with_a_pattern() {
        assert!(Duration::inline_schema());
        assert_eq!(Duration::schema_name(), "Duration");
        let schema = schemars::schema_for!(Duration);
        assert_eq!(schema.get("type"), Some(&serde_json::json!("string")));
        assert_eq!(
            schema.get("pattern"),
            Some(&serde_json::json!(DURATION_PATTERN))
        );
        assert!(schema.get("description").is_some());
    }

    /// The pattern cannot be run here (no regex engine among the dependencies), so
    /// each sample states by hand whether `DURATION_PATTERN` matches it, and the
    /// parser must accept exactly those (apart from values too large to store).
    #[test]
    fn duration_parser_agrees_with_the_schema_pattern() {
        assert_eq!(
            DURATION_PATTERN,
            "^(0|([0-9]+(\\.[0-9]+)?(ns|us|\u{b5}s|\u{3bc}s|ms|s|m|h|d|w))+)$"
        );
        let pattern_matches = [
            "0",
            "0s",
            "10ns",
            "250us",
            "250\u{b5}s",
            "250\u{3bc}s",
            "500ms",
            "90s",
            "5m",
            "2h",
            "7d",
            "2w",
            "1h30m",
            "1.5h",
            "0.25s",
            "30m1h",
            "007s",
        ];
        let pattern_rejects = [
            "", "30", "00", "0.0", "1h30", "-5s", "+5s", " 5s", "5s ", "5 s", ".5s", "1.s",
            "1..5s", "1x", "1y", "5min", "1S", "1H", "1e3s", "abc",
        ];
        for text in pattern_matches {
            assert!(text.parse::<Duration>().is_ok(), "`{text}` should parse");
        }
        for text in pattern_rejects {
            assert!(text.parse::<Duration>().is_err(), "`{text}` should fail");
        }
        // Every unit the parser knows appears in the pattern's unit alternatives.
        for (unit, _) in DURATION_UNITS {
            assert!(
                DURATION_PATTERN.contains(&format!("|{unit}|"))
                    || DURATION_PATTERN.contains(&format!("({unit}|"))
                    || DURATION_PATTERN.contains(&format!("|{unit})")),
                "unit `{unit}` is missing from the pattern"
            );
        }
    }

    // Sizes: accepted forms.

    #[test]
    fn size_accepts_plain_integers_and_digit_strings() {
        assert_eq!(size("1048576").bytes(), 1_048_576);
        assert_eq!(size("0").bytes(), 0);
        assert_eq!(size("0001024").bytes(), 1_024);
        assert_eq!(size("18446744073709551615").bytes(), u64::MAX);
    }

    #[test]
    fn size_accepts_decimal_units_and_their_short_aliases() {
        assert_eq!(size("100B").bytes(), 100);
        assert_eq!(size("10K").bytes(), 10_000);
        assert_eq!(size("10KB").bytes(), 10_000);
        assert_eq!(size("512MB").bytes(), 512_000_000);
        assert_eq!(size("512M").bytes(), 512_000_000);
        assert_eq!(size("2GB").bytes(), 2_000_000_000);
        assert_eq!(size("2G").bytes(), 2_000_000_000);
        assert_eq!(size("3TB").bytes(), 3_000_000_000_000);
        assert_eq!(size("3T").bytes(), 3_000_000_000_000);
    }

    #[test]
    fn size_accepts_binary_units_and_their_short_aliases() {
        assert_eq!(size("64KiB").bytes(), 64 * 1_024);
        assert_eq!(size("64Ki").bytes(), 64 * 1_024);
        assert_eq!(size("8MiB").bytes(), 8 * 1_048_576);
        assert_eq!(size("8Mi").bytes(), 8 * 1_048_576);
        assert_eq!(size("1GiB").bytes(), 1_073_741_824);
        assert_eq!(size("1Gi").bytes(), 1_073_741_824);
        assert_eq!(size("2TiB").bytes(), 2 * 1_099_511_627_776);
        assert_eq!(size("2Ti").bytes(), 2 * 1_099_511_627_776);
    }

    #[test]
    fn size_accepts_decimal_numbers_that_come_to_whole_bytes() {
        assert_eq!(size("1.5GiB").bytes(), 1_610_612_736);
        assert_eq!(size("1.5KB").bytes(), 1_500);
        assert_eq!(size("0.5KiB").bytes(), 512);
        assert_eq!(size("2.000B").bytes(), 2);
        assert_eq!(size("1.0").bytes(), 1);
        assert_eq!(size("0.000000000001TB").bytes(), 1);
    }

    // Sizes: errors.

    #[test]
    fn empty_size_is_an_error() {
        assert_eq!(size_error(""), UnitError::EmptySize);
        assert_eq!(
            UnitError::EmptySize.to_string(),
            "the size is empty; write a number of bytes such as `1048576` \
             or a number with a unit such as `1GiB`"
        );
    }

    #[test]
    fn negative_size_is_an_error_not_zero() {
        for text in ["-1", "-0", "-1GiB"] {
            assert_eq!(
                size_error(text),
                UnitError::NegativeSize { text: text.into() }
            );
        }
        assert_eq!(
            size_error("-1").to_string(),
            "`-1`: sizes cannot be negative; leave the field out for unlimited"
        );
        assert!(
            json_error::<Size>("-1")
                .starts_with("`-1`: sizes cannot be negative; leave the field out for unlimited")
        );
        assert!(json_error::<Size>("\"-1\"").starts_with("`-1`: sizes cannot be negative"));
    }

    #[test]
    fn size_with_unknown_unit_lists_the_accepted_units() {
        for (text, unit) in [
            ("1gb", "gb"),
            ("1kb", "kb"),
            ("1Kib", "Kib"),
            ("1k", "k"),
            ("1EiB", "EiB"),
            ("1 GiB", " GiB"),
            ("1GiB ", "GiB "),
            ("1bytes", "bytes"),
        ] {
            assert_eq!(
                size_error(text),
                UnitError::UnknownSizeUnit {
                    text: text.into(),
                    unit: unit.into()
                }
            );
        }
        assert_eq!(
            size_error("1gb").to_string(),
            "unknown unit `gb` in `1gb`; accepted units are B, K or KB, M or MB, G or GB, \
             T or TB (powers of 1000) and Ki or KiB, Mi or MiB, Gi or GiB, Ti or TiB \
             (powers of 1024), case-sensitive and written right after the number, \
             e.g. `512MB` or `1GiB`"
        );
    }

    #[test]
    fn fractional_byte_count_is_an_error() {
        for text in ["1.5B", "1.5", "0.1KiB", "0.0000000000001TB"] {
            assert_eq!(
                size_error(text),
                UnitError::FractionalSize { text: text.into() }
            );
        }
        assert_eq!(
            size_error("1.5B").to_string(),
            "`1.5B` is not a whole number of bytes; sizes must be whole numbers"
        );
    }

    #[test]
    fn malformed_size_is_an_error() {
        for text in [
            "GiB", "abc", ".5GiB", "1.GiB", "1..5GiB", "1.5.5GiB", "+1", " 1",
        ] {
            assert_eq!(
                size_error(text),
                UnitError::MalformedSize { text: text.into() }
            );
        }
        assert_eq!(
            size_error("abc").to_string(),
            "`abc` is not a size; write a number of bytes such as `1048576` \
             or a number with a unit such as `512MB` or `1GiB`"
        );
    }

    #[test]
    fn size_overflow_is_an_error() {
        for text in [
            "18446744073709551616",
            "16777216TiB",
            "99999999999999999999999B",
        ] {
            assert_eq!(
                size_error(text),
                UnitError::SizeOverflow { text: text.into() }
            );
        }
        assert_eq!(
            size_error("16777216TiB").to_string(),
            "`16777216TiB` is too large; sizes can be at most \
             18446744073709551615 bytes (about 16EiB)"
        );
    }

    // Sizes: canonical form.

    #[test]
    fn size_displays_the_largest_unit_that_divides_it_exactly() {
        let cases = [
            (0, "0"),
            (1, "1"),
            (1_023, "1023"),
            (1_024, "1KiB"),
            (1_000, "1KB"),
            (1_536, "1536"),
            (1_048_576, "1MiB"),
            (1_073_741_824, "1GiB"),
            (1_610_612_736, "1536MiB"),
            (512_000_000, "512MB"),
            (1_000_000_000_000, "1TB"),
            (3 * 1_099_511_627_776, "3TiB"),
            (2_048_000, "2000KiB"),
            (1_024_000, "1000KiB"),
            (1_000_000, "1MB"),
            (1_099_511_627_776_000, "1000TiB"),
            (1_024_000_000_000, "1024GB"),
            (u64::MAX, "18446744073709551615"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Size::from_bytes(bytes).to_string(), expected);
        }
    }

    #[test]
    fn size_display_parses_back_to_the_same_value() {
        let mut bytes = 1_u64;
        while let Some(next) = bytes.checked_mul(10) {
            for value in [
                bytes - 1,
                bytes,
                bytes + 1,
                bytes * 8,
                bytes.saturating_mul(1_024),
            ] {
                let original = Size::from_bytes(value);
                assert_eq!(size(&original.to_string()), original);
            }
            bytes = next;
        }
    }

    #[test]
    fn size_serializes_units_as_strings_and_other_values_as_integers() {
        let to_json = |bytes| serde_json::to_value(Size::from_bytes(bytes)).unwrap();
        assert_eq!(to_json(1_073_741_824), serde_json::json!("1GiB"));
        assert_eq!(to_json(512_000_000), serde_json::json!("512MB"));
        assert_eq!(to_json(1_536), serde_json::json!(1536));
        assert_eq!(to_json(0), serde_json::json!(0));
    }

    #[test]
    fn size_round_trips_through_json() {
        for bytes in [
            0,
            1,
            1_536,
            1_024,
            1_000,
            1_610_612_736,
            512_000_000,
            u64::MAX,
        ] {
            let original = Size::from_bytes(bytes);
            let json = serde_json::to_string(&original).unwrap();
            assert_eq!(serde_json::from_str::<Size>(&json).unwrap(), original);
        }
    }

    #[test]
    fn size_deserializes_from_integers_and_strings() {
        let parse = |json: &str| serde_json::from_str::<Size>(json).unwrap().bytes();
        assert_eq!(parse("1048576"), 1_048_576);
        assert_eq!(parse("0"), 0);
        assert_eq!(parse("18446744073709551615"), u64::MAX);
        assert_eq!(parse("\"1024\""), 1_024);
        assert_eq!(parse("\"1GiB\""), 1_073_741_824);
        assert_eq!(parse("\"1.5KB\""), 1_500);
    }

    #[test]
    fn size_rejects_decimal_json_numbers_and_other_json_types() {
        assert!(json_error::<Size>("1.5").starts_with(
            "sizes must be whole numbers, found `1.5`; write a whole number of bytes \
             such as `1536`, or a string with a unit such as `1.5KiB`"
        ));
        assert!(json_error::<Size>("1.0").starts_with("sizes must be whole numbers, found `1.0`"));
        assert!(json_error::<Size>("-1.5").starts_with("`-1.5`: sizes cannot be negative"));
        assert!(json_error::<Size>("true").contains("expected a number of bytes"));
        assert!(json_error::<Size>("\"1gb\"").starts_with("unknown unit `gb` in `1gb`"));
    }

    #[test]
    fn size_converts_to_and_from_byte_counts() {
        assert_eq!(Size::from_bytes(42).bytes(), 42);
        assert_eq!(Size::default().bytes(), 0);
        assert!(size("1KB") < size("1KiB"));
    }

    #[test]
    fn size_schema_is_a_kubernetes_int_or_string() {
        assert!(Size::inline_schema());
        assert_eq!(Size::schema_name(), "Size");
        let schema = schemars::schema_for!(Size);
        assert_eq!(
            schema.get("x-kubernetes-int-or-string"),
            Some(&serde_json::json!(true))
        );
        // Kubernetes rejects any other shape of `anyOf` next to int-or-string.
        assert_eq!(
            schema.get("anyOf"),
            Some(&serde_json::json!([{ "type": "integer" }, { "type": "string" }]))
        );
        assert_eq!(schema.get("minimum"), Some(&serde_json::json!(0)));
        assert_eq!(
            schema.get("pattern"),
            Some(&serde_json::json!(SIZE_PATTERN))
        );
        assert!(schema.get("type").is_none());
        assert!(schema.get("description").is_some());
    }

    /// As for durations: each sample states by hand whether `SIZE_PATTERN`
    /// matches it. The parser accepts exactly those, except that it also demands
    /// whole bytes that fit in 64 bits, which a pattern cannot express.
    #[test]
    fn size_parser_agrees_with_the_schema_pattern() {
        assert_eq!(SIZE_PATTERN, "^[0-9]+(\\.[0-9]+)?([KMGT]i?B?|B)?$");
        let pattern_matches = [
            "0", "1024", "100B", "10K", "10KB", "512MB", "2G", "3TB", "64KiB", "64Ki", "8MiB",
            "1Gi", "2TiB", "1.5GiB", "1.0",
        ];
        let pattern_matches_but_value_is_invalid = ["1.5B", "1.5", "99999999999999999999"];
        let pattern_rejects = [
            "", "-1", "+1", " 1", "1 GiB", "1GiB ", "GiB", ".5GiB", "1.GiB", "1gb", "1kb", "1k",
            "1Kib", "1EiB", "1e3", "abc",
        ];
        for text in pattern_matches {
            assert!(text.parse::<Size>().is_ok(), "`{text}` should parse");
        }
        for text in pattern_matches_but_value_is_invalid
            .into_iter()
            .chain(pattern_rejects)
        {
            assert!(text.parse::<Size>().is_err(), "`{text}` should fail");
        }
        // The pattern's unit group `[KMGT]i?B?|B` spells out exactly the parser's units.
        let mut pattern_units = vec![String::new(), "B".to_owned()];
        for prefix in ["K", "M", "G", "T"] {
            for binary in ["", "i"] {
                for byte in ["", "B"] {
                    pattern_units.push(format!("{prefix}{binary}{byte}"));
                }
            }
        }
        let mut parser_units: Vec<String> = SIZE_UNITS
            .iter()
            .map(|(unit, _)| (*unit).to_owned())
            .collect();
        pattern_units.sort();
        parser_units.sort();
        assert_eq!(pattern_units, parser_units);
    }
}
