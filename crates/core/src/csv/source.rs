//! Where the CSV text comes from: bytes already in memory, or a file read in blocks of whole
//! records so that the text of a large file is never held at once.

use super::tokenize::{chunk_boundaries, last_record_end, record_end};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// The bytes of a CSV file, piece by piece: each piece whole records.
pub(super) enum Source<'a> {
    Memory {
        bytes: &'a [u8],
        /// Where the pieces start (and the last ends) once the header is read.
        boundaries: Vec<usize>,
        /// How many pieces have been handed out.
        next: usize,
        /// How many pieces to cut the body into.
        parts: usize,
    },
    /// A file read ahead by a thread of its own, a block of whole records at a time, while the
    /// blocks before are parsed.
    File {
        path: PathBuf,
        blocks: Receiver<Result<(usize, Vec<u8>)>>,
        /// Blocks parsed, handed back to the reading thread to be filled again.
        spare: Sender<Vec<u8>>,
        /// The body's part of the first block, held back while the header is read.
        first: Option<(usize, Vec<u8>)>,
    },
}

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

impl<'a> Source<'a> {
    /// Text in memory, its body cut into about `parts` pieces (one if under 1 MiB).
    pub(super) fn memory(bytes: &'a [u8], parts: usize) -> Self {
        Self::Memory { bytes, boundaries: Vec::new(), next: 0, parts }
    }

    /// A file read in pieces of about `block` bytes (longer where a record is).
    pub(super) fn file(path: &Path, block: usize) -> Result<Self> {
        let file = File::open(path).map_err(|e| io_error(path, &e))?;
        let (to_parser, blocks) = sync_channel(1);
        let (spare, to_reader) = channel();
        let reading = path.to_path_buf();
        std::thread::spawn(move || read_ahead(file, &reading, block.max(1), &to_parser, &to_reader));
        Ok(Self::File { path: path.to_path_buf(), blocks, spare, first: None })
    }

    /// Whether the input is text in memory cut into a single piece (read as a whole).
    pub(super) fn is_single_piece(&self) -> bool {
        matches!(self, Self::Memory { boundaries, .. } if boundaries.len() <= 2)
    }

    /// The header record (after a byte-order mark, which is dropped).
    pub(super) fn header(&mut self) -> Result<Vec<u8>> {
        let (bytes, offset) = match self {
            Self::Memory { bytes, .. } => (*bytes, 0),
            Self::File { blocks, first, .. } => {
                if let Ok(block) = blocks.recv() {
                    *first = Some(block?);
                }
                first.as_ref().map_or((&[][..], 0), |(offset, block)| (&block[..], *offset))
            }
        };
        let from = if bytes.starts_with(BYTE_ORDER_MARK) { BYTE_ORDER_MARK.len() } else { 0 };
        let end = record_end(bytes, from, false).unwrap_or(bytes.len());
        let header = bytes[from..end].to_vec();
        match self {
            Self::Memory { bytes, boundaries, parts, .. } => {
                let body = &bytes[end..];
                let parts = if body.len() < 1 << 20 { 1 } else { *parts };
                *boundaries = chunk_boundaries(body, parts).into_iter().map(|b| b + end).collect();
            }
            Self::File { first, .. } => {
                if let Some((start, block)) = first {
                    block.drain(..end);
                    *start = offset + end;
                }
            }
        }
        Ok(header)
    }

    /// The next piece of whole records and its offset in the input, `None` at the end.
    pub(super) fn next_piece(&mut self) -> Result<Option<(usize, Cow<'a, [u8]>)>> {
        match self {
            Self::Memory { bytes, boundaries, next, .. } => {
                let piece = boundaries.get(*next..*next + 2).map(|b| (b[0], Cow::Borrowed(&bytes[b[0]..b[1]])));
                *next += 1;
                Ok(piece.filter(|(_, p)| !p.is_empty()))
            }
            Self::File { blocks, first, .. } => {
                if let Some((offset, block)) = first.take().filter(|(_, b)| !b.is_empty()) {
                    return Ok(Some((offset, Cow::Owned(block))));
                }
                match blocks.recv() {
                    Ok(block) => block.map(|(offset, bytes)| Some((offset, Cow::Owned(bytes)))),
                    Err(_) => Ok(None),
                }
            }
        }
    }

    /// Where pieces parsed may be handed back for the reading thread to fill again.
    pub(super) fn recycler(&self) -> Option<Sender<Vec<u8>>> {
        match self {
            Self::Memory { .. } => None,
            Self::File { spare, .. } => Some(spare.clone()),
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
