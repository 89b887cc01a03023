//! What a reload changes: strategies added, removed (or disabled), changed
//! (parameters, symbols or venue), and the sections that only a restart applies.

use super::{Config, StrategyConfig, VenueConfig};

/// The difference between the running configuration and a new one.
#[derive(Debug, Default, PartialEq)]
pub struct Diff<'a> {
    pub added: Vec<&'a StrategyConfig>,
    pub removed: Vec<String>,
    pub changed: Vec<&'a StrategyConfig>,
    pub unchanged: Vec<String>,
    /// `[risk]` changed (applied live).
    pub risk: bool,
    /// Sections that changed but take effect only after a restart.
    pub needs_restart: Vec<&'static str>,
}

/// Compares the enabled strategies by name, and the other sections.
pub fn diff<'a>(old: &Config, new: &'a Config) -> Diff<'a> {
    let running = |c: &'a Config| c.strategies.iter().filter(|s| s.enabled).collect::<Vec<&'a StrategyConfig>>();
    let before: Vec<&StrategyConfig> = old.strategies.iter().filter(|s| s.enabled).collect();
    let after = running(new);
    let mut d = Diff { risk: old.risk != new.risk, ..Diff::default() };
    for s in &after {
        match before.iter().find(|b| b.instance.name == s.instance.name) {
            None => d.added.push(s),
            Some(b) if b.instance != s.instance || b.params != s.params => d.changed.push(s),
            // New limits alone apply without a restart (see `risk`).
            Some(b) if b.risk != s.risk => {
                d.risk = true;
                d.unchanged.push(s.instance.name.clone());
            }
            Some(_) => d.unchanged.push(s.instance.name.clone()),
        }
    }
    for b in before {
        if !after.iter().any(|s| s.instance.name == b.instance.name) {
            d.removed.push(b.instance.name.clone());
        }
    }
    // Where keys come from may change (rotation applies live); anything else about a venue needs a restart.
    let without_keys =
        |venues: &[VenueConfig]| -> Vec<VenueConfig> { venues.iter().map(VenueConfig::without_credentials).collect() };
    for (section, same) in [
        ("venues", without_keys(&old.venues) == without_keys(&new.venues)),
        ("journal", old.journal == new.journal),
        ("ops", old.ops == new.ops),
        ("runtime", old.runtime == new.runtime),
    ] {
        if !same {
            d.needs_restart.push(section);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: &std::path::Path, main: &str, files: &[(&str, &str)]) -> Config {
        let strategies = dir.join("strategies");
        let _ = std::fs::remove_dir_all(&strategies);
        std::fs::create_dir_all(&strategies).unwrap();
        std::fs::write(dir.join("tradewind.toml"), main).unwrap();
        for (name, text) in files {
            std::fs::write(strategies.join(name), text).unwrap();
        }
        Config::load_with_env(&dir.join("tradewind.toml"), std::iter::empty()).unwrap()
    }

    fn sma(name: &str, slow: u32, enabled: bool) -> String {
        format!(
            "name = \"{name}\"\nkind = \"sma_cross\"\nvenue = \"sim\"\nsymbols = [\"BTCUSDT\"]\nenabled = {enabled}\n\
             fast_period = 2\nslow_period = {slow}\norder_qty = \"0.001\"\n"
        )
    }

    #[test]
    fn names_added_removed_changed_and_unchanged_strategies() {
        let dir = tempfile::tempdir().unwrap();
        let main = "[[venues]]\nname = \"sim\"\nkind = \"sim\"\n";
        let old = load(
            dir.path(),
            main,
            &[
                ("a.toml", &sma("a", 5, true)),
                ("b.toml", &sma("b", 5, true)),
                ("c.toml", &sma("c", 5, true)),
                ("e.toml", &sma("e", 5, true)),
            ],
        );
        let new = load(
            dir.path(),
            &format!("{main}[risk]\nmax_open_orders = 3\n"),
            &[
                ("a.toml", &sma("a", 5, true)),
                ("c.toml", &sma("c", 9, true)),
                ("d.toml", &sma("d", 5, true)),
                ("e.toml", &sma("e", 5, false)),
            ],
        );
        let d = diff(&old, &new);
        let names = |v: &[&StrategyConfig]| v.iter().map(|s| s.instance.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&d.added), ["d"]);
        assert_eq!(d.removed, ["b", "e"], "a disabled strategy counts as removed");
        assert_eq!(names(&d.changed), ["c"]);
        assert_eq!(d.unchanged, ["a"]);
        assert!(d.risk);
        assert!(d.needs_restart.is_empty());
        let moved = load(
            dir.path(),
            "[[venues]]\nname = \"sim\"\nkind = \"sim\"\nseed = 9\n",
            &[("a.toml", &sma("a", 5, true))],
        );
        assert_eq!(diff(&new, &moved).needs_restart, ["venues"]);
    }
}
