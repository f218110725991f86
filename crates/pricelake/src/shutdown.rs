//! Signals: the first SIGTERM or Ctrl-C asks everything to stop gracefully (flush, drain);
//! a second one exits at once (the spool is crash-safe, so nothing is corrupted).

use tokio::sync::watch;

/// A receiver that turns `true` when shutdown is requested.
pub type ShutdownSignal = watch::Receiver<bool>;

/// Installs the handlers and returns the signal.
pub fn install() -> ShutdownSignal {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: finishing in-flight work (signal again to exit now)");
        let _ = tx.send(true);
        wait_for_signal().await;
        eprintln!("second signal: exiting now");
        std::process::exit(130);
    });
    rx
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves when shutdown is requested (or the sender is gone).
pub async fn requested(mut signal: ShutdownSignal) {
    while !*signal.borrow() {
        if signal.changed().await.is_err() {
            return;
        }
    }
}
