//! The snapshot file (PROTOCOL.md §14, "Snapshots"): one JSON object per
//! line, each a [`Frame`], in a fixed order of sections — block 0, the
//! recent blocks, the log, the state entries, payroll lines, access
//! records — closed by an `end` frame that counts what came before. A
//! member writes it row by row from one read transaction and a receiver
//! reads it frame by frame ([`FrameReader`]), so neither holds a whole
//! snapshot (a gigabyte at a million cases) in memory.

use std::io::{BufRead, Read as _, Write};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use govchain_ledger::block::Block;
use serde::{Deserialize, Serialize};

use super::snapshot::{LogRecord, RECORD};
use crate::error::NodeError;

/// Log records per `log` frame (1.2 MB of records, 1.7 MB of base64).
pub const LOG_RECORDS_PER_FRAME: usize = 16_384;
/// Entries, payroll lines or access records per frame.
pub const ROWS_PER_FRAME: usize = 1_000;
/// The longest line a reader accepts (a block of the largest size the
/// rules allow fits many times over).
const MAX_LINE: usize = 64 << 20;

/// One line of a snapshot file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Frame {
    /// Block 0, first and once.
    Genesis(Box<Block>),
    /// One of the consecutive blocks ending at the head, in order.
    Block(Box<Block>),
    /// The next records of the log, in log order.
    Log(LogChunk),
    /// State entries: key and canonical value (§12.7).
    Entries(Vec<(String, String)>),
    /// Committed payrolls' lines: project, payment, index, canonical line.
    Payroll(Vec<(String, String, u64, String)>),
    /// The next records of the access log, in order (canonical JSON).
    Access(Vec<String>),
    /// Last: how many of each the file holds.
    End(Counts),
}

impl Frame {
    /// The section a frame belongs to; sections come in this order.
    fn section(&self) -> u8 {
        match self {
            Self::Genesis(_) => 0,
            Self::Block(_) => 1,
            Self::Log(_) => 2,
            Self::Entries(_) => 3,
            Self::Payroll(_) => 4,
            Self::Access(_) => 5,
            Self::End(_) => 6,
        }
    }
}

/// What an `end` frame counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub blocks: u64,
    pub log: u64,
    pub entries: u64,
    pub payroll: u64,
    pub access: u64,
}

impl Counts {
    fn add(&mut self, f: &Frame) {
        let n = |len: usize| len as u64;
        match f {
            Frame::Genesis(_) | Frame::End(_) => {}
            Frame::Block(_) => self.blocks += 1,
            Frame::Log(l) => self.log += n(l.0.len()),
            Frame::Entries(e) => self.entries += n(e.len()),
            Frame::Payroll(p) => self.payroll += n(p.len()),
            Frame::Access(a) => self.access += n(a.len()),
        }
    }
}

/// Log records on the wire: base64 of the concatenated 76-byte records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogChunk(pub Vec<LogRecord>);

impl Serialize for LogChunk {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut raw = Vec::with_capacity(self.0.len() * RECORD);
        for r in &self.0 {
            r.write(&mut raw);
        }
        s.serialize_str(&B64.encode(raw))
    }
}

impl<'de> Deserialize<'de> for LogChunk {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let text = String::deserialize(d)?;
        let raw = B64.decode(text).map_err(D::Error::custom)?;
        if raw.len() % RECORD != 0 {
            return Err(D::Error::custom("log: not a whole number of records"));
        }
        raw.chunks_exact(RECORD)
            .map(|c| LogRecord::read(c).ok_or_else(|| D::Error::custom("log: a short record")))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

fn bad(what: impl std::fmt::Display) -> NodeError {
    NodeError::Cluster(format!("snapshot refused: {what}"))
}

/// Writes frames, one per line, counting them for the `end` frame.
#[derive(Debug)]
pub struct FrameWriter<W: Write> {
    out: W,
    counts: Counts,
}

impl<W: Write> FrameWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            counts: Counts::default(),
        }
    }

    pub fn put(&mut self, f: &Frame) -> Result<(), NodeError> {
        self.counts.add(f);
        serde_json::to_writer(&mut self.out, f).map_err(|e| write_error(&e))?;
        self.out.write_all(b"\n").map_err(|e| write_error(&e))
    }

    /// Writes the `end` frame and flushes; what was written.
    pub fn finish(mut self) -> Result<(W, Counts), NodeError> {
        let counts = self.counts;
        self.put(&Frame::End(counts))?;
        self.out.flush().map_err(|e| write_error(&e))?;
        Ok((self.out, counts))
    }
}

