//! Where the CSV text comes from: bytes already in memory, or a file read in blocks of whole
//! records so that the text of a large file is never held at once.

use super::tokenize::{last_record_end, record_end};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// The bytes of a CSV file, block by block.
pub(super) enum Source<'a> {
    Memory {
        bytes: &'a [u8],
        /// Where the bytes not yet handed out start.
        next: usize,
    },
    /// A file read ahead by a thread of its own, a block of whole records at a time, while the
    /// block before is parsed.
    File {
        path: PathBuf,
        blocks: Receiver<Result<(usize, Vec<u8>)>>,
        /// Blocks parsed, handed back to the reading thread to be filled again.
        spare: Sender<Vec<u8>>,
        /// The block received last, its offset in the file, and where its part not yet handed
        /// out starts.
        current: Vec<u8>,
        offset: usize,
        start: usize,
    },
}

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

impl<'a> Source<'a> {
    pub(super) fn memory(bytes: &'a [u8]) -> Self {
        Self::Memory { bytes, next: 0 }
    }

    /// A file read in blocks of about `block` bytes (longer where a record is).
    pub(super) fn file(path: &Path, block: usize) -> Result<Self> {
        let file = File::open(path).map_err(|e| io_error(path, &e))?;
        let (to_parser, blocks) = sync_channel(1);
        let (spare, to_reader) = channel();
        let reading = path.to_path_buf();
        std::thread::spawn(move || read_ahead(file, &reading, block.max(1), &to_parser, &to_reader));
        Ok(Self::File { path: path.to_path_buf(), blocks, spare, current: Vec::new(), offset: 0, start: 0 })
    }

    /// The header record (after a byte-order mark, which is dropped).
    pub(super) fn header(&mut self) -> Result<Vec<u8>> {
        let (bytes, start) = match self {
            Self::Memory { bytes, next } => (*bytes, next),
            Self::File { blocks, current, offset, start, .. } => {
                if let Ok(block) = blocks.recv() {
                    (*offset, *current) = block?;
                }
                (&current[..], start)
            }
        };
        let from = if bytes.starts_with(BYTE_ORDER_MARK) { BYTE_ORDER_MARK.len() } else { 0 };
        let end = record_end(bytes, from, false).unwrap_or(bytes.len());
        *start = end;
        Ok(bytes[from..end].to_vec())
    }

    /// The next block of whole records and its offset in the input, `None` at the end.
    pub(super) fn next_block(&mut self) -> Result<Option<(usize, &[u8])>> {
        match self {
            Self::Memory { bytes, next } => {
                let start = std::mem::replace(next, bytes.len());
                Ok((start < bytes.len()).then(|| (start, &bytes[start..])))
            }
            Self::File { blocks, spare, current, offset, start, .. } => {
                if *start == current.len() {
                    // A reading thread that has stopped needs no buffer back.
                    let _ = spare.send(std::mem::take(current));
                    let Ok(block) = blocks.recv() else { return Ok(None) };
                    (*offset, *current) = block?;
                    *start = 0;
                }
                let from = std::mem::replace(start, current.len());
                Ok(Some((*offset + from, &current[from..])))
            }
        }
    }

    /// A function giving the bytes at `range` of the input again (a file is opened anew, so
    /// that threads may read at once).
    pub(super) fn rereader(&self) -> impl Fn(std::ops::Range<usize>) -> Result<Cow<'a, [u8]>> + Sync + 'a {
        let input = match self {
            Self::Memory { bytes, .. } => Ok(*bytes),
            Self::File { path, .. } => Err(path.clone()),
        };
        move |range: std::ops::Range<usize>| match &input {
            Ok(bytes) => Ok(Cow::Borrowed(&bytes[range])),
            Err(path) => {
                let mut file = File::open(path).map_err(|e| io_error(path, &e))?;
                let mut text = vec![0; range.len()];
                file.seek(SeekFrom::Start(range.start as u64))
                    .and_then(|_| file.read_exact(&mut text))
                    .map_err(|e| io_error(path, &e))?;
                Ok(Cow::Owned(text))
            }
        }
    }

    /// The whole input in memory, for reading it again in one piece.
    pub(super) fn whole(&self) -> Result<Cow<'a, [u8]>> {
        match self {
            Self::Memory { bytes, .. } => Ok(Cow::Borrowed(*bytes)),
            Self::File { path, .. } => std::fs::read(path).map(Cow::Owned).map_err(|e| io_error(path, &e)),
        }
    }
}

/// Reads `file` in blocks of whole records — `block` bytes, up to the last record that ends in
/// them (more where a record is longer) — and sends each with its offset, filling the buffers
/// handed back. Stops at the end of the file, on an error (sent), or when the parser has gone.
fn read_ahead(
    mut file: File,
    path: &Path,
    block: usize,
    blocks: &SyncSender<Result<(usize, Vec<u8>)>>,
    spare: &Receiver<Vec<u8>>,
) {
    let mut carry: Vec<u8> = Vec::new();
    let mut offset = 0;
    loop {
        let mut buffer = spare.try_recv().unwrap_or_default();
        buffer.clear();
        buffer.append(&mut carry);
        let mut want = block.max(buffer.len() + 1);
        let (end, eof) = loop {
            let need = want - buffer.len();
            buffer.reserve_exact(need);
            let got = match file.by_ref().take(need as u64).read_to_end(&mut buffer) {
                Ok(got) => got,
                Err(e) => {
                    let _ = blocks.send(Err(io_error(path, &e)));
                    return;
                }
            };
            if got < need {
                break (buffer.len(), true);
            }
            if let Some(end) = last_record_end(&buffer) {
                break (end, false);
            }
            want *= 2;
        };
        carry.extend_from_slice(&buffer[end..]);
        buffer.truncate(end);
        let length = buffer.len();
        if length == 0 || blocks.send(Ok((offset, buffer))).is_err() || eof {
            return;
        }
        offset += length;
    }
}

fn io_error(path: &Path, error: &std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), message: error.to_string() }
}
