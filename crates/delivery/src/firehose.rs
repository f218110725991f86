//! An optional sink into a real Amazon Kinesis Data Firehose stream, through the AWS SDK.
//!
//! For users who already run Firehose into S3. Records go out with `PutRecordBatch`
//! (at most 500 records and 4 MiB per call, 1000 KiB per record), each ending in a
//! newline so the objects Firehose writes are valid NDJSON (a common complaint about
//! Firehose is records glued together with no delimiter). When a call succeeds only in
//! part, only the failed records are sent again, with backoff, until the retry duration
//! runs out; then the sink refuses the batch, so the source keeps its checkpoint and
//! fetches again: nothing is acknowledged that Firehose did not take.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_firehose::error::{BuildError, DisplayErrorContext, SdkError};
use aws_sdk_firehose::operation::put_record_batch::PutRecordBatchError;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use pricelake_core::{LakeRecord, RecordSink, SinkError};
use serde::{Deserialize, Serialize};

/// `PutRecordBatch` limits.
const MAX_RECORDS_PER_CALL: usize = 500;
const MAX_BYTES_PER_CALL: usize = 4 * 1024 * 1024;
const MAX_RECORD_BYTES: usize = 1000 * 1024;

/// `[firehose]`: where records go when the sink is a Firehose stream. Credentials come
/// from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, profiles, roles),
/// never from here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirehoseConfig {
    /// Name of the delivery stream.
    pub stream_name: String,
    /// AWS region; empty: from the environment (`AWS_REGION`), else `us-east-1`.
    pub region: String,
    /// Endpoint override (a local emulator such as moto); empty: AWS.
    pub endpoint: String,
    /// Seconds to keep resending failed records before refusing the batch.
    pub retry_duration_secs: u64,
    /// First backoff between resends, doubled each time up to 20 s.
    pub initial_backoff_ms: u64,
}

impl Default for FirehoseConfig {
    fn default() -> Self {
        Self {
            stream_name: "pricelake".into(),
            region: String::new(),
            endpoint: String::new(),
            retry_duration_secs: 300,
            initial_backoff_ms: 200,
        }
    }
}

/// What went wrong sending to Firehose.
#[derive(Debug, thiserror::Error)]
pub enum FirehoseError {
    /// One record is over Firehose's 1000 KiB limit: it can never be sent.
    #[error("a record of {0} bytes is over Firehose's 1000 KiB limit")]
    RecordTooLarge(usize),
    /// Records still refused when the retry duration ran out, the last refusal one of a
    /// record's.
    #[error("{failed} records not accepted by Firehose after retries (last: {last})")]
    NotAccepted {
        /// How many.
        failed: usize,
        /// The error code and message Firehose gave the last record it refused.
        last: String,
    },
    /// Records still refused when the retry duration ran out, the last refusal a whole
    /// call's.
    #[error("{failed} records not accepted by Firehose after retries")]
    CallFailed {
        /// How many.
        failed: usize,
        /// Why the last call failed.
        #[source]
        last: CallError,
    },
}

impl FirehoseError {
    /// The text a dead letter carries for this failure (`WriteError::detail`): what this
    /// error said when a call's failure was a string in it.
    pub(crate) fn detail(&self) -> String {
        match self {
            FirehoseError::CallFailed { failed, last } => format!(
                "{failed} records not accepted by Firehose after retries (last: {})",
                last.detail()
            ),
            other => other.to_string(),
        }
    }
}

