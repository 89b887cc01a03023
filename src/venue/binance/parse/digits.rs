//! ASCII digits, eight at a time (SWAR: one `u64` holds eight bytes).

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
const ZEROS: u64 = ONES * b'0' as u64;

/// Flags (high bit) the bytes of `word` that are not `'0'..='9'`. The
/// lowest flag is exact; carries and borrows only disturb the bytes above a
/// flagged one.
#[inline]
fn not_digits(word: u64) -> u64 {
    (word.wrapping_add(ONES * 0x46) | word.wrapping_sub(ZEROS)) & HIGHS
}

/// The value of eight ASCII digits, the first one most significant.
#[inline]
fn eight(word: u64) -> u64 {
    let word = word - ZEROS;
    // Pairs, then quads, then all eight (little-endian: the first digit is the lowest byte).
    let word = (word * 10 + (word >> 8)) & 0x00ff_00ff_00ff_00ff;
    let word = (word * 100 + (word >> 16)) & 0x0000_ffff_0000_ffff;
    (word * 10_000 + (word >> 32)) & 0xffff_ffff
}

fn word(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(chunk.try_into().expect("a chunk of eight bytes"))
}

/// How many bytes at the start of `bytes` are ASCII digits.
#[inline]
pub(super) fn run_len(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut chunks {
        let flags = not_digits(word(chunk));
        if flags != 0 {
            return done + (flags.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + chunks.remainder().iter().position(|b| !b.is_ascii_digit()).unwrap_or(chunks.remainder().len())
}

/// The value of a string of at most 19 ASCII digits (which cannot overflow);
/// `None` if a byte is not a digit or there are more than 19.
#[inline]
pub(super) fn value(digits: &[u8]) -> Option<u64> {
    if digits.len() > 19 {
        return None;
    }
    let mut value = 0u64;
    let mut chunks = digits.chunks_exact(8);
    for chunk in &mut chunks {
        let word = word(chunk);
        if not_digits(word) != 0 {
            return None;
        }
        value = value * 100_000_000 + eight(word);
    }
    for &b in chunks.remainder() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + u64::from(d);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn value_and_run_len_agree_with_the_obvious(bytes in proptest::collection::vec(
            prop_oneof![8 => b'0'..=b'9', 1 => any::<u8>()], 0..24)
        ) {
            let run = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            prop_assert_eq!(run_len(&bytes), run);
            let expected = if bytes.len() <= 19 && run == bytes.len() {
                Some(bytes.iter().fold(0u64, |v, b| v * 10 + u64::from(b - b'0')))
            } else {
                None
            };
            prop_assert_eq!(value(&bytes), expected);
        }
    }

    #[test]
    fn edges() {
        assert_eq!(value(b"9999999999999999999"), Some(9_999_999_999_999_999_999));
        assert_eq!(value(b"12345678"), Some(12_345_678));
        assert_eq!(value(b"00000001"), Some(1));
        assert_eq!(value(b""), Some(0));
        assert_eq!(value(b"1234567/"), None);
        assert_eq!(value(b"1234567:"), None);
        assert_eq!(run_len(b"1234567890123456\xff"), 16);
        assert_eq!(run_len(b"12345678.1"), 8);
    }
}