fn write_error(e: &dyn std::fmt::Display) -> NodeError {
    NodeError::Storage(format!("writing a snapshot: {e}"))
}

/// Reads a snapshot file frame by frame, refusing (`node.cluster`) a
/// malformed line, a frame out of its section's order, a second block 0,
/// counts that are not the `end` frame's, anything after it, and a file
/// that stops before it.
#[derive(Debug)]
pub struct FrameReader<R> {
    input: R,
    line: Vec<u8>,
    section: Option<u8>,
    counts: Counts,
    ended: bool,
    number: u64,
}

impl FrameReader<std::io::BufReader<std::fs::File>> {
    pub fn open(path: &std::path::Path) -> Result<Self, NodeError> {
        let file = std::fs::File::open(path)
            .map_err(|e| NodeError::Storage(format!("snapshot file {}: {e}", path.display())))?;
        Ok(Self::new(std::io::BufReader::with_capacity(1 << 20, file)))
    }
}

impl<R: BufRead> FrameReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: Vec::new(),
            section: None,
            counts: Counts::default(),
            ended: false,
            number: 0,
        }
    }

    /// The next frame before `end`; `None` once `end` has been read and
    /// checked.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, NodeError> {
        if self.ended {
            return Ok(None);
        }
        if !self.read_line()? {
            return Err(bad("the file stops before its end frame"));
        }
        self.number += 1;
        let n = self.number;
        let frame: Frame =
            serde_json::from_slice(&self.line).map_err(|e| bad(format!("line {n}: {e}")))?;
        let section = frame.section();
        let in_order = match self.section {
            None => section == 0,
            Some(last) => section >= last && section != 0,
        };
        if !in_order {
            return Err(bad(format!("line {n}: a frame out of order")));
        }
        self.section = Some(section);
        if let Frame::End(said) = frame {
            if said != self.counts {
                return Err(bad(format!(
                    "its end frame counts {said:?}, the file holds {:?}",
                    self.counts
                )));
            }
            if self.read_line()? {
                return Err(bad("lines after its end frame"));
            }
            self.ended = true;
            return Ok(None);
        }
        self.counts.add(&frame);
        Ok(Some(frame))
    }

    /// Reads the next line into `self.line` (without its newline);
    /// `false` at the end of the input.
    fn read_line(&mut self) -> Result<bool, NodeError> {
        self.line.clear();
        let read = std::io::Read::by_ref(&mut self.input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| NodeError::Storage(format!("reading a snapshot: {e}")))?;
        if read == 0 {
            return Ok(false);
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        } else if self.line.len() > MAX_LINE {
            return Err(bad(format!("a line longer than {MAX_LINE} bytes")));
        }
        Ok(true)
    }
}

/// Every block frame at the start of a snapshot file (after block 0), for
/// a member deciding whether it can apply them; stops at the first other
/// frame.
pub fn leading_blocks(
    path: &std::path::Path,
    mut each: impl FnMut(Block) -> Result<bool, NodeError>,
) -> Result<(), NodeError> {
    let mut r = FrameReader::open(path)?;
    while let Some(f) = r.next_frame()? {
        match f {
            Frame::Genesis(_) => {}
            Frame::Block(b) => {
                if !each(*b)? {
                    return Ok(());
                }
            }
            _ => return Ok(()),
        }
    }
    Ok(())
}
