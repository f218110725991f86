//! The one configuration file, its environment overrides, and errors that say how to fix them.
//!
//! Every component owns its config struct (documented field by field in its crate); this
//! module only assembles them into sections (`[lake]`, `[sources.walmart]`, ...) and
//! applies overrides: `PRICELAKE_<SECTION>__<FIELD>` (double underscore between levels),
//! for example `PRICELAKE_DELIVERY__BUFFER_SIZE_MIB=8` or
//! `PRICELAKE_SOURCES__CURRENCYLAYER__CURRENCIES=EUR,GBP`. Secrets are never read from the
//! file: they come only from the environment variables each component names.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use pricelake_delivery::DeliveryConfig;
use pricelake_emulator::EmulatorConfig;
use pricelake_lake::LakeConfig;
use pricelake_serve::{PublishConfig, ServeConfig};
use pricelake_sources::SourcesConfig;
use pricelake_transform::TransformConfig;

/// Prefix of every configuration override in the environment.
pub const ENV_PREFIX: &str = "PRICELAKE_";

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "pricelake.toml";

/// How often `run` processes and what it publishes; the `[schedule]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Seconds between `process` runs in `pricelake run` (and in the demo's simulated time).
    pub process_interval_secs: u64,
    /// Seconds between writes of `_state/ingest_status.json`, which `status` and the API read.
    pub status_interval_secs: u64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            process_interval_secs: 3600,
            status_interval_secs: 60,
        }
    }
}

/// The demo's simulated history; the `[demo]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// Days of history to simulate, ending at today's midnight (UTC).
    pub days: u32,
    /// First simulated instant (RFC 3339); empty means `days` before today's midnight.
    pub start: Option<String>,
    /// Where the demo's lake goes (kept apart from a production lake).
    pub lake_url: String,
    /// Where the demo's delivery spool goes.
    pub spool_dir: PathBuf,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            days: 30,
            start: None,
            lake_url: "./demo-lake".to_string(),
            spool_dir: PathBuf::from(".pricelake/demo-spool"),
        }
    }
}

/// The whole configuration: one section per component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricelakeConfig {
    /// Where the lake lives.
    pub lake: LakeConfig,
    /// The two APIs and what to poll.
    pub sources: SourcesConfig,
    /// The delivery stream into the lake.
    pub delivery: DeliveryConfig,
    /// Processing into clean tables and marts.
    pub transform: TransformConfig,
    /// The HTTP API and dashboard.
    pub serve: ServeConfig,
    /// Publishing marts to MongoDB.
    pub publish: PublishConfig,
    /// The built-in emulator of both APIs.
    pub emulator: EmulatorConfig,
    /// Periodic work in `run`.
    pub schedule: ScheduleConfig,
    /// The demo.
    pub demo: DemoConfig,
}

/// A configuration problem; always exit code 2, always naming the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` cannot be read.
    // The cause is not in the message: `{:#}` prints it after, once.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A field has the wrong type, an unknown name, or a bad value.
    #[error("config field `{field}`: {message}\n  fix: {fix}")]
    Field {
        /// Dotted path of the field (`delivery.buffer_size_mib`).
        field: String,
        /// What is wrong.
        message: String,
        /// What to do.
        fix: String,
    },
    /// An environment override cannot be applied.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable's name.
        var: String,
        /// What is wrong.
        message: String,
    },
}

