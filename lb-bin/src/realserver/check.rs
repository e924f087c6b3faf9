//! `lb realserver check`'s reasoning: what is wrong, given the plan and what was observed.
//! Pure; the observing is in [`super::system`].

use std::fmt;
use std::net::IpAddr;

use super::plan::{Decap, Plan, SysctlKey};

/// What was found on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The VIP's device: `None` if it does not exist, else whether it is up.
    pub dev_up: Option<bool>,
    /// Whether the VIP is an address of the device.
    pub vip_present: bool,
    /// The value of each of the plan's settings, in the plan's order (`None`: unreadable).
    pub sysctls: Vec<Option<u32>>,
    /// Whether a decapsulator serves the device.
    pub decap_running: bool,
}

/// One thing that is not as the plan wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The tunnel device does not exist.
    DeviceMissing(String),
    /// The tunnel device is down.
    DeviceDown(String),
    /// The VIP is not on its device.
    VipMissing {
        /// The VIP.
        vip: IpAddr,
        /// The device that should hold it.
        dev: String,
    },
    /// A setting has another value (or could not be read).
    Sysctl {
        /// Which setting.
        key: SysctlKey,
        /// What it is (`None`: unreadable).
        found: Option<u32>,
        /// What it should be.
        wanted: u32,
    },
    /// No decapsulator serves the TUN device.
    DecapNotRunning(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::DeviceMissing(dev) => write!(f, "tunnel device {dev} missing"),
            Problem::DeviceDown(dev) => write!(f, "tunnel device {dev} down"),
            Problem::VipMissing { vip, dev } => write!(f, "VIP {vip} missing on {dev}"),
            Problem::Sysctl {
                key,
                found: Some(found),
                wanted,
            } => write!(f, "{key} is {found}, not {wanted}"),
            Problem::Sysctl {
                key,
                found: None,
                wanted,
            } => write!(f, "{key} unreadable, should be {wanted}"),
            Problem::DecapNotRunning(dev) => write!(f, "decapsulator for {dev} not running"),
        }
    }
}

/// Everything that is wrong, in a fixed order: the device, the VIP, the settings in the
/// plan's order, the decapsulator. Empty when the real server is ready.
pub fn problems(plan: &Plan, observed: &Observed) -> Vec<Problem> {
    let mut found = Vec::new();
    if plan.is_tunnel() {
        match observed.dev_up {
            None => found.push(Problem::DeviceMissing(plan.dev.clone())),
            Some(false) => found.push(Problem::DeviceDown(plan.dev.clone())),
            Some(true) => {}
        }
    }
    if !observed.vip_present {
        found.push(Problem::VipMissing {
            vip: plan.vip,
            dev: plan.dev.clone(),
        });
    }
    for (i, sysctl) in plan.sysctls.iter().enumerate() {
        let value = observed.sysctls.get(i).copied().flatten();
        if value != Some(sysctl.value) {
            found.push(Problem::Sysctl {
                key: sysctl.key.clone(),
                found: value,
                wanted: sysctl.value,
            });
        }
    }
    if plan.decap == Decap::Userspace && !observed.decap_running {
        found.push(Problem::DecapNotRunning(plan.dev.clone()));
    }
    found
}