/// Why one `PutRecordBatch` call failed as a whole (every record in it is sent again).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// A record could not be built for the call.
    #[error("building a record for PutRecordBatch")]
    Build(#[source] BuildError),
    /// The call did not succeed (connection, credentials, a missing stream, throttling).
    #[error("PutRecordBatch")]
    Send(#[source] Box<SdkError<PutRecordBatchError>>),
}

impl CallError {
    fn detail(&self) -> String {
        match self {
            CallError::Build(e) => e.to_string(),
            CallError::Send(e) => DisplayErrorContext(&**e).to_string(),
        }
    }
}

/// The last refusal seen while sending: a record's (Firehose's code and message) or a call's.
enum Refusal {
    Record(String),
    Call(CallError),
}

/// Splits records (by index) into `PutRecordBatch` calls within both limits.
pub fn plan_batches(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for (i, size) in sizes.iter().enumerate() {
        if !current.is_empty()
            && (current.len() == MAX_RECORDS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)
        {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(i);
        bytes += size;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The outcome of one call for each record sent: `None` accepted, `Some(error)` failed.
pub type CallResult = Vec<Option<String>>;

/// Sends `records` through `call` (one `PutRecordBatch`), resending only the failed
/// ones with backoff until `deadline` attempts are used. Generic over the call so the
/// resend logic is tested without a server.
pub async fn send_with_resend<F, Fut>(
    records: &[Vec<u8>],
    attempts: u32,
    initial_backoff: Duration,
    mut call: F,
) -> Result<u32, FirehoseError>
where
    F: FnMut(Vec<Vec<u8>>) -> Fut,
    Fut: std::future::Future<Output = Result<CallResult, CallError>>,
{
    if let Some(big) = records.iter().find(|r| r.len() > MAX_RECORD_BYTES) {
        return Err(FirehoseError::RecordTooLarge(big.len()));
    }
    let mut pending: Vec<usize> = (0..records.len()).collect();
    let mut calls = 0u32;
    let mut backoff = initial_backoff;
    let mut last = Refusal::Record(String::new());
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(20));
        }
        let sizes: Vec<usize> = pending.iter().map(|&i| records[i].len()).collect();
        let mut failed = Vec::new();
        for batch in plan_batches(&sizes) {
            let indices: Vec<usize> = batch.iter().map(|&k| pending[k]).collect();
            let data = indices.iter().map(|&i| records[i].clone()).collect();
            calls += 1;
            match call(data).await {
                Ok(results) => {
                    for (index, result) in indices.iter().zip(results) {
                        if let Some(error) = result {
                            last = Refusal::Record(error);
                            failed.push(*index);
                        }
                    }
                }
                Err(error) => {
                    last = Refusal::Call(error);
                    failed.extend(indices);
                }
            }
        }
        if failed.is_empty() {
            return Ok(calls);
        }
        pending = failed;
    }
    let failed = pending.len();
    Err(match last {
        Refusal::Record(last) => FirehoseError::NotAccepted { failed, last },
        Refusal::Call(last) => FirehoseError::CallFailed { failed, last },
    })
}

/// A [`RecordSink`] that hands records to a Firehose delivery stream.
pub struct FirehoseSink {
    client: aws_sdk_firehose::Client,
    config: FirehoseConfig,
}

impl FirehoseSink {
    /// A sink for the configured stream, with credentials from the environment.
    pub async fn new(config: FirehoseConfig) -> Self {
        let region = if config.region.is_empty() {
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into())
        } else {
            config.region.clone()
        };
        // HTTPS on rustls with ring, as every other client of the binary (the SDK's default
        // client would build aws-lc for it).
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(https)
            .region(aws_config::Region::new(region));
        if !config.endpoint.is_empty() {
            loader = loader.endpoint_url(&config.endpoint);
        }
        let shared = loader.load().await;
        Self {
            client: aws_sdk_firehose::Client::new(&shared),
            config,
        }
    }

    /// The SDK client, for administration the sink does not do (creating streams in tests).
    pub fn client(&self) -> &aws_sdk_firehose::Client {
        &self.client
    }

    /// Sends raw lines (a newline is added to each), resending failures.
    pub async fn send_lines(&self, lines: Vec<Vec<u8>>) -> Result<u32, FirehoseError> {
        let records: Vec<Vec<u8>> = lines
            .into_iter()
            .map(|mut l| {
                l.push(b'\n');
                l
            })
            .collect();
        let backoff = Duration::from_millis(self.config.initial_backoff_ms.max(1));
        // Enough attempts to cover the retry duration with the doubling backoff.
        let mut attempts = 1;
        let mut total = Duration::ZERO;
        let mut step = backoff;
        while total < Duration::from_secs(self.config.retry_duration_secs) && attempts < 64 {
            total += step;
            step = (step * 2).min(Duration::from_secs(20));
            attempts += 1;
        }
        let client = &self.client;
        let stream = &self.config.stream_name;
        send_with_resend(&records, attempts, backoff, |data| async move {
            let batch: Result<Vec<Record>, _> = data
                .into_iter()
                .map(|d| Record::builder().data(Blob::new(d)).build())
                .collect();
            let batch = batch.map_err(CallError::Build)?;
            let output = client
                .put_record_batch()
                .delivery_stream_name(stream)
                .set_records(Some(batch))
                .send()
                .await
                .map_err(|e| CallError::Send(Box::new(e)))?;
            Ok(output
                .request_responses()
                .iter()
                .map(|r| {
                    r.error_code()
                        .map(|code| format!("{code}: {}", r.error_message().unwrap_or_default()))
                })
                .collect())
        })
        .await
    }
}

