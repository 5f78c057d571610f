//! Which nodes the workstation talks to: the configured list, or the
//! embedded demo node when none is configured; probing a node.

use std::collections::BTreeMap;
use std::sync::Arc;

use govchain_node::tls::CertSha256;

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
                    self.enrol_in_demo(d, &key, &label)?;
                }
            }
            vec![url]
        } else {
            if let Some(d) = self.demo.lock().await.take() {
                d.stop().await?;
            }
            urls
        };
        let client = Arc::new(NodeClient::with_pins(urls, &self.cert_pins()?)?);
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

    /// Checks that `url` answers as a govchain node (`/healthz`), with the
    /// OS trust store for HTTPS.
    pub async fn probe_node(url: &str) -> Result<crate::dto::NodeProbe, WsError> {
        Self::probe_with(url, None).await
    }

    /// Checks that `url` answers as a govchain node, accepting the
    /// certificate pinned for it, if any.
    pub async fn test_node(&self, url: &str) -> Result<crate::dto::NodeProbe, WsError> {
        let url = url.trim().trim_end_matches('/');
        let pin = self.cert_pins()?.get(url).copied();
        Self::probe_with(url, pin).await
    }

    async fn probe_with(
        url: &str,
        pin: Option<CertSha256>,
    ) -> Result<crate::dto::NodeProbe, WsError> {
        let v = NodeClient::probe(url, pin).await?;
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

    /// The pinned TLS certificates of nodes, by URL: the managed settings'
    /// (`pinned_cert_sha256` in `workstation.toml`), then the official's
    /// (`chains.json`), which win.
    pub fn cert_pins(&self) -> Result<BTreeMap<String, CertSha256>, WsError> {
        Ok(crate::chains::cert_pins(
            &self.managed,
            &self.lock()?.chains,
        ))
    }

    /// Accepts from the node at `url` exactly the TLS certificate whose
    /// SHA-256 fingerprint is `fingerprint` (what a
    /// `network.untrusted_certificate` or `network.certificate_changed`
    /// error showed, once the node's operator confirmed it); an empty
    /// fingerprint removes the official's pin (the OS trust store, or a
    /// managed pin, decides again). The node client is rebuilt with it.
    pub fn pin_node_certificate(&self, url: &str, fingerprint: &str) -> Result<(), WsError> {
        let url = url.trim().trim_end_matches('/');
        crate::chains::check_url(url)?;
        {
            let mut inner = self.lock()?;
            if fingerprint.trim().is_empty() {
                inner.chains.pinned_cert_sha256.remove(url);
            } else {
                let pin = crate::trust::parse_pin(fingerprint)?;
                inner
                    .chains
                    .pinned_cert_sha256
                    .insert(url.to_owned(), pin.to_hex());
            }
            inner.chains.save(&self.data_dir)?;
        }
        // Not connected yet: the pin is used when the client is made.
        let Ok(current) = self.client() else {
            return Ok(());
        };
        let urls = current.urls().to_vec();
        let client = Arc::new(NodeClient::with_pins(urls, &self.cert_pins()?)?);
        *self
            .client
            .write()
            .map_err(|_| WsError::Storage("client lock poisoned".into()))? = Some(client);
        Ok(())
    }
}
