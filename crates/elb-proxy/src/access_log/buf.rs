//! The writer's batch buffer: its bytes stay initialised across batches, so a line's bounded
//! reservation (the JSON writer's) zeroes memory only when the buffer grows, not per line.

/// Formatted lines: `bytes[..len]`; the bytes beyond are initialised room.
#[derive(Debug, Default)]
pub struct LineBuf {
    bytes: Vec<u8>,
    len: usize,
}

impl LineBuf {
    /// A buffer with `n` bytes of initialised room.
    pub fn with_room(n: usize) -> Self {
        Self {
            bytes: vec![0; n],
            len: 0,
        }
    }

    /// The lines written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Forgets the lines, keeping the room.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// `n` bytes of room after the lines, to fill and then [`LineBuf::commit`].
    #[inline]
    pub fn room(&mut self, n: usize) -> &mut [u8] {
        let end = self.len + n;
        if self.bytes.len() < end {
            self.bytes.resize(end.max(2 * self.bytes.len()), 0);
        }
        &mut self.bytes[self.len..end]
    }

    /// Keeps the first `n` bytes of the room last asked for.
    #[inline]
    pub fn commit(&mut self, n: usize) {
        self.len += n;
    }

    /// The lines as a vector to append to (the room beyond is given up), for the formats
    /// that push byte by byte; `f`'s appends become lines.
    pub fn append(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        self.bytes.truncate(self.len);
        f(&mut self.bytes);
        self.len = self.bytes.len();
    }

    /// The lines, as an owned vector.
    pub fn into_vec(mut self) -> Vec<u8> {
        self.bytes.truncate(self.len);
        self.bytes
    }
}

impl From<Vec<u8>> for LineBuf {
    fn from(bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        Self { bytes, len }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_kept_across_clears_and_only_committed_bytes_are_lines() {
        let mut b = LineBuf::from(b"a\n".to_vec());
        b.room(8)[..3].copy_from_slice(b"bc\n");
        b.commit(3);
        assert_eq!(b.as_bytes(), b"a\nbc\n");
        b.append(|v| v.extend_from_slice(b"d\n"));
        assert_eq!(b.as_bytes(), b"a\nbc\nd\n");
        b.clear();
        assert!(b.as_bytes().is_empty());
        assert_eq!(b.room(4).len(), 4);
        b.commit(0);
        assert_eq!(b.into_vec(), b"");
    }
}
