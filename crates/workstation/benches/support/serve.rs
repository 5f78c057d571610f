//! A node's core served over loopback HTTP inside a bench's process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use govchain_node::Core;

/// A running in-process node: its URL, and how to stop it.
pub struct Served {
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), govchain_node::NodeError>>,
}

/// Serves `core` on a free loopback port (blocks every 100 ms).
pub async fn serve(core: Core) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(govchain_node::run(
        listener,
        Arc::new(Mutex::new(core)),
        Duration::from_millis(100),
        async {
            let _ = stopped.await;
        },
    ));
    Served { url, stop, server }
}

impl Served {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}
