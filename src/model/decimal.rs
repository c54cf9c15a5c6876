//! Fixed-point decimal for exchange quantities and prices.
//!
//! Exchanges send quantities and prices as decimal strings; floating point would
//! lose the exact value the bot asked for and make position accounting drift.
//! `Fixed` stores the value as an integer count of 1e-8 units (Binance's own
//! precision), parsed strictly: only canonical non-negative decimals are accepted.

use std::fmt;

/// Number of fractional digits kept.
pub const FIXED_DECIMALS: u32 = 8;
/// 10^FIXED_DECIMALS.
pub const FIXED_SCALE: i64 = 100_000_000;

/// A signed fixed-point number with 8 decimals.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Fixed(pub i64);

/// Why a decimal string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty number")]
    Empty,
    #[error("not a plain decimal number (digits with an optional '.')")]
    NotCanonical,
    #[error("more than 8 decimal places")]
    TooPrecise,
    #[error("number too large")]
    TooLarge,
}

impl Fixed {
    pub const ZERO: Fixed = Fixed(0);

    /// Parses a canonical non-negative decimal: `123`, `0.5`, `10.00000000`.
    /// Refused: signs, exponents, `NaN`/`inf`, spaces, a bare `.`, leading `.5`
    /// or trailing `5.`, more than 8 decimals, values beyond the i64 range.
    pub fn parse(s: &str) -> Result<Fixed, DecimalError> {
        let bytes = s.as_bytes();
        if bytes.is_empty() {
            return Err(DecimalError::Empty);
        }
        let (int_part, frac_part) = match s.find('.') {
            Some(dot) => (&bytes[..dot], Some(&bytes[dot + 1..])),
            None => (bytes, None),
        };
        if int_part.is_empty() || !int_part.iter().all(u8::is_ascii_digit) {
            return Err(DecimalError::NotCanonical);
        }
        // Leading zeros ("007") are not what an honest client sends; refuse them
        // so that two spellings of one order cannot slip past duplicate detection.
        if int_part.len() > 1 && int_part[0] == b'0' {
            return Err(DecimalError::NotCanonical);
        }
        let mut value: i64 = 0;
        for &d in int_part {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add((d - b'0') as i64))
                .ok_or(DecimalError::TooLarge)?;
        }
        let mut frac_value: i64 = 0;
        let mut frac_digits = 0u32;
        if let Some(frac) = frac_part {
            if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
                return Err(DecimalError::NotCanonical);
            }
            // Trailing zeros beyond 8 places carry no value; Binance clients pad.
            let significant = frac.len() - frac.iter().rev().take_while(|&&d| d == b'0').count();
            if significant > FIXED_DECIMALS as usize {
                return Err(DecimalError::TooPrecise);
            }
            if frac.len() > 16 {
                return Err(DecimalError::NotCanonical);
            }
            for &d in &frac[..significant] {
                frac_value = frac_value * 10 + (d - b'0') as i64;
                frac_digits += 1;
            }
        }
        let frac_scaled = frac_value * 10i64.pow(FIXED_DECIMALS - frac_digits);
        value
            .checked_mul(FIXED_SCALE)
            .and_then(|v| v.checked_add(frac_scaled))
            .map(Fixed)
            .ok_or(DecimalError::TooLarge)
    }

    pub fn from_f64(v: f64) -> Option<Fixed> {
        let scaled = (v * FIXED_SCALE as f64).round();
        if scaled.is_finite() && scaled.abs() < i64::MAX as f64 {
            Some(Fixed(scaled as i64))
        } else {
            None
        }
    }

    pub fn from_units(units: i64) -> Fixed {
        Fixed(units.saturating_mul(FIXED_SCALE))
    }

    pub fn to_f64(self) -> f64 {
        self.0 as f64 / FIXED_SCALE as f64
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn abs(self) -> Fixed {
        Fixed(self.0.saturating_abs())
    }

    pub fn saturating_add(self, o: Fixed) -> Fixed {
        Fixed(self.0.saturating_add(o.0))
    }

    pub fn saturating_sub(self, o: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(o.0))
    }

    /// `self * other` in f64, e.g. quantity × price → quote notional.
    pub fn mul_f64(self, other: Fixed) -> f64 {
        (self.0 as i128 * other.0 as i128) as f64 / (FIXED_SCALE as f64 * FIXED_SCALE as f64)
    }

    /// Floor of `quote / price` as a quantity; None if price is zero.
    pub fn div_to_qty(quote: Fixed, price: Fixed) -> Option<Fixed> {
        if price.0 <= 0 {
            return None;
        }
        let q = (quote.0 as i128 * FIXED_SCALE as i128) / price.0 as i128;
        i64::try_from(q).ok().map(Fixed)
    }
}

