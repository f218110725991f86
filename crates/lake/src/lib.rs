//! The data lake: one root URL over object storage, shared by delivery, transform and serve.
//!
//! `./lake` or `file:///abs/path` is a local folder, `s3://bucket/prefix` is S3 or any
//! S3-compatible store (endpoint, region and credentials from the environment), and
//! `memory://` is an in-memory store for unit tests. Every write is a single
//! `object_store` put, which is atomic: an object is whole or absent.

#![warn(missing_docs)]

mod gunzip;
pub mod manifest;
pub mod ndjson;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Where the lake lives. The `[lake]` section of the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeConfig {
    /// Root URL of the lake: a folder path (`./lake`), `file:///abs/path`,
    /// `s3://bucket/prefix`, or `memory://` (tests only).
    pub url: String,
    /// S3 endpoint for S3-compatible stores (`http://127.0.0.1:9000`); also read from
    /// `AWS_ENDPOINT_URL`. Empty means AWS itself.
    pub s3_endpoint: Option<String>,
    /// S3 region; also read from `AWS_REGION`. Defaults to `us-east-1`.
    pub s3_region: Option<String>,
    /// Allow plain-HTTP endpoints (local S3-compatible servers).
    pub s3_allow_http: bool,
    /// How long `pricelake vacuum` keeps the files of the tables' earlier versions, in
    /// hours: time travel reaches back this far. Delta Lake's default, 7 days, so that a
    /// reader still on a version a day old, or a user going back a week, finds its files.
    pub retention_hours: u64,
}

impl Default for LakeConfig {
    fn default() -> Self {
        Self {
            url: "./lake".to_string(),
            s3_endpoint: None,
            s3_region: None,
            s3_allow_http: false,
            retention_hours: 168,
        }
    }
}

