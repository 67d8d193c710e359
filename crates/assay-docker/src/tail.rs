//! A byte buffer that keeps only the last N bytes written to it: logs stay bounded however
//! much a submission prints.

use std::collections::VecDeque;

/// Keeps the last `cap` bytes pushed, and whether anything was dropped.
#[derive(Debug, Clone)]
pub struct TailBuffer {
    cap: usize,
    buf: VecDeque<u8>,
    dropped: u64,
}

impl TailBuffer {
    pub fn new(cap: usize) -> TailBuffer {
        TailBuffer {
            cap,
            buf: VecDeque::with_capacity(cap.min(64 * 1024)),
            dropped: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = if bytes.len() > self.cap {
            self.dropped += (bytes.len() - self.cap) as u64;
            &bytes[bytes.len() - self.cap..]
        } else {
            bytes
        };
        let overflow = (self.buf.len() + bytes.len()).saturating_sub(self.cap);
        if overflow > 0 {
            self.buf.drain(..overflow);
            self.dropped += overflow as u64;
        }
        self.buf.extend(bytes);
    }

    /// Bytes dropped from the front so far.
    #[cfg(test)]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The kept bytes as lossy UTF-8 (a cut multi-byte character becomes U+FFFD), prefixed
    /// with a note when the front was cut.
    pub fn to_text(&self) -> String {
        let (a, b) = self.buf.as_slices();
        let mut bytes = Vec::with_capacity(a.len() + b.len());
        bytes.extend_from_slice(a);
        bytes.extend_from_slice(b);
        let text = String::from_utf8_lossy(&bytes);
        if self.dropped > 0 {
            format!("[… {} earlier bytes not kept]\n{text}", self.dropped)
        } else {
            text.into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_only() {
        let mut t = TailBuffer::new(4);
        t.push(b"ab");
        t.push(b"cdef");
        assert_eq!(t.dropped(), 2);
        assert!(t.to_text().ends_with("cdef"));
        t.push(b"0123456789");
        assert!(t.to_text().ends_with("6789"));
        assert_eq!(t.dropped(), 12);
        let mut t = TailBuffer::new(8);
        t.push(&[0xff, 0xfe, b'o', b'k']);
        assert_eq!(t.to_text(), "\u{fffd}\u{fffd}ok");
    }
}
