//! Recorded market data: what the venues delivered, with the time each
//! event was received, in compact append-only files a backtest replays.
//!
//! A file is its header ([`MAGIC`]) and then blocks, each on its own:
//! `compressed length, raw length, entries, first receive time (µs),
//! CRC-32 of the compressed bytes` (little-endian u32, u32, u32, i64, u32),
//! then the entries ([`codec`]) compressed with LZ4. The writer
//! ([`Recorder`]) keeps one block open, writes it when it is a second old
//! or 256 KiB big, and starts a new file every hour (`<dir>/<venue…>/
//! YYYY-MM-DDTHH.twr`, UTC), so a crash loses at most the block it was
//! filling and never what was written before. The reader ([`Reader`])
//! takes a torn last block (the crash's) as the end of the file, and any
//! other damage as an error naming the file and the byte it starts at.

pub mod codec;
pub mod import;
pub mod tap;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tradewind_strategies::sdk::MarketEvent;

use codec::{Cursor, DecodeError, Entry, Slot, Stream};

/// The first bytes of every recording: the format and its version.
pub const MAGIC: &[u8; 8] = b"TWREC\x00\x01\n";
/// A block's header length.
const BLOCK_HEADER: usize = 24;
/// A block is written once it holds this much (raw).
const BLOCK_BYTES: usize = 256 * 1024;
/// ... or once its first entry is this old (µs).
const BLOCK_AGE_US: i64 = 1_000_000;
/// A block larger than this is damage, not data.
const MAX_BLOCK: usize = 64 * 1024 * 1024;

/// Why a recording cannot be read (or written).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a recording (no {magic:?} header)", magic = String::from_utf8_lossy(MAGIC))]
    NotARecording { path: PathBuf },
    #[error("{path}: the block at byte {offset} is damaged: {why}")]
    Damaged { path: PathBuf, offset: u64, why: String },
    #[error("{path}: entry {entry} of the block at byte {offset}: {source}")]
    Entry { path: PathBuf, offset: u64, entry: u32, source: DecodeError },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordError + '_ {
    move |source| RecordError::Io { path: path.to_owned(), source }
}

/// The file a receive time belongs in: `<dir>/YYYY-MM-DDTHH.twr` (UTC).
pub fn file_for(dir: &Path, local_us: i64) -> PathBuf {
    let ms = local_us.div_euclid(1_000);
    let stamp = crate::clock::iso_utc(ms);
    dir.join(format!("{}.twr", &stamp[..13]))
}

/// The file being written and its streams.
struct Open {
    path: PathBuf,
    file: std::fs::File,
    streams: HashMap<Stream, u32>,
    /// The hour (µs since the epoch / 3 600 s) the file holds.
    hour: i64,
}

/// Appends market events to hourly files under one folder.
pub struct Recorder {
    dir: PathBuf,
    open: Option<Open>,
    /// The block being filled (raw entries) and what it holds.
    block: Vec<u8>,
    entries: u32,
    first_us: i64,
    last_us: i64,
    compressed: Vec<u8>,
}

const HOUR_US: i64 = 3_600_000_000;

