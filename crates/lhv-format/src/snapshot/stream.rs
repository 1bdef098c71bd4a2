//! Reading a snapshot from a byte stream straight into its final arrays.
//!
//! A snapshot held whole in memory before it is decoded costs its size
//! twice (the bytes, then the arrays copied out of them): a restart would
//! need twice the index's memory. Here each section is read, in bounded
//! chunks whose CRC32C is accumulated on the way, directly into the array
//! the index keeps, so loading holds little more than the index itself.
//! The layout is checked against the stream's announced length before
//! anything is allocated, so a damaged envelope cannot ask for more memory
//! than the snapshot occupies.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{ErrorKind, Read};

use super::source::{Element, SectionSource, get_u16s};
use super::{ALIGN, check_layout};
use crate::arrays::{get_f32s, get_u32s};
use crate::envelope::{Envelope, PREFIX, SNAPSHOT_MAGIC, read_head};
use crate::error::{Error, Result};

/// Bytes read (and checksummed) at a time: large enough for sequential
/// reads at disk speed, small enough to stay in cache for the CRC.
const CHUNK: usize = 4 << 20;

/// A section's array, of the element type its name calls for.
enum Buffer {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    F32(Vec<f32>),
}

impl Buffer {
    /// A zeroed array of `length` bytes of `element`s (`length` a multiple
    /// of the element's size; otherwise plain bytes, refused when decoded).
    fn zeroed(element: Element, length: usize) -> Self {
        if !length.is_multiple_of(element.size()) {
            return Buffer::U8(vec![0; length]);
        }
        let count = length / element.size();
        match element {
            Element::U8 => Buffer::U8(zeroed(count)),
            Element::U16 => Buffer::U16(zeroed(count)),
            Element::U32 => Buffer::U32(zeroed(count)),
            Element::F32 => Buffer::F32(zeroed(count)),
        }
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Buffer::U8(values) => values,
            Buffer::U16(values) => bytemuck::cast_slice_mut(values),
            Buffer::U32(values) => bytemuck::cast_slice_mut(values),
            Buffer::F32(values) => bytemuck::cast_slice_mut(values),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Buffer::U8(values) => values,
            Buffer::U16(values) => bytemuck::cast_slice(values),
            Buffer::U32(values) => bytemuck::cast_slice(values),
            Buffer::F32(values) => bytemuck::cast_slice(values),
        }
    }

    /// The values were read as little-endian bytes: put them in the
    /// machine's order (nothing to do on a little-endian machine).
    fn make_native(&mut self) {
        if cfg!(target_endian = "little") {
            return;
        }
        match self {
            Buffer::U8(_) => {}
            Buffer::U16(values) => values.iter_mut().for_each(|v| *v = u16::from_le(*v)),
            Buffer::U32(values) => values.iter_mut().for_each(|v| *v = u32::from_le(*v)),
            Buffer::F32(values) => values.iter_mut().for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits()))),
        }
    }
}

/// A zeroed array of `count` values. A large one is fresh memory from the
/// system that the read below faults in page by page: on Linux it is asked
/// to be backed by transparent huge pages, so that a gigabyte of vectors
/// takes hundreds of faults instead of hundreds of thousands.
fn zeroed<T: bytemuck::Pod>(count: usize) -> Vec<T> {
    let values = vec![T::zeroed(); count];
    advise_huge_pages(bytemuck::cast_slice::<T, u8>(&values).as_ptr(), std::mem::size_of_val(values.as_slice()));
    values
}

/// Below this, huge pages are not worth a system call.
const HUGE_PAGE: usize = 2 << 20;

