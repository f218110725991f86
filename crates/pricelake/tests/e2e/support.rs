//! Helpers shared by the end-to-end tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The S3-protocol server `scripts/test` starts.
pub fn s3_endpoint() -> String {
    std::env::var("PRICELAKE_TEST_S3_ENDPOINT").expect(
        "PRICELAKE_TEST_S3_ENDPOINT is not set: run the tests through `bash scripts/test`, \
         which starts an S3-protocol server (moto) on 127.0.0.1",
    )
}

/// Creates a bucket with a plain `PUT /bucket` (what S3's CreateBucket is).
pub async fn create_bucket(endpoint: &str, bucket: &str) {
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "bucket {bucket}: {}",
        created.status()
    );
}

/// A TCP proxy in front of the S3 server that can be switched off: while it is down,
/// open connections are cut and new ones are closed at once, as when a store goes away.
pub struct StoreProxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl StoreProxy {
    pub async fn start(upstream: SocketAddr) -> StoreProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let proxy = StoreProxy {
            addr,
            up: up.clone(),
            cut: cut.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cuts = cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {},
                        _ = cuts.changed() => {},
                    }
                });
            }
        });
        proxy
    }

    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
