//! Which strategy instance owns a client order id.
//!
//! Tradewind's own ids read `tw` + the instance's five-character code + the
//! order's sequence number in base 36, all lowercase alphanumerics: at most
//! 18 characters, valid on every venue (OKX takes 1–32 alphanumerics, Kraken
//! free text of at most 18). The code is a hash of the instance's name, so
//! the same name always gets the same code, in every process and build.
//!
//! A code does not spell its name: the names seen in this process (every
//! instance built, every instance the journal knows) are kept in one table,
//! [`register`] adds to it and [`owner`] reads it. Ids of the earlier form,
//! `tw-<instance>-<seq>` in decimal, still read as their instance's.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use super::types::ClientOrderId;

/// Characters of an instance code.
const CODE_LEN: usize = 5;
/// The prefix of every id Tradewind makes.
const PREFIX: &str = "tw";
/// The longest id Tradewind makes: Kraken's limit for free text.
pub const MAX_OWN_ID: usize = 18;

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The short code of a strategy instance in its client order ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceCode([u8; CODE_LEN]);

impl InstanceCode {
    /// The code of instance `name`: FNV-1a (64 bits) of its bytes, in five
    /// base-36 digits. Never change it: journals and venues hold ids made with it.
    pub fn of(name: &str) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut code = [0u8; CODE_LEN];
        for digit in code.iter_mut().rev() {
            *digit = BASE36[(hash % 36) as usize];
            hash /= 36;
        }
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("base-36 digits are ASCII")
    }

    fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; CODE_LEN] = s.as_bytes().try_into().ok()?;
        bytes.iter().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()).then_some(Self(bytes))
    }
}

impl std::fmt::Display for InstanceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for InstanceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InstanceCode({})", self.as_str())
    }
}

/// Two instance names with one code: their ids could not be told apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("strategy names {first:?} and {second:?} share the client order id code {code}; rename one")]
pub struct CodeClash {
    pub code: InstanceCode,
    pub first: String,
    pub second: String,
}

/// Names by code, each name leaked once: the set is the instances this
/// process ever runs or finds in its journal, a few dozen short strings.
static OWNERS: LazyLock<RwLock<HashMap<InstanceCode, &'static str>>> = LazyLock::new(Default::default);

/// Makes ids with `name`'s code read as `name`'s; fails if another name
/// already holds that code.
pub fn register(name: &str) -> Result<InstanceCode, CodeClash> {
    let code = InstanceCode::of(name);
    let clash = |first: &str| CodeClash { code, first: first.to_owned(), second: name.to_owned() };
    if let Some(known) = OWNERS.read().unwrap_or_else(|e| e.into_inner()).get(&code) {
        return if *known == name { Ok(code) } else { Err(clash(known)) };
    }
    let mut owners = OWNERS.write().unwrap_or_else(|e| e.into_inner());
    match owners.get(&code) {
        Some(known) if *known != name => Err(clash(known)),
        Some(_) => Ok(code),
        None => {
            owners.insert(code, Box::leak(name.to_owned().into_boxed_str()));
            Ok(code)
        }
    }
}

/// The registered name of `code`.
pub fn name_of(code: InstanceCode) -> Option<&'static str> {
    OWNERS.read().unwrap_or_else(|e| e.into_inner()).get(&code).copied()
}

/// Id number `seq` of instance `name`: `tw` + code + `seq` in base 36.
pub(super) fn own_id(name: &str, seq: u64) -> String {
    let mut digits = [0u8; 13];
    let mut start = digits.len();
    let mut rest = seq;
    loop {
        start -= 1;
        digits[start] = BASE36[(rest % 36) as usize];
        rest /= 36;
        if rest == 0 {
            break;
        }
    }
    let mut id = String::with_capacity(MAX_OWN_ID);
    id.push_str(PREFIX);
    id.push_str(InstanceCode::of(name).as_str());
    id.push_str(std::str::from_utf8(&digits[start..]).expect("base-36 digits are ASCII"));
    id
}