impl PricelakeConfig {
    /// Loads the file (the named one, else `pricelake.toml` if present, else defaults),
    /// then applies `PRICELAKE_*__*` overrides from `env`, then validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<PricelakeConfig, ConfigError> {
        let (origin, text) = match path {
            Some(p) => (
                p.display().to_string(),
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?,
            ),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => (
                DEFAULT_CONFIG_FILE.to_string(),
                std::fs::read_to_string(DEFAULT_CONFIG_FILE).map_err(|source| {
                    ConfigError::Read {
                        path: PathBuf::from(DEFAULT_CONFIG_FILE),
                        source,
                    }
                })?,
            ),
            None => ("(defaults)".to_string(), String::new()),
        };
        Self::from_toml_str(&origin, &text, env)
    }

    /// Parses TOML text with environment overrides; `origin` names the text in errors.
    pub fn from_toml_str(
        origin: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<PricelakeConfig, ConfigError> {
        let mut value: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.contains("__"))
            .collect();
        overrides.sort();
        for (var, raw) in overrides {
            apply_override(&mut value, &var, &raw)?;
        }
        let deserializer = toml::Value::Table(value);
        let config: PricelakeConfig =
            serde_path_to_error::deserialize(deserializer).map_err(|e| {
                let field = e.path().to_string();
                let message = e.inner().to_string();
                ConfigError::Field {
                    fix: fix_for(&field, &message),
                    field,
                    message,
                }
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that types alone cannot (ranges, URLs), naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.delivery.validate().map_err(|e| ConfigError::Field {
            field: "delivery".to_string(),
            message: e.to_string(),
            fix: "see the [delivery] section of pricelake.example.toml".to_string(),
        })?;
        let currencylayer = &self.sources.currencylayer;
        check_currencies(
            "transform.base_currency",
            std::slice::from_ref(&self.transform.base_currency),
        )?;
        check_currencies("transform.currencies", &self.transform.currencies)?;
        check_currencies(
            "sources.currencylayer.source_currency",
            std::slice::from_ref(&currencylayer.source_currency),
        )?;
        check_currencies(
            "sources.currencylayer.currencies",
            &currencylayer.currencies,
        )?;
        if self.schedule.process_interval_secs == 0 {
            return Err(ConfigError::Field {
                field: "schedule.process_interval_secs".to_string(),
                message: "must be at least 1".to_string(),
                fix: "set a positive number of seconds, e.g. 3600".to_string(),
            });
        }
        Ok(())
    }
}

/// ISO 4217 alphabetic codes (current, and the few withdrawn ones currencylayer still
/// quotes), and the non-ISO codes currencylayer quotes (BTC, GGP, IMP, JEP). A code not
/// here can never get a rate: every `prices_fx` row in it would have a null price.
const CURRENCY_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTC", "BTN", "BWP", "BYN",
    "BYR", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC",
    "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EEK", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GGP", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL",
    "HRK", "HTG", "HUF", "IDR", "ILS", "IMP", "INR", "IQD", "IRR", "ISK", "JEP", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LTL", "LVL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRO",
    "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP",
    "STD", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VEF", "VES", "VND",
    "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF",
    "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMK", "ZMW", "ZWG", "ZWL",
];

/// Every code must be a currency: a misspelt one (`EURO`, `XX`, `eur`) is refused, naming
/// the field and the code, rather than giving null prices for ever.
fn check_currencies(field: &str, codes: &[String]) -> Result<(), ConfigError> {
    for code in codes {
        if CURRENCY_CODES.contains(&code.as_str()) {
            continue;
        }
        let upper = code.trim().to_ascii_uppercase();
        let guess = [upper.as_str(), upper.get(..3).unwrap_or("")]
            .into_iter()
            .find(|g| CURRENCY_CODES.contains(g));
        return Err(ConfigError::Field {
            field: field.to_string(),
            message: format!("{code:?} is not an ISO 4217 currency code"),
            fix: match guess {
                Some(g) => {
                    format!("did you mean {g:?}? codes are three capital letters (EUR, GBP, JPY)")
                }
                None => "use three-letter ISO 4217 codes in capitals (EUR, GBP, JPY)".to_string(),
            },
        });
    }
    Ok(())
}

/// A hint for the most common mistakes: secrets in the file, misspelt fields, wrong types.
fn fix_for(field: &str, message: &str) -> String {
    let lower = field.to_ascii_lowercase();
    let secret_words = ["key", "secret", "token", "password", "uri"];
    if message.contains("unknown field") {
        if secret_words
            .iter()
            .any(|w| lower.contains(w) || message.contains(w))
        {
            return "secrets are never read from the config file: remove it and set the \
                    environment variable named in the README (e.g. PRICELAKE_WALMART_API_KEY)"
                .to_string();
        }
        return "remove or correct the field; pricelake.example.toml lists every valid field"
            .to_string();
    }
    if message.contains("invalid type") {
        return "give the type the message expects (numbers without quotes, lists as [\"a\", \"b\"])"
            .to_string();
    }
    "see pricelake.example.toml for the valid values".to_string()
}

