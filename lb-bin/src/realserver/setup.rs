//! `lb realserver setup`: carries out a plan, idempotently, saying what it changes.

use anyhow::Result;

use super::daemon;
use super::plan::{Decap, Plan};
use super::state;
use super::system::{addresses_of, ip, link_up, read_sysctl, write_sysctl};

/// Prepares the real server; returns the lines to print, one per step.
pub fn run(plan: &Plan) -> Result<Vec<String>> {
    let mut said = Vec::new();
    let mut saved = state::load_live()?;
    // The device first: its settings exist only once it does.
    match (plan.decap, link_up(&plan.dev)) {
        (Decap::Userspace, None) => {
            ip(&["tuntap", "add", "dev", &plan.dev, "mode", "tun"])?;
            said.push(format!("created TUN device {}", plan.dev));
        }
        (Decap::Kernel, None) => {
            anyhow::bail!("the kernel's IPIP device {} does not exist", plan.dev)
        }
        (Decap::None, None) => anyhow::bail!("device {} does not exist", plan.dev),
        _ => {}
    }
    if plan.is_tunnel() && link_up(&plan.dev) != Some(true) {
        ip(&["link", "set", "dev", &plan.dev, "up"])?;
        said.push(format!("brought {} up", plan.dev));
    }
    for sysctl in &plan.sysctls {
        match read_sysctl(&sysctl.key) {
            Some(value) if value == sysctl.value => {
                said.push(format!("{}={} already", sysctl.key, sysctl.value));
            }
            before => {
                write_sysctl(&sysctl.key, sysctl.value)?;
                let was = match before {
                    Some(before) => {
                        saved.save(&sysctl.key, before);
                        format!(" (was {before})")
                    }
                    None => String::new(),
                };
                said.push(format!("set {}={}{was}", sysctl.key, sysctl.value));
            }
        }
    }
    let cidr = format!("{}/{}", plan.vip, plan.prefix_len());
    if addresses_of(&plan.dev).iter().any(|a| a.addr == plan.vip) {
        said.push(format!("{} already on {}", plan.vip, plan.dev));
    } else {
        if plan.vip.is_ipv4() {
            ip(&["addr", "add", &cidr, "dev", &plan.dev])?;
        } else {
            ip(&["-6", "addr", "add", &cidr, "dev", &plan.dev, "nodad"])?;
        }
        said.push(format!("added {cidr} to {}", plan.dev));
    }
    saved.add_vip(plan.mode.name(), plan.vip, &plan.dev);
    state::store(&saved)?;
    if plan.decap == Decap::Userspace {
        match daemon::running(&plan.dev) {
            Some(pid) => said.push(format!(
                "decapsulator for {} already running (pid {pid})",
                plan.dev
            )),
            None => {
                let pid = daemon::start(&plan.dev)?;
                said.push(format!(
                    "started decapsulator for {} (pid {pid}, pid file {})",
                    plan.dev,
                    daemon::pid_file(&plan.dev)?.display()
                ));
            }
        }
    }
    Ok(said)
}