/// The instance code and sequence number of one of Tradewind's ids, of
/// either form; `None` for an id another client chose.
pub fn parts(id: &str) -> Option<(InstanceCode, u64)> {
    if let Some((name, seq)) = legacy_parts(id) {
        return Some((InstanceCode::of(name), seq));
    }
    let rest = id.strip_prefix(PREFIX)?;
    if rest.len() <= CODE_LEN || id.len() > MAX_OWN_ID {
        return None;
    }
    let (code, seq) = rest.split_at(CODE_LEN);
    let code = InstanceCode::parse(code)?;
    let seq = seq.bytes().try_fold(0u64, |n, b| {
        let digit = BASE36.iter().position(|d| *d == b)? as u64;
        n.checked_mul(36)?.checked_add(digit)
    })?;
    Some((code, seq))
}

/// `tw-<instance>-<seq>`, the form before codes.
fn legacy_parts(id: &str) -> Option<(&str, u64)> {
    let rest = id.strip_prefix("tw-")?;
    let (instance, seq) = rest.rsplit_once('-')?;
    Some((instance, seq.parse().ok()?))
}

/// The owning instance's name and the sequence number of one of Tradewind's
/// ids; `None` for an id another client chose, or one whose code no
/// registered name has.
pub fn owner(id: &str) -> Option<(&str, u64)> {
    if let Some(parts) = legacy_parts(id) {
        return Some(parts);
    }
    let (code, seq) = parts(id)?;
    Some((name_of(code)?, seq))
}

impl ClientOrderId {
    /// The owning instance and sequence number (see [`owner`]).
    pub fn owner(&self) -> Option<(&str, u64)> {
        owner(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_fixed_forever() {
        // Journals and venues hold ids made with these: a change here orphans them.
        // (Computed independently: FNV-1a 64 of the UTF-8 bytes, mod 36⁵, base 36.)
        assert_eq!(InstanceCode::of("sma_btc").as_str(), "sgq4s");
        assert_eq!(InstanceCode::of("mm_btc").as_str(), "tgd27");
        assert_eq!(InstanceCode::of("").as_str(), "4ux45");
    }

    #[test]
    fn own_ids_fit_every_venue_and_read_back() {
        register("mm_btc").unwrap();
        for seq in [0, 1, 35, 36, 1_796_609_447_857, 36u64.pow(11) - 1] {
            let id = ClientOrderId::for_instance("mm_btc", seq).unwrap();
            let s = id.as_str();
            assert!(s.len() <= MAX_OWN_ID && s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s}");
            assert_eq!(id.owner(), Some(("mm_btc", seq)), "{s}");
            assert_eq!(parts(s), Some((InstanceCode::of("mm_btc"), seq)));
        }
        assert_eq!(ClientOrderId::for_instance("mm_btc", 1_796_609_447_857).unwrap().as_str(), "twtgd27mxcmvm41");
        assert!(ClientOrderId::for_instance("mm_btc", 36u64.pow(11)).is_err(), "19 characters");
    }

    #[test]
    fn ids_of_the_earlier_form_and_of_others_are_told_apart() {
        assert_eq!(owner("tw-sma_btc-1795817461686"), Some(("sma_btc", 1795817461686)));
        assert_eq!(owner("tw-a-b-3"), Some(("a-b", 3)));
        assert_eq!(parts("tw-a-b-3"), Some((InstanceCode::of("a-b"), 3)));
        for other in ["manual-1", "tw-sma-x", "tw", "twabcde", "twABCDE1", "tw12345-1", "x-tw-a-1"] {
            assert_eq!(owner(other), None, "{other}");
        }
        let unregistered = own_id("never_registered_anywhere", 5);
        assert_eq!(parts(&unregistered).map(|(_, seq)| seq), Some(5));
        assert_eq!(owner(&unregistered), None, "a code no registered name has");
    }

    #[test]
    fn a_second_name_with_a_taken_code_is_refused() {
        // Found by a birthday search over `s0`, `s1`, …: both hash to `kmtvy`.
        assert_eq!(InstanceCode::of("s9713"), InstanceCode::of("s151500"));
        let code = register("s9713").unwrap();
        assert_eq!(register("s9713"), Ok(code), "registering again is harmless");
        let err = register("s151500").unwrap_err();
        assert_eq!((err.code.as_str(), err.first.as_str(), err.second.as_str()), ("kmtvy", "s9713", "s151500"));
        assert_eq!(name_of(code), Some("s9713"), "the first keeps its code");
        assert!(err.to_string().contains("rename one"));
    }
}