impl fmt::Display for Fixed {
    /// Plain decimal with trailing zeros trimmed (`1.5`, `100`, `-0.001`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let int = abs / FIXED_SCALE as u64;
        let frac = abs % FIXED_SCALE as u64;
        if neg {
            f.write_str("-")?;
        }
        if frac == 0 {
            write!(f, "{int}")
        } else {
            let s = format!("{frac:08}");
            write!(f, "{int}.{}", s.trim_end_matches('0'))
        }
    }
}

impl fmt::Debug for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Formats with exactly `decimals` places (Binance answers `"0.00100000"`).
pub fn format_fixed_padded(v: Fixed, decimals: u32) -> String {
    let s = format!(
        "{}.{:08}",
        v.0.unsigned_abs() / FIXED_SCALE as u64,
        v.0.unsigned_abs() % FIXED_SCALE as u64
    );
    let cut = s.len() - (FIXED_DECIMALS - decimals.min(FIXED_DECIMALS)) as usize;
    let s = if decimals == 0 {
        s[..s.len() - 9].to_string()
    } else {
        s[..cut].to_string()
    };
    if v.0 < 0 {
        format!("-{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_canonical_decimals() {
        assert_eq!(Fixed::parse("1").unwrap(), Fixed(100_000_000));
        assert_eq!(Fixed::parse("0.5").unwrap(), Fixed(50_000_000));
        assert_eq!(Fixed::parse("0.00000001").unwrap(), Fixed(1));
        assert_eq!(Fixed::parse("10.0000000000").unwrap(), Fixed(1_000_000_000));
        assert_eq!(Fixed::parse("0").unwrap(), Fixed(0));
    }

    #[test]
    fn refuses_non_canonical_numbers() {
        for bad in [
            "", "1e3", "NaN", "nan", "inf", "-1", "+1", " 1", "1 ", ".5", "5.", "1.2.3", "0x10",
            "01", "1,5",
        ] {
            assert!(Fixed::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(Fixed::parse("0.000000001"), Err(DecimalError::TooPrecise));
        assert_eq!(
            Fixed::parse("99999999999999999999"),
            Err(DecimalError::TooLarge)
        );
    }

    #[test]
    fn displays_trimmed_and_padded() {
        assert_eq!(Fixed::parse("1.50").unwrap().to_string(), "1.5");
        assert_eq!(Fixed(-100_000).to_string(), "-0.001");
        assert_eq!(
            format_fixed_padded(Fixed::parse("0.001").unwrap(), 8),
            "0.00100000"
        );
        assert_eq!(format_fixed_padded(Fixed::parse("42").unwrap(), 2), "42.00");
        assert_eq!(format_fixed_padded(Fixed::parse("42").unwrap(), 0), "42");
    }

    #[test]
    fn multiplies_without_overflow() {
        let qty = Fixed::parse("90000000000").unwrap();
        let px = Fixed::parse("60000").unwrap();
        assert_eq!(qty.mul_f64(px), 5.4e15);
        assert_eq!(
            Fixed::div_to_qty(Fixed::parse("100").unwrap(), Fixed::parse("50000").unwrap()),
            Some(Fixed(200_000))
        );
    }
}
