//! Which nodes the workstation talks to: the configured list, or the
//! embedded demo node when none is configured; probing a node.

use std::sync::Arc;

use crate::client::NodeClient;
use crate::demo::DemoNode;
use crate::error::WsError;

use super::Workstation;

impl Workstation {
    /// Connects to the configured nodes, or — with none configured — starts
    /// the embedded demo node and uses it.
    pub async fn start_network(&self) -> Result<(), WsError> {
        let urls = self.lock()?.cache.nodes()?;
        let urls = if urls.is_empty() {
            let mut demo = self.demo.lock().await;
            if demo.is_none() {
                *demo = Some(DemoNode::start(&self.data_dir.join("embedded-node")).await?);
            }
            let url = demo
                .as_ref()
                .map(|d| d.url().to_owned())
                .unwrap_or_default();
            if let Some(key) = self.active_public_key()? {
                if let Some(d) = demo.as_ref() {
                    let label = self.key_label(&key)?;
                    d.register_user(&key, &label)?;
                }
            }
            vec![url]
        } else {
            if let Some(d) = self.demo.lock().await.take() {
                d.stop().await?;
            }
            urls
        };
        let client = Arc::new(NodeClient::new(urls)?);
        *self
            .client
            .write()
            .map_err(|_| WsError::Storage("client lock poisoned".into()))? = Some(client);
        Ok(())
    }

    /// Stops the embedded node, if it runs.
    pub async fn shutdown(&self) -> Result<(), WsError> {
        if let Some(d) = self.demo.lock().await.take() {
            d.stop().await?;
        }
        Ok(())
    }

    pub async fn embedded(&self) -> bool {
        self.demo.lock().await.is_some()
    }

    /// The embedded demo node's URL, if it runs.
    pub async fn embedded_url(&self) -> Option<String> {
        self.demo.lock().await.as_ref().map(|d| d.url().to_owned())
    }

    pub(super) fn client(&self) -> Result<Arc<NodeClient>, WsError> {
        self.client
            .read()
            .map_err(|_| WsError::Storage("client lock poisoned".into()))?
            .clone()
            .ok_or_else(|| WsError::Offline("not connected yet".into()))
    }

    /// Checks that `url` answers as a govchain node (`/healthz`).
    pub async fn probe_node(url: &str) -> Result<crate::dto::NodeProbe, WsError> {
        let v = NodeClient::probe(url).await?;
        Ok(crate::dto::NodeProbe {
            url: url.to_owned(),
            chain_id: v["chain_id"].as_str().unwrap_or_default().to_owned(),
            height: v["height"].as_u64().unwrap_or(0),
        })
    }

    /// Replaces the node list (empty: use the embedded demo node).
    pub async fn set_nodes(&self, urls: Vec<String>) -> Result<(), WsError> {
        for u in &urls {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(WsError::BadRequest(format!("{u} is not an http(s) URL")));
            }
        }
        self.lock()?.cache.set_nodes(&urls)?;
        self.start_network().await
    }

    pub fn nodes(&self) -> Result<Vec<String>, WsError> {
        self.lock()?.cache.nodes()
    }
}