/// The line `check` prints when nothing is wrong.
pub fn ok_line(plan: &Plan) -> String {
    let how = match plan.decap {
        Decap::None => "",
        Decap::Kernel => ", kernel ipip decapsulation",
        Decap::Userspace => ", userspace decapsulator running",
    };
    format!(
        "ok: {} real server, VIP {}/{} on {}{how}",
        plan.mode.name(),
        plan.vip,
        plan.prefix_len(),
        plan.dev
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realserver::args::{Mode, Options};
    use crate::realserver::plan::{plan, HostFacts};

    fn tun_plan() -> Plan {
        let options = Options {
            mode: Mode::Tun,
            vip: "198.18.0.100".parse().unwrap(),
            dev: None,
        };
        let facts = HostFacts {
            kernel_ipip: false,
            ipv4_interfaces: vec!["veth1".into()],
        };
        plan(&options, &facts)
    }

    fn lines(plan: &Plan, observed: &Observed) -> Vec<String> {
        problems(plan, observed)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn ready_tun_server_has_no_problems() {
        let plan = tun_plan();
        let observed = Observed {
            dev_up: Some(true),
            vip_present: true,
            sysctls: vec![
                Some(1),
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                Some(2),
                Some(0),
                Some(0),
                Some(0),
            ],
            decap_running: true,
        };
        assert_eq!(lines(&plan, &observed), Vec::<String>::new());
        assert_eq!(
            ok_line(&plan),
            "ok: tun real server, VIP 198.18.0.100/32 on lbtun0, userspace decapsulator running"
        );
    }

    #[test]
    fn untouched_tun_server_lists_everything() {
        let plan = tun_plan();
        let observed = Observed {
            dev_up: None,
            vip_present: false,
            sysctls: vec![
                Some(0),
                Some(0),
                None,
                Some(0),
                Some(0),
                None,
                Some(2),
                None,
                Some(1),
            ],
            decap_running: false,
        };
        assert_eq!(
            lines(&plan, &observed),
            [
                "tunnel device lbtun0 missing",
                "VIP 198.18.0.100 missing on lbtun0",
                "net.ipv4.conf.all.arp_ignore is 0, not 1",
                "net.ipv4.conf.lo.arp_ignore is 0, not 1",
                "net.ipv4.conf.lbtun0.arp_ignore unreadable, should be 1",
                "net.ipv4.conf.all.arp_announce is 0, not 2",
                "net.ipv4.conf.lo.arp_announce is 0, not 2",
                "net.ipv4.conf.lbtun0.arp_announce unreadable, should be 2",
                "net.ipv4.conf.all.rp_filter is 2, not 0",
                "net.ipv4.conf.lbtun0.rp_filter unreadable, should be 0",
                "net.ipv4.conf.veth1.rp_filter is 1, not 0",
                "decapsulator for lbtun0 not running",
            ]
        );
    }

    #[test]
    fn down_device_and_stopped_decapsulator() {
        let plan = tun_plan();
        let observed = Observed {
            dev_up: Some(false),
            vip_present: true,
            sysctls: vec![
                Some(1),
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                Some(2),
                Some(0),
                Some(0),
                Some(0),
            ],
            decap_running: false,
        };
        assert_eq!(
            lines(&plan, &observed),
            [
                "tunnel device lbtun0 down",
                "decapsulator for lbtun0 not running"
            ]
        );
    }

    #[test]
    fn dr_server() {
        let options = Options {
            mode: Mode::Dr,
            vip: "198.18.0.100".parse().unwrap(),
            dev: None,
        };
        let plan = plan(&options, &HostFacts::default());
        // lo being "down" or a decapsulator missing mean nothing to DR; a stricter
        // arp_ignore than 1 is still reported, since setup writes exactly 1.
        let observed = Observed {
            dev_up: Some(false),
            vip_present: false,
            sysctls: vec![Some(2), Some(1), Some(2), Some(2)],
            decap_running: false,
        };
        assert_eq!(
            lines(&plan, &observed),
            [
                "VIP 198.18.0.100 missing on lo",
                "net.ipv4.conf.all.arp_ignore is 2, not 1",
            ]
        );
        assert_eq!(
            ok_line(&plan),
            "ok: dr real server, VIP 198.18.0.100/32 on lo"
        );
    }

    #[test]
    fn missing_observations_count_as_unreadable() {
        let plan = tun_plan();
        let observed = Observed {
            dev_up: Some(true),
            vip_present: true,
            sysctls: vec![Some(1)],
            decap_running: true,
        };
        assert_eq!(problems(&plan, &observed).len(), 8);
    }
}
