//! A tiny seeded random number generator (SplitMix64): enough for the
//! synthetic market, reconnect jitter and fault injection, where
//! reproducibility from a seed matters more than statistical quality.

use rust_decimal::Decimal;

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Seeded from the clock, for jitter that must differ between processes.
    pub fn from_time() -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        Self(nanos as u64 ^ u64::from(std::process::id()).rotate_left(32))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n) (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `p` (0..1), to a millionth.
    pub fn chance(&mut self, p: Decimal) -> bool {
        let millionths = (p * Decimal::from(1_000_000)).trunc();
        Decimal::from(self.below(1_000_000)) < millionths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        let xs: Vec<u64> = (0..100).map(|_| a.below(10)).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.below(10)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| *x < 10));
        assert!((0..10).all(|v| xs.contains(&v)), "every value shows up in 100 draws");
        assert_eq!(a.below(0), 0);
        assert!(!a.chance(Decimal::ZERO) && a.chance(Decimal::ONE));
    }
}
