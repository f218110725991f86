//! Exchange rates against USD: realistic levels, smooth moves (sums of sines with
//! seed-dependent phases, plus a little hourly noise), pegs held, updated hourly like the
//! free currencylayer plan.

use chrono::{DateTime, Utc};

use crate::hash::{signed, str_hash, unit};

/// One currency the emulator quotes: code, name, units per USD, and how much it moves
/// (1.0 = a typical floating currency, 0 = pegged).
pub(crate) struct CurrencySpec {
    pub code: &'static str,
    pub name: &'static str,
    pub level: f64,
    pub volatility: f64,
}

const fn c(code: &'static str, name: &'static str, level: f64, volatility: f64) -> CurrencySpec {
    CurrencySpec {
        code,
        name,
        level,
        volatility,
    }
}

/// The quoted currencies, sorted by code.
pub(crate) const CURRENCIES: &[CurrencySpec] = &[
    c("AED", "United Arab Emirates Dirham", 3.6725, 0.0),
    c("ARS", "Argentine Peso", 870.0, 2.0),
    c("AUD", "Australian Dollar", 1.52, 1.0),
    c("BRL", "Brazilian Real", 5.0, 1.4),
    c("BTC", "Bitcoin", 1.6e-5, 4.0),
    c("CAD", "Canadian Dollar", 1.36, 0.6),
    c("CHF", "Swiss Franc", 0.88, 0.8),
    c("CLP", "Chilean Peso", 930.0, 1.2),
    c("CNY", "Chinese Yuan", 7.23, 0.3),
    c("COP", "Colombian Peso", 3950.0, 1.3),
    c("CZK", "Czech Republic Koruna", 23.1, 1.0),
    c("DKK", "Danish Krone", 6.87, 0.9),
    c("EGP", "Egyptian Pound", 47.0, 1.5),
    c("EUR", "Euro", 0.92, 0.9),
    c("GBP", "British Pound Sterling", 0.79, 0.9),
    c("HKD", "Hong Kong Dollar", 7.82, 0.03),
    c("HUF", "Hungarian Forint", 360.0, 1.2),
    c("IDR", "Indonesian Rupiah", 15700.0, 0.8),
    c("ILS", "Israeli New Sheqel", 3.7, 1.0),
    c("INR", "Indian Rupee", 83.2, 0.4),
    c("JPY", "Japanese Yen", 149.5, 1.1),
    c("KRW", "South Korean Won", 1330.0, 0.9),
    c("MXN", "Mexican Peso", 17.1, 1.3),
    c("MYR", "Malaysian Ringgit", 4.7, 0.6),
    c("NGN", "Nigerian Naira", 1400.0, 2.0),
    c("NOK", "Norwegian Krone", 10.7, 1.1),
    c("NZD", "New Zealand Dollar", 1.65, 1.0),
    c("PHP", "Philippine Peso", 56.0, 0.6),
    c("PLN", "Polish Zloty", 4.0, 1.1),
    c("RUB", "Russian Ruble", 92.0, 1.6),
    c("SAR", "Saudi Riyal", 3.75, 0.0),
    c("SEK", "Swedish Krona", 10.6, 1.1),
    c("SGD", "Singapore Dollar", 1.35, 0.5),
    c("THB", "Thai Baht", 35.8, 0.7),
    c("TRY", "Turkish Lira", 32.0, 1.8),
    c("TWD", "New Taiwan Dollar", 31.5, 0.5),
    c("USD", "United States Dollar", 1.0, 0.0),
    c("XAU", "Gold (troy ounce)", 4.3e-4, 1.5),
    c("ZAR", "South African Rand", 18.6, 1.5),
];

/// The spec of a currency code, if quoted.
pub(crate) fn spec(code: &str) -> Option<&'static CurrencySpec> {
    CURRENCIES.iter().find(|c| c.code == code)
}

/// A currency's display name: the built-in one, or the code itself.
pub(crate) fn name(code: &str) -> String {
    spec(code).map_or_else(|| code.to_string(), |c| c.name.to_string())
}

/// Start of the hour containing `t`: the instant rates are published for.
pub(crate) fn hour_start(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp().div_euclid(3600) * 3600, 0).unwrap_or(t)
}

/// Rounds to six significant digits, as the real feed does (`0.92315`, `149.532`,
/// `1.63412e-5`).
pub(crate) fn round_sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let digits = 6 - 1 - v.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (v * scale).round() / scale
}

/// Units of `spec` per USD during the hour starting at `hour` (epoch hours).
pub(crate) fn usd_rate(seed: u64, spec: &CurrencySpec, hour: i64) -> f64 {
    if spec.volatility == 0.0 {
        return spec.level;
    }
    let stream = str_hash(spec.code);
    let phase = |k: u64| unit(&[seed, stream, k]) * std::f64::consts::TAU;
    let days = hour as f64 / 24.0;
    let wave = |period: f64, k: u64| (std::f64::consts::TAU * days / period + phase(k)).sin();
    let noise = 2.0 * unit(&[seed, stream, 99, signed(hour)]) - 1.0;
    let v = spec.volatility;
    let log_dev = 0.035 * v * wave(365.0, 1)
        + 0.012 * v * wave(47.0, 2)
        + 0.005 * v * wave(9.0, 3)
        + 0.002 * v * wave(1.7, 4)
        + 0.0006 * v * noise;
    round_sig(spec.level * log_dev.exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_move_smoothly_pegs_hold_and_levels_stay_realistic() {
        assert!(CURRENCIES.len() >= 30);
        for w in CURRENCIES.windows(2) {
            assert!(w[0].code < w[1].code, "table must be sorted");
        }
        for code in [
            "AUD", "EUR", "GBP", "INR", "AED", "JPY", "CHF", "ZAR", "CNY", "CAD",
        ] {
            assert!(spec(code).is_some(), "{code}");
        }
        let eur = spec("EUR").unwrap();
        let start = 490_000; // an hour in 2025
        let mut prev = usd_rate(1, eur, start);
        let mut changed = 0;
        for h in start + 1..start + 24 * 60 {
            let r = usd_rate(1, eur, h);
            assert!((r / prev - 1.0).abs() < 0.005, "hourly jump {prev} -> {r}");
            assert!((0.8..1.05).contains(&r));
            if r != prev {
                changed += 1;
            }
            prev = r;
        }
        assert!(changed > 1000);
        assert_eq!(usd_rate(1, spec("AED").unwrap(), start), 3.6725);
        assert_ne!(usd_rate(1, eur, start), usd_rate(2, eur, start));
        assert_eq!(round_sig(0.92314987), 0.92315);
        assert_eq!(round_sig(149.53249), 149.532);
    }
}