/// Applies one `PRICELAKE_A__B__C=value` override onto the TOML table.
fn apply_override(root: &mut toml::Table, var: &str, raw: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if path.iter().any(|p| p.is_empty()) {
        return Err(ConfigError::Env {
            var: var.to_string(),
            message: "empty path segment; use PRICELAKE_SECTION__FIELD".to_string(),
        });
    }
    let (last, parents) = path.split_last().expect("at least one segment");
    let mut table = root;
    for segment in parents {
        let entry = table
            .entry(segment.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry.as_table_mut().ok_or_else(|| ConfigError::Env {
            var: var.to_string(),
            message: format!("`{segment}` is a value, not a section"),
        })?;
    }
    let existing_is_array = matches!(table.get(last), Some(toml::Value::Array(_)));
    table.insert(last.clone(), parse_env_value(raw, existing_is_array));
    Ok(())
}

/// Reads an override as a TOML literal (`8`, `true`, `["a"]`), else as a string; a
/// comma-separated string becomes a list where the file already holds a list.
fn parse_env_value(raw: &str, want_array: bool) -> toml::Value {
    if let Ok(table) = toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        if let Some(v) = table.get("v") {
            return v.clone();
        }
    }
    if want_array || raw.contains(',') {
        return toml::Value::Array(
            raw.split(',')
                .map(|s| toml::Value::String(s.trim().to_string()))
                .filter(|v| v.as_str() != Some(""))
                .collect(),
        );
    }
    toml::Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_without_a_file() {
        let config = PricelakeConfig::from_toml_str("t", "", env(&[])).unwrap();
        assert_eq!(config, PricelakeConfig::default());
    }

    #[test]
    fn the_example_file_is_valid_and_complete() {
        let text = include_str!("../../../pricelake.example.toml");
        let config = PricelakeConfig::from_toml_str("example", text, env(&[])).unwrap();
        // The example documents the defaults, so it parses to exactly them.
        assert_eq!(config, PricelakeConfig::default());
    }

    /// Every key of a TOML table, as dotted paths (`lake.url`); an array of tables counts as
    /// its key alone.
    fn key_paths(table: &toml::Table, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        for (key, value) in table {
            let path = format!("{prefix}{key}");
            match value {
                toml::Value::Table(inner) => key_paths(inner, &format!("{path}."), out),
                _ => {
                    out.insert(path);
                }
            }
        }
    }

    /// Not only valid: every key the config has (with a default, so it serializes) is set
    /// in the example, and the example sets no other.
    #[test]
    fn the_example_file_holds_exactly_the_configs_keys() {
        let text = include_str!("../../../pricelake.example.toml");
        let example: toml::Table = text.parse().unwrap();
        let defaults = match toml::Value::try_from(PricelakeConfig::default()).unwrap() {
            toml::Value::Table(table) => table,
            other => panic!("the config is not a table: {other:?}"),
        };
        let (mut written, mut known) = (Default::default(), Default::default());
        key_paths(&example, "", &mut written);
        key_paths(&defaults, "", &mut known);
        let missing: Vec<&String> = known.difference(&written).collect();
        let unknown: Vec<&String> = written.difference(&known).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "keys of the config not in the example: {missing:?}; keys of the example not in the config: {unknown:?}"
        );
    }

    #[test]
    fn environment_overrides_fields_with_types() {
        let config = PricelakeConfig::from_toml_str(
            "t",
            "[lake]\nurl = \"./a\"\n",
            env(&[
                ("PRICELAKE_LAKE__URL", "./b"),
                ("PRICELAKE_SCHEDULE__PROCESS_INTERVAL_SECS", "120"),
                ("PRICELAKE_TRANSFORM__CURRENCIES", "EUR,GBP"),
                (
                    "PRICELAKE_WALMART_API_KEY",
                    "not-config-no-double-underscore",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(config.lake.url, "./b");
        assert_eq!(config.schedule.process_interval_secs, 120);
        assert_eq!(config.transform.currencies, vec!["EUR", "GBP"]);
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = PricelakeConfig::from_toml_str(
            "t",
            "[schedule]\nprocess_interval_secs = \"often\"\n",
            env(&[]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("schedule.process_interval_secs"), "{text}");
        assert!(text.contains("fix:"), "{text}");
    }

    #[test]
    fn unknown_fields_and_secrets_in_the_file_are_refused() {
        let err = PricelakeConfig::from_toml_str("t", "[lake]\nurll = \"x\"\n", env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lake"), "{err}");
        assert!(err.contains("urll"), "{err}");
        let err =
            PricelakeConfig::from_toml_str("t", "[sources.walmart]\napi_key = \"abc\"\n", env(&[]))
                .unwrap_err()
                .to_string();
        assert!(err.contains("environment"), "{err}");
        assert!(
            !err.contains("abc"),
            "the secret itself must not be echoed: {err}"
        );
    }

    #[test]
    fn a_currency_that_is_not_iso_4217_is_a_config_error_naming_the_field_and_the_code() {
        let err = PricelakeConfig::from_toml_str(
            "t",
            "",
            env(&[("PRICELAKE_TRANSFORM__CURRENCIES", "EURO,XX")]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ConfigError::Field { .. }), "{text}");
        assert!(text.contains("transform.currencies"), "{text}");
        assert!(text.contains("EURO"), "{text}");
        assert!(text.contains("did you mean \"EUR\""), "{text}");
        let err = PricelakeConfig::from_toml_str(
            "t",
            "[sources.currencylayer]\ncurrencies = [\"EUR\", \"gbp\"]\n",
            env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sources.currencylayer.currencies"), "{err}");
        assert!(err.contains("\"GBP\""), "{err}");
        // Every code the emulator quotes is accepted, BTC included.
        PricelakeConfig::from_toml_str(
            "t",
            "",
            env(&[("PRICELAKE_TRANSFORM__CURRENCIES", "EUR,XAU,BTC,CHF")]),
        )
        .unwrap();
    }

    #[test]
    fn bad_toml_is_a_syntax_error() {
        let err = PricelakeConfig::from_toml_str("f.toml", "[lake\n", env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }));
    }
}
