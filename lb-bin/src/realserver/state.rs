//! What `setup` changed, so that the last `teardown` can put it back.
//!
//! One file per network namespace, `/run/lb/realserver-net<ID>.state`: the value each
//! setting had before the first `setup` changed it (`sysctl CONF NAME VALUE`), and the VIPs
//! set up since (`vip MODE ADDR DEV`). Written by `setup`, read and rewritten by
//! `teardown`; the settings are restored, and the file removed, when the last VIP is torn
//! down. Interface names hold no whitespace (the kernel refuses it), so the lines split on
//! it.

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::daemon::RUN_DIR;
use super::plan::SysctlKey;
use super::system::{addresses_of, netns_id};

/// The saved state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Each changed setting and the value it had before.
    pub saved: Vec<(SysctlKey, u32)>,
    /// The VIPs set up: mode name, address, device.
    pub vips: Vec<(String, IpAddr, String)>,
}

impl State {
    /// Reads the text of a state file; lines it does not understand are skipped.
    pub fn parse(text: &str) -> State {
        let mut state = State::default();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["sysctl", conf, name, value] => {
                    if let Ok(value) = value.parse() {
                        state.saved.push((SysctlKey::new(conf, name), value));
                    }
                }
                ["vip", mode, addr, dev] => {
                    if let Ok(addr) = addr.parse() {
                        state.vips.push((mode.to_string(), addr, dev.to_string()));
                    }
                }
                _ => {}
            }
        }
        state
    }

    /// The text of the state file.
    pub fn render(&self) -> String {
        let mut text = String::from("# lb realserver: settings to restore at the last teardown\n");
        for (key, value) in &self.saved {
            text.push_str(&format!("sysctl {} {} {value}\n", key.conf, key.name));
        }
        for (mode, addr, dev) in &self.vips {
            text.push_str(&format!("vip {mode} {addr} {dev}\n"));
        }
        text
    }

    /// Records the value a setting had before, unless an earlier one is recorded.
    pub fn save(&mut self, key: &SysctlKey, before: u32) {
        if !self.saved.iter().any(|(k, _)| k == key) {
            self.saved.push((key.clone(), before));
        }
    }

    /// Records a VIP set up, once.
    pub fn add_vip(&mut self, mode: &str, addr: IpAddr, dev: &str) {
        let entry = (mode.to_string(), addr, dev.to_string());
        if !self.vips.contains(&entry) {
            self.vips.push(entry);
        }
    }

    /// Forgets a VIP.
    pub fn remove_vip(&mut self, mode: &str, addr: IpAddr, dev: &str) {
        self.vips
            .retain(|(m, a, d)| !(m == mode && *a == addr && d == dev));
    }
}

/// The state file of this network namespace.
pub fn path() -> Result<PathBuf> {
    Ok(PathBuf::from(format!(
        "{RUN_DIR}/realserver-net{}.state",
        netns_id()?
    )))
}

/// Loads the state (empty if there is no file).
pub fn load() -> Result<State> {
    match fs::read_to_string(path()?) {
        Ok(text) => Ok(State::parse(&text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(err) => Err(err).context("cannot read the realserver state file"),
    }
}

/// Loads the state, forgetting VIPs no longer on their devices; when none is left, the
/// saved settings are forgotten too (they belong to an earlier namespace of the same inode,
/// or to a setup undone by hand), and the current values count as the ones to restore.
pub fn load_live() -> Result<State> {
    let mut state = load()?;
    state
        .vips
        .retain(|(_, addr, dev)| addresses_of(dev).iter().any(|a| a.addr == *addr));
    if state.vips.is_empty() {
        state = State::default();
    }
    Ok(state)
}

/// Stores the state, or removes the file when it holds nothing.
pub fn store(state: &State) -> Result<()> {
    let path = path()?;
    if state.saved.is_empty() && state.vips.is_empty() {
        match fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => return Ok(()),
        }
    }
    fs::create_dir_all(RUN_DIR).with_context(|| format!("cannot create {RUN_DIR}"))?;
    fs::write(&path, state.render()).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bookkeeping() {
        let mut state = State::default();
        state.save(&SysctlKey::new("all", "arp_ignore"), 0);
        state.save(&SysctlKey::new("all", "arp_ignore"), 1);
        state.save(&SysctlKey::new("eth0.100", "rp_filter"), 2);
        state.add_vip("dr", "198.18.0.100".parse().unwrap(), "lo");
        state.add_vip("dr", "198.18.0.100".parse().unwrap(), "lo");
        state.add_vip("tun", "2001:db8::64".parse().unwrap(), "lbtun0");
        let text = state.render();
        assert_eq!(
            text,
            "# lb realserver: settings to restore at the last teardown\n\
             sysctl all arp_ignore 0\n\
             sysctl eth0.100 rp_filter 2\n\
             vip dr 198.18.0.100 lo\n\
             vip tun 2001:db8::64 lbtun0\n"
        );
        assert_eq!(State::parse(&text), state);
        state.remove_vip("dr", "198.18.0.100".parse().unwrap(), "lo");
        assert_eq!(state.vips.len(), 1);
        assert_eq!(
            State::parse("junk\nsysctl all x notanumber\nvip dr nope lo\n"),
            State::default()
        );
    }
}
