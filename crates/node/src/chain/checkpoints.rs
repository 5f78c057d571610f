//! The checkpoints part of [`Core`]: the latest checkpoints this node
//! signed (C2SP signed notes, newest last), each with the cosignatures other
//! departments' nodes handed back (PROTOCOL.md §8.7).

use std::collections::VecDeque;

use govchain_ledger::note::{self, Checkpoint, NoteKey, SignedNote, StateLine, ALG_COSIGNATURE_V1};

use super::Core;
use crate::error::NodeError;

/// How many of its latest checkpoints a node keeps for witnesses to cosign.
pub const RECENT_CHECKPOINTS: usize = 256;

/// The recent signed checkpoints.
#[derive(Debug, Default)]
pub(super) struct Checkpoints {
    /// Newest last, at most [`RECENT_CHECKPOINTS`].
    pub(super) recent: VecDeque<SignedNote>,
}

impl Core {
    /// The latest checkpoint note, with the cosignatures it has so far.
    pub fn checkpoint(&self) -> String {
        self.checkpoints
            .recent
            .back()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The newest recent checkpoint cosigned by at least `k` other
    /// departments' nodes.
    pub fn witnessed_checkpoint(&self, k: usize) -> Option<String> {
        self.checkpoints
            .recent
            .iter()
            .rev()
            .find(|n| n.signatures.len() > k)
            .map(ToString::to_string)
    }

    /// Adds the witnesses' cosignatures in `note` — one of this node's
    /// recent checkpoints with `cosignature/v1` lines (C2SP) added — to that
    /// checkpoint. A line counts if its key is another department's node key
    /// (named as the line names it); lines of unknown keys are ignored, a
    /// line of a known key that does not verify refuses the whole note. A
    /// department's newer cosignature replaces its older one. Returns the
    /// checkpoint's size and how many cosignatures it now has.
    pub fn add_cosignatures(&mut self, text: &str) -> Result<(u64, usize), NodeError> {
        let parsed = SignedNote::parse(text).map_err(|e| NodeError::bad(&e))?;
        let own = self.key.public_key();
        let witness_key = |s: &note::NoteSignature| {
            self.state
                .departments
                .values()
                .filter(|d| d.node_key != own && d.node_active())
                .find_map(|d| {
                    NoteKey::new(&s.name, ALG_COSIGNATURE_V1, d.node_key)
                        .ok()
                        .filter(|k| k.key_id() == s.key_id)
                })
        };
        let mut found = Vec::new();
        for s in &parsed.signatures {
            if let Some(k) = witness_key(s) {
                note::verify_signature(&parsed.text, &k, s).map_err(|e| NodeError::bad(&e))?;
                found.push((k.key, s.clone()));
            }
        }
        let n = self
            .checkpoints
            .recent
            .iter()
            .position(|cp| cp.text == parsed.text)
            .ok_or_else(|| {
                NodeError::NotFound("a recent checkpoint of this node with that text".into())
            })?;
        let cp = &mut self.checkpoints.recent[n];
        for (key, line) in found {
            let same = cp
                .signatures
                .iter()
                .position(|s| witness_key(s).is_some_and(|k| k.key == key));
            match same {
                Some(j) => cp.signatures[j] = line,
                None => cp.signatures.push(line),
            }
        }
        let size = Checkpoint::parse_body(&cp.text)
            .map_err(|e| NodeError::Corrupt(e.to_string()))?
            .size;
        Ok((size, cp.signatures.len() - 1))
    }

    /// The origin line of this chain's checkpoints (fixed at genesis).
    pub fn origin(&self) -> String {
        self.state
            .origin
            .clone()
            .unwrap_or_else(|| format!("govchain/{}", self.cursor.chain_id))
    }

    /// Signs a checkpoint of the log as the head block closes it, with the
    /// head's `state` line (PROTOCOL.md §8.3). `self.state` is the head
    /// block's committed state here, so its root is the header's.
    pub(super) fn sign_checkpoint(&mut self) -> Result<(), NodeError> {
        let line = StateLine {
            height: self.height(),
            state_root: self.state.state_root(),
        };
        let cp = Checkpoint {
            origin: self.origin(),
            size: self.tree.len(),
            root: self.tree.root(),
            extensions: vec![line.to_line()],
        };
        let note = cp
            .sign(&self.name, &self.key)
            .map_err(|e| NodeError::Storage(format!("cannot sign checkpoint: {e}")))?;
        self.checkpoints.recent.push_back(note);
        while self.checkpoints.recent.len() > RECENT_CHECKPOINTS {
            self.checkpoints.recent.pop_front();
        }
        Ok(())
    }
}
