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

/// The leading ASCII digits of `bytes`, at most 16 of them: their value and
/// how many there are. Eight bytes per step while eight remain; a run of
/// more than 16 digits stops after the 16th (the caller sees a digit next).
#[inline(always)]
pub(super) fn leading(bytes: &[u8]) -> (u64, usize) {
    let mut value = 0u64;
    let mut at = 0;
    while at < 16 {
        let Some(chunk) = bytes.get(at..at + 8) else {
            // Fewer than eight bytes left: one at a time.
            for &b in &bytes[at..] {
                let d = b.wrapping_sub(b'0');
                if d > 9 || at >= 16 {
                    break;
                }
                value = value * 10 + u64::from(d);
                at += 1;
            }
            return (value, at);
        };
        let word = word(chunk);
        let flags = not_digits(word);
        if flags == 0 {
            value = value * 100_000_000 + eight(word);
            at += 8;
            continue;
        }
        let n = (flags.trailing_zeros() / 8) as usize;
        if n > 0 {
            // The n digits to the top bytes, '0's below them: an eight-digit
            // number with the same value.
            let pad = 8 * (8 - n as u32);
            let digits = (word << pad) | (ZEROS & ((1u64 << pad) - 1));
            value = value * POWERS[n] + eight(digits);
        }
        return (value, at + n);
    }
    (value, at)
}

const POWERS: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn leading_reads_the_first_sixteen_digits_of_the_run(bytes in proptest::collection::vec(
            prop_oneof![8 => b'0'..=b'9', 1 => any::<u8>()], 0..24)
        ) {
            let run = bytes.iter().take_while(|b| b.is_ascii_digit()).count().min(16);
            let value = bytes[..run].iter().fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
            prop_assert_eq!(leading(&bytes), (value, run));
        }
    }

    #[test]
    fn edges() {
        assert_eq!(leading(b"64000.10000000"), (64_000, 5));
        assert_eq!(leading(b"10000000\""), (10_000_000, 8));
        assert_eq!(leading(b"12345678901234567"), (1_234_567_890_123_456, 16));
        assert_eq!(leading(b"9999999999999999\"x"), (9_999_999_999_999_999, 16));
        assert_eq!(leading(b""), (0, 0));
        assert_eq!(leading(b".5"), (0, 0));
        assert_eq!(leading(b"00000001"), (1, 8));
        assert_eq!(leading(b"1234567/"), (1_234_567, 7));
        assert_eq!(leading(b"1234567:"), (1_234_567, 7));
        assert_eq!(leading(b"1234567890123456\xff"), (1_234_567_890_123_456, 16));
    }
}