/// What can go wrong with the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The URL names a scheme or form pricelake does not support.
    #[error("lake url {url:?} is not supported: {why}")]
    BadUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// A setting contradicts another: the store would refuse every request.
    #[error("{field}: {message}")]
    Config {
        /// The setting to change, as `section.field`.
        field: String,
        /// What is wrong, and how to fix it.
        message: String,
    },
    /// A command that only reads was pointed at a folder that does not exist (it is not
    /// created: a mistyped path must not become an empty lake).
    #[error("there is no lake at {path}")]
    Missing {
        /// The folder, as configured.
        path: String,
    },
    /// The object store failed an operation; the error names it and keeps the store's
    /// error as its cause (not found is not an error: reads return `None`). Boxed: a
    /// `Result` stays small wherever the lake's errors travel.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// A local folder could not be created.
    #[error("cannot create lake folder {path}")]
    Io {
        /// The folder.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document could not be encoded to be written.
    #[error("encoding json document {path}")]
    EncodeJson {
        /// Its lake path.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A JSON document in the lake could not be read.
    #[error("decoding json document {path}")]
    DecodeJson {
        /// Its lake path.
        path: String,
        /// Where and why it does not parse.
        #[source]
        source: serde_json::Error,
    },
}

/// An operation the object store failed, on what, and the store's error as its cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The S3 store could not be set up from the configuration and the environment.
    #[error("setting up the S3 store for {url}")]
    S3 {
        /// The lake URL.
        url: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// An object could not be written.
    #[error("writing {path}")]
    Write {
        /// Its lake path.
        path: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// An object could not be read (not found is not an error: reads return `None`).
    #[error("reading {path}")]
    Read {
        /// Its lake path.
        path: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// An object could not be deleted.
    #[error("deleting {path}")]
    Delete {
        /// Its lake path.
        path: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// An object could not be copied.
    #[error("copying {from} to {to}")]
    Copy {
        /// The lake path copied.
        from: String,
        /// The lake path of the copy.
        to: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
    /// A prefix could not be listed.
    #[error("listing {prefix}")]
    List {
        /// The lake-relative prefix.
        prefix: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },
}

impl From<StoreError> for LakeError {
    fn from(e: StoreError) -> LakeError {
        LakeError::Store(Box::new(e))
    }
}

/// One object in the lake, with its path relative to the lake root.
#[derive(Debug, Clone, PartialEq)]
pub struct LakeObject {
    /// Path relative to the lake root (`raw/walmart/trends/2026/...`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// When the store last wrote it.
    pub last_modified: DateTime<Utc>,
}

/// An open lake: a store, the root inside it, and the URL engines use to reach it.
#[derive(Debug, Clone)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    root: Path,
    store_url: String,
    display_url: String,
}

impl Lake {
    /// Opens the lake the config names, creating a local folder if needed.
    pub fn open(config: &LakeConfig) -> Result<Lake, LakeError> {
        let url = config.url.trim();
        if url.starts_with("memory://") {
            return Ok(Lake::in_memory());
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(LakeError::BadUrl {
                    url: url.to_string(),
                    why: "no bucket after s3://".to_string(),
                });
            }
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
            let endpoint = config
                .s3_endpoint
                .clone()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
            if let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) {
                // The S3 client refuses every plain-HTTP request ("builder error") unless
                // allowed: say so once, here, rather than on every request.
                if endpoint.trim().starts_with("http://") && !config.s3_allow_http {
                    return Err(LakeError::Config {
                        field: "lake.s3_allow_http".to_string(),
                        message: format!(
                            "the S3 endpoint {endpoint} is plain http://, which the S3 client refuses unless \
                             allowed; set `s3_allow_http = true` in [lake] (or PRICELAKE_LAKE__S3_ALLOW_HTTP=true) \
                             for a local S3-compatible server, or use an https:// endpoint"
                        ),
                    });
                }
                builder = builder
                    .with_endpoint(endpoint)
                    .with_virtual_hosted_style_request(false);
            }
            let region = config
                .s3_region
                .clone()
                .or_else(|| std::env::var("AWS_REGION").ok())
                .unwrap_or_else(|| "us-east-1".to_string());
            // A short retry budget: when the store is away, delivery's own retries (with
            // back-pressure and the error output) take over instead of a flush hanging
            // inside the client for minutes.
            let retry = object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(15),
                ..Default::default()
            };
            builder = builder
                .with_region(region)
                .with_allow_http(config.s3_allow_http)
                .with_retry(retry);
            let store = builder.build().map_err(|source| StoreError::S3 {
                url: url.to_string(),
                source,
            })?;
            return Ok(Lake {
                store: Arc::new(store),
                root: Path::from(prefix.trim_matches('/')),
                store_url: format!("s3://{bucket}/"),
                display_url: url.to_string(),
            });
        }
        let folder = match url.strip_prefix("file://") {
            Some(path) => path.to_string(),
            None if url.contains("://") => {
                return Err(LakeError::BadUrl {
                    url: url.to_string(),
                    why: "use a folder path, file://, s3:// or memory://".to_string(),
                })
            }
            None => url.to_string(),
        };
        std::fs::create_dir_all(&folder).map_err(|source| LakeError::Io {
            path: folder.clone(),
            source,
        })?;
        let absolute = std::fs::canonicalize(&folder).map_err(|source| LakeError::Io {
            path: folder.clone(),
            source,
        })?;
        let absolute = absolute.to_string_lossy().to_string();
        Ok(Lake {
            store: Arc::new(LocalFileSystem::new()),
            root: Path::from(absolute.trim_start_matches('/')),
            store_url: "file:///".to_string(),
            display_url: format!("file://{absolute}"),
        })
    }

    /// Opens the lake the config names for a command that only reads it: a local folder
    /// that does not exist is [`LakeError::Missing`], never created.
    pub fn open_existing(config: &LakeConfig) -> Result<Lake, LakeError> {
        let url = config.url.trim();
        if !url.contains("://") || url.starts_with("file://") {
            let folder = url.strip_prefix("file://").unwrap_or(url);
            if !std::path::Path::new(folder).is_dir() {
                return Err(LakeError::Missing {
                    path: folder.to_string(),
                });
            }
        }
        Lake::open(config)
    }

    /// A fresh, empty in-memory lake for unit tests.
    pub fn in_memory() -> Lake {
        Lake {
            store: Arc::new(InMemory::new()),
            root: Path::from("lake"),
            store_url: "memory:///".to_string(),
            display_url: "memory://".to_string(),
        }
    }

    /// The underlying store, for engines (DataFusion) that read through `object_store`.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The URL under which [`Lake::store`] must be registered with an engine
    /// (`file:///`, `s3://bucket/`, `memory:///`).
    pub fn store_url(&self) -> &str {
        &self.store_url
    }

    /// The lake's root as the user would write it, for messages.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// The store path of a lake-relative path.
    pub fn path(&self, relative: &str) -> Path {
        let relative = relative.trim_matches('/');
        if self.root.as_ref().is_empty() {
            Path::from(relative)
        } else if relative.is_empty() {
            self.root.clone()
        } else {
            Path::from(format!("{}/{}", self.root, relative))
        }
    }

    /// A URL an engine can read a lake-relative prefix from, ending in `/`
    /// (`file:///abs/lake/clean/fx_rates/`).
    pub fn table_url(&self, relative: &str) -> String {
        format!("{}{}/", self.store_url, self.path(relative))
    }

    /// A URL an engine can read one lake-relative object from (`file:///abs/lake/x.parquet`).
    pub fn file_url(&self, relative: &str) -> String {
        format!("{}{}", self.store_url, self.path(relative))
    }

    /// Writes a whole object atomically.
    pub async fn put(&self, relative: &str, bytes: Bytes) -> Result<(), LakeError> {
        self.store
            .put(&self.path(relative), PutPayload::from_bytes(bytes))
            .await
            .map_err(|source| StoreError::Write {
                path: relative.to_string(),
                source,
            })?;
        Ok(())
    }

    /// Reads a whole object; `None` when it does not exist.
    pub async fn get(&self, relative: &str) -> Result<Option<Bytes>, LakeError> {
        let read = |source| StoreError::Read {
            path: relative.to_string(),
            source,
        };
        match self.store.get(&self.path(relative)).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(read)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(read(e).into()),
        }
    }

    /// Writes an object only if there is none under its name (S3's `If-None-Match: *`, a
    /// no-replace link on a local folder): true when written, false when one was there. Two
    /// writers racing for one name: exactly one gets true.
    pub async fn put_if_absent(&self, relative: &str, bytes: Bytes) -> Result<bool, LakeError> {
        let options = object_store::PutOptions {
            mode: object_store::PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&self.path(relative), PutPayload::from_bytes(bytes), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(source) => Err(StoreError::Write {
                path: relative.to_string(),
                source,
            }
            .into()),
        }
    }

    /// The bytes `range` of an object (a Parquet footer, say).
    pub async fn get_range(
        &self,
        relative: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, LakeError> {
        self.store
            .get_range(&self.path(relative), range)
            .await
            .map_err(|source| {
                StoreError::Read {
                    path: relative.to_string(),
                    source,
                }
                .into()
            })
    }

    /// An object's size and time, without reading it; `None` when it does not exist.
    pub async fn head(&self, relative: &str) -> Result<Option<LakeObject>, LakeError> {
        match self.store.head(&self.path(relative)).await {
            Ok(meta) => Ok(Some(LakeObject {
                path: relative.to_string(),
                size: meta.size,
                last_modified: meta.last_modified,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(StoreError::Read {
                path: relative.to_string(),
                source,
            }
            .into()),
        }
    }

    /// Deletes an object; deleting what is absent is not an error.
    pub async fn delete(&self, relative: &str) -> Result<(), LakeError> {
        match self.store.delete(&self.path(relative)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(StoreError::Delete {
                path: relative.to_string(),
                source,
            }
            .into()),
        }
    }

    /// Copies an object within the lake (a hard link on a local folder, a server-side copy
    /// on S3): how a run carries over outputs it did not need to recompute.
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), LakeError> {
        self.store
            .copy(&self.path(from), &self.path(to))
            .await
            .map_err(|source| StoreError::Copy {
                from: from.to_string(),
                to: to.to_string(),
                source,
            })?;
        Ok(())
    }

    /// Every object under a lake-relative prefix, sorted by path.
    pub async fn list(&self, prefix: &str) -> Result<Vec<LakeObject>, LakeError> {
        let root_len = if self.root.as_ref().is_empty() {
            0
        } else {
            self.root.as_ref().len() + 1
        };
        let base = self.path(prefix);
        let mut objects: Vec<LakeObject> = self
            .store
            .list(Some(&base))
            .map_ok(|meta| LakeObject {
                path: meta.location.as_ref()[root_len..].to_string(),
                size: meta.size,
                last_modified: meta.last_modified,
            })
            .try_collect()
            .await
            .map_err(|source| StoreError::List {
                prefix: prefix.to_string(),
                source,
            })?;
        objects.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(objects)
    }

    /// Writes a JSON document (state, manifests) atomically.
    pub async fn put_json<T: Serialize>(&self, relative: &str, value: &T) -> Result<(), LakeError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|source| LakeError::EncodeJson {
            path: relative.to_string(),
            source,
        })?;
        self.put(relative, Bytes::from(bytes)).await
    }

    /// Reads a JSON document; `None` when it does not exist.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        relative: &str,
    ) -> Result<Option<T>, LakeError> {
        match self.get(relative).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| LakeError::DecodeJson {
                        path: relative.to_string(),
                        source,
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_http_endpoint_without_s3_allow_http_is_a_config_error_naming_it() {
        let config = LakeConfig {
            url: "s3://bucket/lake".into(),
            s3_endpoint: Some("http://127.0.0.1:9000".into()),
            ..LakeConfig::default()
        };
        let err = Lake::open(&config).unwrap_err();
        assert!(
            matches!(&err, LakeError::Config { field, .. } if field == "lake.s3_allow_http"),
            "{err}"
        );
        assert!(err.to_string().contains("s3_allow_http = true"), "{err}");
        let allowed = LakeConfig {
            s3_allow_http: true,
            ..config
        };
        assert!(Lake::open(&allowed).is_ok());
    }

    #[test]
    fn opening_a_missing_folder_to_read_it_does_not_create_it() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("mistyped");
        let config = LakeConfig {
            url: folder.to_string_lossy().to_string(),
            ..LakeConfig::default()
        };
        let err = Lake::open_existing(&config).unwrap_err();
        assert!(matches!(err, LakeError::Missing { .. }), "{err}");
        assert!(!folder.exists(), "the folder was created");
        Lake::open(&config).unwrap();
        assert!(Lake::open_existing(&config).is_ok());
    }

    #[tokio::test]
    async fn local_lake_round_trips_and_lists_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&LakeConfig {
            url: dir.path().join("lake").to_string_lossy().to_string(),
            ..LakeConfig::default()
        })
        .unwrap();
        lake.put("raw/a/1.txt", Bytes::from_static(b"one"))
            .await
            .unwrap();
        lake.put("raw/b/2.txt", Bytes::from_static(b"two"))
            .await
            .unwrap();
        assert_eq!(lake.get("raw/a/1.txt").await.unwrap().unwrap(), "one");
        assert!(lake.get("raw/missing").await.unwrap().is_none());
        let listed: Vec<String> = lake
            .list("raw")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.path)
            .collect();
        assert_eq!(listed, vec!["raw/a/1.txt", "raw/b/2.txt"]);
        assert!(lake.table_url("clean/t").starts_with("file:///"));
        assert!(lake.table_url("clean/t").ends_with("/lake/clean/t/"));
        lake.delete("raw/a/1.txt").await.unwrap();
        lake.delete("raw/a/1.txt").await.unwrap();
        assert_eq!(lake.list("raw").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn json_documents_and_memory_lake() {
        let lake = Lake::in_memory();
        lake.put_json("_state/x.json", &serde_json::json!({"a": 1}))
            .await
            .unwrap();
        let back: serde_json::Value = lake.get_json("_state/x.json").await.unwrap().unwrap();
        assert_eq!(back["a"], 1);
        let none: Option<serde_json::Value> = lake.get_json("_state/y.json").await.unwrap();
        assert!(none.is_none());
    }

    #[tokio::test]
    async fn a_failed_write_names_the_path_and_keeps_the_store_error_as_its_cause() {
        use std::error::Error;
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(&LakeConfig {
            url: dir.path().join("lake").to_string_lossy().to_string(),
            ..LakeConfig::default()
        })
        .unwrap();
        // A file where a folder must go: the store refuses the write.
        lake.put("raw", Bytes::from_static(b"not a folder"))
            .await
            .unwrap();
        let err = lake
            .put("raw/a/1.txt", Bytes::from_static(b"one"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LakeError::Store(e) if matches!(**e, StoreError::Write { .. })),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "writing raw/a/1.txt");
        let cause = err.source().expect("the store's error is the cause");
        assert!(cause.is::<object_store::Error>(), "{cause:?}");
    }

    #[tokio::test]
    async fn an_unreadable_json_document_names_it_and_keeps_the_parse_error_as_its_cause() {
        use std::error::Error;
        let lake = Lake::in_memory();
        lake.put("_state/x.json", Bytes::from_static(b"{not json"))
            .await
            .unwrap();
        let err = lake
            .get_json::<serde_json::Value>("_state/x.json")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "decoding json document _state/x.json");
        assert!(err.source().unwrap().is::<serde_json::Error>());
    }

    #[test]
    fn unsupported_urls_are_rejected_with_the_reason() {
        let err = Lake::open(&LakeConfig {
            url: "ftp://x".into(),
            ..LakeConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("ftp://x"));
    }
}
