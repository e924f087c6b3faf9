//! `lb realserver teardown`: undoes `setup` for one VIP, saying what it changes.

use anyhow::Result;

use super::daemon;
use super::plan::{Decap, Plan};
use super::state;
use super::system::{addresses_of, ip, link_up, write_sysctl};

/// Undoes the plan for its VIP: removes the VIP; when the tunnel device holds no other
/// global address, stops its decapsulator and deletes it (a TUN device) or takes it down
/// (`tunl0`); when no VIP set up by `setup` remains, restores the settings `setup` changed.
/// Returns the lines to print.
pub fn run(plan: &Plan) -> Result<Vec<String>> {
    let mut said = Vec::new();
    // Read before the VIP goes: it counts as live until then.
    let mut saved = state::load_live()?;
    let present = addresses_of(&plan.dev);
    if let Some(address) = present.iter().find(|a| a.addr == plan.vip) {
        let cidr = format!("{}/{}", address.addr, address.prefix_len);
        ip(&["addr", "del", &cidr, "dev", &plan.dev])?;
        said.push(format!("removed {cidr} from {}", plan.dev));
    } else {
        said.push(format!("{} not on {}", plan.vip, plan.dev));
    }
    let others: Vec<String> = addresses_of(&plan.dev)
        .iter()
        .filter(|a| a.scope == "global")
        .map(|a| a.addr.to_string())
        .collect();
    if plan.is_tunnel() && !others.is_empty() {
        said.push(format!("kept {}: it holds {}", plan.dev, others.join(", ")));
    } else {
        match plan.decap {
            Decap::Userspace => {
                if let Some(pid) = daemon::stop(&plan.dev)? {
                    said.push(format!("stopped decapsulator for {} (pid {pid})", plan.dev));
                }
                daemon::remove_log(&plan.dev);
                if link_up(&plan.dev).is_some() {
                    ip(&["tuntap", "del", "dev", &plan.dev, "mode", "tun"])?;
                    said.push(format!("deleted TUN device {}", plan.dev));
                }
            }
            Decap::Kernel => {
                if link_up(&plan.dev) == Some(true) {
                    ip(&["link", "set", "dev", &plan.dev, "down"])?;
                    said.push(format!("brought {} down", plan.dev));
                }
            }
            Decap::None => {}
        }
    }
    saved.remove_vip(plan.mode.name(), plan.vip, &plan.dev);
    if saved.vips.is_empty() {
        for (key, value) in &saved.saved {
            // A setting of a device deleted above has gone with it.
            if std::path::Path::new(&key.path()).exists() {
                write_sysctl(key, *value)?;
                said.push(format!("restored {key}={value}"));
            }
        }
        saved.saved.clear();
    } else {
        let remaining: Vec<String> = saved.vips.iter().map(|(_, a, _)| a.to_string()).collect();
        said.push(format!(
            "kept settings for the other VIPs ({})",
            remaining.join(", ")
        ));
    }
    state::store(&saved)?;
    Ok(said)
}
