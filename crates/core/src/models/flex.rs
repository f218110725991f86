//! Serde helpers that accept a number, a numeric string or null where an API is loose.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Why a loose value could not be read as a number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not a number: {0}")]
pub struct NotANumber(pub String);

/// Reads a JSON value as `f64`: numbers, numeric strings ("4.828", "1.19e-5"); null and
/// empty strings are `None`; anything else (including NaN and infinities) is an error.
pub fn value_as_f64(value: &Value) -> Result<Option<f64>, NotANumber> {
    let parsed = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        Some(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(NotANumber(value.to_string())),
    }
}

/// Reads a JSON value as a non-negative integer id: numbers or digit strings.
pub fn value_as_u64(value: &Value) -> Result<Option<u64>, NotANumber> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| NotANumber(value.to_string())),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| NotANumber(value.to_string())),
        _ => Err(NotANumber(value.to_string())),
    }
}

/// `deserialize_with` for `Option<f64>` fields that may arrive as strings.
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = Value::deserialize(d)?;
    value_as_f64(&value).map_err(serde::de::Error::custom)
}

/// `deserialize_with` for `Option<u64>` fields that may arrive as strings.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value = Value::deserialize(d)?;
    value_as_u64(&value).map_err(serde::de::Error::custom)
}

/// `deserialize_with` for `Option<bool>` fields that may arrive as strings or 0/1.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|v| v != 0),
        _ => None,
    })
}

/// `deserialize_with` for `Option<String>` fields that may arrive as numbers.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_strings_and_exponents_are_read() {
        assert_eq!(value_as_f64(&json!(4.5)).unwrap(), Some(4.5));
        assert_eq!(value_as_f64(&json!("4.828")).unwrap(), Some(4.828));
        assert_eq!(
            value_as_f64(&json!(1.1940434e-5)).unwrap(),
            Some(1.1940434e-5)
        );
        assert_eq!(
            value_as_f64(&json!("1.1940434e-5")).unwrap(),
            Some(1.1940434e-5)
        );
        assert_eq!(value_as_f64(&json!(null)).unwrap(), None);
        assert!(value_as_f64(&json!("cheap")).is_err());
        assert!(value_as_f64(&json!("NaN")).is_err());
        assert_eq!(value_as_u64(&json!("42")).unwrap(), Some(42));
        assert!(value_as_u64(&json!(-1)).is_err());
    }
}