impl Recorder {
    /// Records under `dir` (made if missing).
    pub fn new(dir: &Path) -> Result<Self, RecordError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        Ok(Self {
            dir: dir.to_owned(),
            open: None,
            block: Vec::with_capacity(BLOCK_BYTES),
            entries: 0,
            first_us: 0,
            last_us: 0,
            compressed: Vec::new(),
        })
    }

    /// Appends `event`, received at `local_us` (µs since the epoch).
    pub fn record(&mut self, local_us: i64, event: &MarketEvent) -> Result<(), RecordError> {
        let hour = local_us.div_euclid(HOUR_US);
        if self.open.as_ref().is_none_or(|o| o.hour != hour) {
            self.flush()?;
            self.open = Some(self.open_file(local_us, hour)?);
        }
        if self.entries == 0 {
            self.first_us = local_us;
            self.last_us = local_us;
        }
        let open = self.open.as_mut().expect("opened above");
        let stream = codec::stream_of(event);
        let next = u32::try_from(open.streams.len()).unwrap_or(u32::MAX);
        let number = *open.streams.entry(stream).or_insert_with(|| {
            codec::put_stream(&mut self.block, next, stream);
            self.entries += 1;
            next
        });
        codec::put_event(&mut self.block, local_us - self.last_us, number, event);
        self.entries += 1;
        self.last_us = local_us;
        if self.block.len() >= BLOCK_BYTES || local_us - self.first_us >= BLOCK_AGE_US {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the block being filled, if any (call at least every second:
    /// what is not written is lost with the process).
    pub fn flush(&mut self) -> Result<(), RecordError> {
        let Some(open) = self.open.as_mut() else { return Ok(()) };
        if self.entries == 0 {
            return Ok(());
        }
        self.compressed.clear();
        self.compressed.resize(lz4_flex::block::get_maximum_output_size(self.block.len()), 0);
        let n = lz4_flex::block::compress_into(&self.block, &mut self.compressed)
            .map_err(|e| RecordError::Io { path: open.path.clone(), source: std::io::Error::other(e) })?;
        self.compressed.truncate(n);
        let mut header = Vec::with_capacity(BLOCK_HEADER);
        for n in [self.compressed.len(), self.block.len()] {
            header.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        header.extend_from_slice(&self.entries.to_le_bytes());
        header.extend_from_slice(&self.first_us.to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(&self.compressed).to_le_bytes());
        // One write of header and body: a crash tears at most this block.
        header.extend_from_slice(&self.compressed);
        open.file.write_all(&header).map_err(io(&open.path))?;
        open.file.flush().map_err(io(&open.path))?;
        self.block.clear();
        self.entries = 0;
        Ok(())
    }

    fn open_file(&self, local_us: i64, hour: i64) -> Result<Open, RecordError> {
        let path = file_for(&self.dir, local_us);
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io(&path))?;
        // A file written before (a restart within the hour) keeps its header and
        // blocks; this run's blocks define their streams again. A torn last block
        // of the earlier run would end the file for a reader: it is cut off first.
        let len = file.metadata().map_err(io(&path))?.len();
        if len == 0 {
            file.write_all(MAGIC).map_err(io(&path))?;
        } else {
            let intact = intact_length(&path)?;
            if intact < len {
                tracing::warn!(path = %path.display(), cut = len - intact, "a torn last block cut off");
                file.set_len(intact).map_err(io(&path))?;
            }
        }
        Ok(Open { path, file, streams: HashMap::new(), hour })
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!(error = %e, "the last recorded block could not be written");
        }
    }
}

/// How many leading bytes of the recording at `path` are whole blocks.
fn intact_length(path: &Path) -> Result<u64, RecordError> {
    let mut reader = Reader::open(path)?;
    while reader.next_block()? {}
    Ok(reader.offset)
}

/// Reads one recording file, event by event.
pub struct Reader {
    path: PathBuf,
    file: std::io::BufReader<std::fs::File>,
    len: u64,
    /// Where the next block starts.
    offset: u64,
    /// The block being read: raw entries, where its current one starts.
    raw: Vec<u8>,
    at: usize,
    block_offset: u64,
    entry: u32,
    /// Entries the block's header announced.
    entries: u32,
    compressed: Vec<u8>,
    streams: Vec<Option<Stream>>,
    /// The receive time of the last entry (µs).
    local_us: i64,
    slot: Slot,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let mut file = std::fs::File::open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        let mut magic = [0u8; 8];
        if file.read_exact(&mut magic).is_err() || &magic != MAGIC {
            return Err(RecordError::NotARecording { path: path.to_owned() });
        }
        Ok(Self {
            path: path.to_owned(),
            file: std::io::BufReader::with_capacity(1 << 20, file),
            len,
            offset: MAGIC.len() as u64,
            raw: Vec::new(),
            at: 0,
            block_offset: 0,
            entry: 0,
            entries: 0,
            compressed: Vec::new(),
            streams: Vec::new(),
            local_us: 0,
            slot: Slot::default(),
        })
    }

    fn damaged(&self, why: impl Into<String>) -> RecordError {
        RecordError::Damaged { path: self.path.clone(), offset: self.offset, why: why.into() }
    }

    /// Reads the next block into `raw`; false at the end (a torn last block included).
    fn next_block(&mut self) -> Result<bool, RecordError> {
        let left = self.len - self.offset;
        if left == 0 {
            return Ok(false);
        }
        if left < BLOCK_HEADER as u64 {
            return Ok(self.torn("a header cut short"));
        }
        let mut header = [0u8; BLOCK_HEADER];
        self.file.read_exact(&mut header).map_err(io(&self.path))?;
        let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
        let (compressed, raw, entries, crc) = (word(0) as usize, word(4) as usize, word(8), word(20));
        let first_us = i64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
        if compressed > MAX_BLOCK || raw > MAX_BLOCK {
            return Err(self.damaged(format!("a block of {compressed} bytes ({raw} raw)")));
        }
        if (compressed + BLOCK_HEADER) as u64 > left {
            return Ok(self.torn("its body cut short"));
        }
        self.compressed.resize(compressed, 0);
        self.file.read_exact(&mut self.compressed).map_err(io(&self.path))?;
        let last = self.offset + (BLOCK_HEADER + compressed) as u64 == self.len;
        if crc32fast::hash(&self.compressed) != crc {
            return if last {
                Ok(self.torn("its checksum does not match"))
            } else {
                Err(self.damaged("checksum mismatch"))
            };
        }
        self.raw.resize(raw, 0);
        match lz4_flex::block::decompress_into(&self.compressed, &mut self.raw) {
            Ok(n) if n == raw => {}
            Ok(n) => return Err(self.damaged(format!("{n} bytes decompressed, {raw} announced"))),
            Err(e) => return Err(self.damaged(format!("does not decompress: {e}"))),
        }
        self.block_offset = self.offset;
        self.offset += (BLOCK_HEADER + compressed) as u64;
        self.at = 0;
        self.entry = 0;
        self.local_us = first_us;
        self.entries = entries;
        Ok(true)
    }

    /// A torn last block: said, and taken as the end.
    fn torn(&mut self, why: &str) -> bool {
        tracing::warn!(path = %self.path.display(), offset = self.offset, reason = why, "the last block is torn (a crash while it was written): the recording ends before it");
        self.len = self.offset;
        false
    }

    /// The next event and its receive time (µs), `None` at the end. The
    /// event lives until the next call (its buffers are reused).
    pub fn next_event(&mut self) -> Result<Option<(i64, &MarketEvent)>, RecordError> {
        loop {
            if self.at >= self.raw.len() {
                if self.entry != self.entries {
                    let why = format!("{} entries read, {} announced", self.entry, self.entries);
                    return Err(RecordError::Damaged { path: self.path.clone(), offset: self.block_offset, why });
                }
                if !self.next_block()? {
                    return Ok(None);
                }
            }
            let mut cursor = Cursor::new(&self.raw[self.at..]);
            let entry = codec::read_entry(&mut cursor, &self.streams, &mut self.slot).map_err(|source| {
                RecordError::Entry { path: self.path.clone(), offset: self.block_offset, entry: self.entry, source }
            })?;
            self.at = self.raw.len() - cursor.remaining();
            self.entry += 1;
            match entry {
                Entry::Stream(number, stream) => {
                    let i = usize::try_from(number).unwrap_or(usize::MAX);
                    if i >= self.streams.len() {
                        self.streams.resize(i.saturating_add(1).min(1 << 20), None);
                    }
                    if let Some(s) = self.streams.get_mut(i) {
                        *s = Some(stream);
                    }
                }
                Entry::Event { gap_us } => {
                    self.local_us += gap_us;
                    return Ok(Some((self.local_us, &self.slot.event)));
                }
            }
        }
    }
}

/// Every event of every recording under `dir`, in file order (tests).
#[cfg(test)]
pub(crate) fn read_folder(dir: &Path) -> Vec<(i64, MarketEvent)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "twr"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let mut reader = Reader::open(&file).unwrap();
        while let Some((at, event)) = reader.next_event().unwrap() {
            out.push((at, event.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests;