#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *const u8, length: usize) {
    if length < 2 * HUGE_PAGE {
        return;
    }
    // Whole huge pages inside the allocation only.
    let aligned = (start as usize).next_multiple_of(HUGE_PAGE);
    let end = (start as usize + length) / HUGE_PAGE * HUGE_PAGE;
    if end > aligned {
        // SAFETY: the range lies inside an allocation this function's caller
        // owns; MADV_HUGEPAGE only changes how the kernel backs it, never its
        // contents, and failure (a kernel without THP) is harmless.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, end - aligned, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: *const u8, _length: usize) {}

/// Every section of a snapshot, read and checked against its CRC.
pub(crate) struct ReadSections {
    buffers: HashMap<String, Buffer>,
}

impl ReadSections {
    fn take(&mut self, name: &str) -> Result<Buffer> {
        self.buffers.remove(name).ok_or_else(|| Error::invalid(format!("section {name} is missing or read twice")))
    }
}

impl SectionSource for ReadSections {
    fn has(&self, name: &str) -> bool {
        self.buffers.contains_key(name)
    }

    fn bytes(&mut self, name: &str) -> Result<Cow<'_, [u8]>> {
        let buffer = self.buffers.get(name).ok_or_else(|| Error::invalid(format!("section {name} is missing")))?;
        Ok(Cow::Owned(buffer.as_bytes().to_vec()))
    }

    fn owned_bytes(&mut self, name: &str) -> Result<Vec<u8>> {
        match self.take(name)? {
            Buffer::U8(values) => Ok(values),
            other => Ok(other.as_bytes().to_vec()),
        }
    }

    fn f32s(&mut self, name: &str) -> Result<Vec<f32>> {
        match self.take(name)? {
            Buffer::F32(values) => Ok(values),
            other => get_f32s(other.as_bytes(), name),
        }
    }

    fn u32s(&mut self, name: &str) -> Result<Vec<u32>> {
        match self.take(name)? {
            Buffer::U32(values) => Ok(values),
            other => get_u32s(other.as_bytes(), name),
        }
    }

    fn u16s(&mut self, name: &str) -> Result<Vec<u16>> {
        match self.take(name)? {
            Buffer::U16(values) => Ok(values),
            other => get_u16s(other.as_bytes(), name),
        }
    }
}

/// Reads a whole snapshot of `length` bytes from `reader`: its envelope, then
/// every section into its array, checking each CRC, the padding between
/// sections, and that the stream ends where the last section does.
pub(crate) fn read_sections(reader: &mut impl Read, length: u64) -> Result<(Envelope, ReadSections)> {
    let mut position = 0u64;
    let mut prefix = [0u8; PREFIX];
    read_exactly(reader, &mut prefix, &mut position)?;
    let json_len = u32::from_be_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]) as usize;
    let head_len = crate::envelope::head_len(json_len);
    if prefix[..4] != SNAPSHOT_MAGIC {
        return Err(Error::BadMagic);
    }
    if head_len as u64 > length {
        return Err(Error::Truncated { needed: head_len as u64, available: length });
    }
    let mut head = vec![0u8; head_len];
    head[..PREFIX].copy_from_slice(&prefix);
    read_exactly(reader, &mut head[PREFIX..], &mut position)?;
    let (envelope, head_end) = read_head(&head)?;
    let order = check_layout(&envelope.sections, head_end, length)?;
    let mut buffers = HashMap::with_capacity(order.len());
    for index in order {
        let section = &envelope.sections[index];
        // `check_layout` has checked every offset and length against `length`.
        let gap = usize::try_from(section.offset - position).map_err(|_| Error::invalid("section gap"))?;
        let mut padding = [0u8; ALIGN];
        let padding = padding.get_mut(..gap).ok_or_else(|| Error::invalid("section gap"))?;
        read_exactly(reader, padding, &mut position)?;
        if padding.iter().any(|&b| b != 0) {
            return Err(Error::invalid(format!("unexpected bytes before section {}", section.name)));
        }
        let size = usize::try_from(section.length).map_err(|_| Error::invalid("section too large"))?;
        let mut buffer = Buffer::zeroed(Element::of(&section.name), size);
        let mut crc = 0u32;
        for chunk in buffer.as_bytes_mut().chunks_mut(CHUNK) {
            read_exactly(reader, chunk, &mut position)?;
            crc = crate::checksum::crc32c_append(crc, chunk);
        }
        if crc != section.crc32c && !cfg!(fuzzing) {
            return Err(Error::Checksum { section: section.name.clone() });
        }
        buffer.make_native();
        buffers.insert(section.name.clone(), buffer);
    }
    // The stream must end where the last section does.
    let mut extra = [0u8; 1];
    loop {
        match reader.read(&mut extra) {
            Ok(0) => break,
            Ok(_) => return Err(Error::invalid("bytes after the last section")),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Read { reason: e.to_string() }),
        }
    }
    Ok((envelope, ReadSections { buffers }))
}

/// Fills `buffer` from the stream, or reports where it ended early.
fn read_exactly(reader: &mut impl Read, buffer: &mut [u8], position: &mut u64) -> Result<()> {
    let needed = *position + buffer.len() as u64;
    match reader.read_exact(buffer) {
        Ok(()) => {
            *position = needed;
            Ok(())
        }
        // How much of `buffer` arrived is unknown: what came before it did.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Err(Error::Truncated { needed, available: *position }),
        Err(e) => Err(Error::Read { reason: e.to_string() }),
    }
}
