//! Which nodes the workstation talks to: the configured list, or the
//! embedded demo node when none is configured; probing a node.

use std::sync::Arc;

use crate::client::NodeClient;
use crate::demo::DemoNode;
use crate::error::WsError;

use super::Workstation;

impl Workstation {
    /// Connects to the active chain's nodes, or — on the demo chain —
    /// starts the embedded demo node and uses it. Before first run chose a
    /// chain, this chooses the demo.
    pub async fn start_network(&self) -> Result<(), WsError> {
        if self.needs_choice() {
            self.activate_demo().await?;
        }
        let (is_demo, urls) = {
            let inner = self.lock()?;
            (
                inner.active.as_deref() == Some(crate::chains::DEMO),
                inner.cache.nodes()?,
            )
        };
        let urls = if is_demo {
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
            genesis_hash: v["genesis_hash"].as_str().unwrap_or_default().to_owned(),
            height: v["height"].as_u64().unwrap_or(0),
        })
    }

    /// Uses these nodes (empty: the embedded demo node): the chain they
    /// serve becomes the active one, with its own cache
    /// ([`Workstation::connect_nodes`]).
    pub async fn set_nodes(&self, urls: Vec<String>) -> Result<(), WsError> {
        if urls.is_empty() {
            return self.use_demo().await;
        }
        self.connect_nodes(urls, None, false).await.map(|_| ())
    }

    pub fn nodes(&self) -> Result<Vec<String>, WsError> {
        self.lock()?.cache.nodes()
    }
}