#[async_trait]
impl RecordSink for FirehoseSink {
    async fn accept(&self, records: Vec<LakeRecord>) -> Result<(), SinkError> {
        let lines = records
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SinkError::failed(crate::DeliveryError::Encode(e)))?;
        self.send_lines(lines)
            .await
            .map(|_| ())
            .map_err(SinkError::failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn batches_respect_500_records_and_4_mib() {
        let small = vec![100; 1200];
        let plan = plan_batches(&small);
        assert_eq!(
            plan.iter().map(Vec::len).collect::<Vec<_>>(),
            [500, 500, 200]
        );
        let big = vec![900 * 1024; 10]; // 900 KiB each: four fit in 4 MiB
        let plan = plan_batches(&big);
        assert_eq!(plan.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
        let flat: Vec<usize> = plan.into_iter().flatten().collect();
        assert_eq!(
            flat,
            (0..10).collect::<Vec<_>>(),
            "every record once, in order"
        );
    }

    #[tokio::test]
    async fn only_the_failed_records_are_sent_again() {
        let records: Vec<Vec<u8>> = (0..700u32).map(|i| i.to_string().into_bytes()).collect();
        let sent: Mutex<Vec<Vec<Vec<u8>>>> = Mutex::new(Vec::new());
        let calls = send_with_resend(&records, 5, Duration::from_millis(1), |data| {
            sent.lock().unwrap().push(data.clone());
            let first_round = sent.lock().unwrap().len() <= 2;
            async move {
                // First round: every record whose number ends in 7 fails.
                Ok(data
                    .iter()
                    .map(|d| {
                        (first_round && d.ends_with(b"7"))
                            .then(|| "ServiceUnavailableException: slow down".to_string())
                    })
                    .collect())
            }
        })
        .await
        .unwrap();
        let sent = sent.into_inner().unwrap();
        assert_eq!(calls, 3, "500 + 200, then one call for the failures");
        assert_eq!(sent[0].len(), 500);
        assert_eq!(sent[1].len(), 200);
        let resent: Vec<String> = sent[2]
            .iter()
            .map(|d| String::from_utf8(d.clone()).unwrap())
            .collect();
        assert_eq!(resent.len(), 70);
        assert!(resent.iter().all(|r| r.ends_with('7')));
    }

    #[tokio::test]
    async fn records_still_failing_after_the_attempts_are_refused_with_the_reason() {
        let records = vec![b"a".to_vec(), b"b".to_vec()];
        let err = send_with_resend(&records, 3, Duration::from_millis(1), |data| async move {
            Ok(data
                .iter()
                .map(|d| (d == b"b").then(|| "InternalFailure: boom".to_string()))
                .collect())
        })
        .await
        .unwrap_err();
        assert!(matches!(err, FirehoseError::NotAccepted { failed: 1, .. }));
        assert!(err.to_string().contains("InternalFailure"));
        let huge = vec![vec![0u8; MAX_RECORD_BYTES + 1]];
        let err = send_with_resend(&huge, 3, Duration::from_millis(1), |_| async { Ok(vec![]) })
            .await
            .unwrap_err();
        assert!(matches!(err, FirehoseError::RecordTooLarge(_)));
    }

    #[tokio::test]
    async fn calls_still_failing_are_refused_with_the_last_call_error_as_the_cause() {
        let refusal = || BuildError::missing_field("data", "no data");
        let err = send_with_resend(&[b"a".to_vec()], 2, Duration::from_millis(1), |_| async {
            Err(CallError::Build(refusal()))
        })
        .await
        .unwrap_err();
        assert!(matches!(err, FirehoseError::CallFailed { failed: 1, .. }));
        assert_eq!(
            err.to_string(),
            "1 records not accepted by Firehose after retries"
        );
        let cause = std::error::Error::source(&err).unwrap();
        assert!(matches!(
            cause.downcast_ref::<CallError>(),
            Some(CallError::Build(_))
        ));
        // A dead letter of these records says it as it always did.
        assert_eq!(
            err.detail(),
            format!(
                "1 records not accepted by Firehose after retries (last: {})",
                refusal()
            )
        );
    }
}
