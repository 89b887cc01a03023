//! Balances of every simulator account, free and locked, in exact decimals.
//!
//! Money only moves between accounts (fees go to the fee account), so the
//! total of each asset over all accounts never changes after funding; the
//! exchange's property test checks exactly that.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// An account number. 0 collects fees, 1 is the background market.
pub type AccountId = u32;

/// The account that collects commissions.
pub const FEE_ACCOUNT: AccountId = 0;

/// One asset's balance in one account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balance {
    pub free: Decimal,
    pub locked: Decimal,
}

/// Not enough free balance to lock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Account has insufficient balance for requested action.")]
pub struct Insufficient;

#[derive(Debug, Default)]
pub struct Ledger {
    balances: BTreeMap<(AccountId, String), Balance>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds to an account's free balance from outside (funding).
    pub fn deposit(&mut self, account: AccountId, asset: &str, amount: Decimal) {
        self.entry(account, asset).free += amount;
    }

    pub fn balance(&self, account: AccountId, asset: &str) -> Balance {
        self.balances.get(&(account, asset.to_owned())).copied().unwrap_or_default()
    }

    /// Every asset of one account, by name.
    pub fn account(&self, account: AccountId) -> impl Iterator<Item = (&str, Balance)> {
        self.balances
            .range((account, String::new())..)
            .take_while(move |((a, _), _)| *a == account)
            .map(|((_, asset), b)| (asset.as_str(), *b))
    }

    /// Moves `amount` from free to locked, or fails without changing anything.
    pub fn lock(&mut self, account: AccountId, asset: &str, amount: Decimal) -> Result<(), Insufficient> {
        let b = self.entry(account, asset);
        if amount < Decimal::ZERO || b.free < amount {
            return Err(Insufficient);
        }
        b.free -= amount;
        b.locked += amount;
        Ok(())
    }

    /// Moves `amount` from locked back to free.
    pub fn unlock(&mut self, account: AccountId, asset: &str, amount: Decimal) {
        let b = self.entry(account, asset);
        debug_assert!(b.locked >= amount, "unlocking more than is locked");
        b.locked -= amount;
        b.free += amount;
    }

    /// Pays `amount` of locked `asset` from one account to the free balance of another.
    pub fn transfer_locked(&mut self, from: AccountId, to: AccountId, asset: &str, amount: Decimal) {
        let b = self.entry(from, asset);
        debug_assert!(b.locked >= amount, "paying more than is locked");
        b.locked -= amount;
        self.entry(to, asset).free += amount;
    }

    /// Pays `amount` of free `asset` from one account to another (fees).
    pub fn transfer_free(&mut self, from: AccountId, to: AccountId, asset: &str, amount: Decimal) {
        self.entry(from, asset).free -= amount;
        self.entry(to, asset).free += amount;
    }

    /// Total of each asset over all accounts, free plus locked.
    pub fn totals(&self) -> BTreeMap<String, Decimal> {
        let mut totals = BTreeMap::new();
        for ((_, asset), b) in &self.balances {
            *totals.entry(asset.clone()).or_insert(Decimal::ZERO) += b.free + b.locked;
        }
        totals
    }

    /// True when no balance anywhere is negative.
    pub fn all_non_negative(&self) -> bool {
        self.balances.values().all(|b| b.free >= Decimal::ZERO && b.locked >= Decimal::ZERO)
    }

    fn entry(&mut self, account: AccountId, asset: &str) -> &mut Balance {
        self.balances.entry((account, asset.to_owned())).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn locking_needs_free_balance_and_transfers_keep_totals() {
        let mut l = Ledger::new();
        l.deposit(2, "USDT", d("100"));
        assert_eq!(l.lock(2, "USDT", d("100.01")), Err(Insufficient));
        assert_eq!(l.balance(2, "USDT"), Balance { free: d("100"), locked: d("0") });
        l.lock(2, "USDT", d("60")).unwrap();
        l.transfer_locked(2, 3, "USDT", d("59.5"));
        l.unlock(2, "USDT", d("0.5"));
        l.transfer_free(3, FEE_ACCOUNT, "USDT", d("0.0595"));
        assert_eq!(l.balance(2, "USDT"), Balance { free: d("40.5"), locked: d("0") });
        assert_eq!(l.balance(3, "USDT").free, d("59.4405"));
        assert_eq!(l.totals()["USDT"], d("100"));
        assert!(l.all_non_negative());
        assert_eq!(l.account(2).map(|(a, _)| a).collect::<Vec<_>>(), ["USDT"]);
    }
}
