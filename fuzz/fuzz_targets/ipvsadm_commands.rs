//! Any text as a script of ipvsadm command lines: parsing, applying, scheduling, listing and
//! saving never panic, and what `-S` prints restores to a table that saves the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lb_core::ipvsadm::{self, ListContext, ListFormat, NumericOnly};
use lb_core::{ConnKind, Ipvs, Protocol, SchedInput, ServiceKey, Time};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut ipvs = Ipvs::new();
    for line in text.lines().take(64) {
        if let Ok(Some(cmd)) = ipvsadm::parse_line(line, &NumericOnly) {
            let _ = ipvsadm::apply(&mut ipvs, &cmd);
        }
    }
    let keys: Vec<ServiceKey> = ipvs.services().iter().map(|s| *s.key()).collect();
    for (i, key) in keys.iter().enumerate() {
        let svc = ipvs.service_mut(key).expect("listed service");
        let vaddr = match key {
            ServiceKey::Addr { addr, .. } => *addr,
            ServiceKey::Fwmark { .. } => "0.0.0.0".parse().unwrap(),
        };
        let input = SchedInput {
            proto: Protocol::Tcp,
            caddr: vaddr,
            cport: i as u16,
            vaddr,
            vport: key.port(),
            flags: Default::default(),
            now: Time::from_secs(i as u64),
        };
        if let Some(pos) = svc.schedule(&input) {
            svc.bind(pos, ConnKind::Active);
        }
    }
    let format = ListFormat { numeric: true, ..ListFormat::default() };
    let _ = ipvsadm::list_all(&ipvs, &format, &ListContext::default());
    let saved = ipvsadm::save(&ipvs, true, &NumericOnly);
    let mut again = Ipvs::new();
    let _ = ipvsadm::restore(&mut again, &saved, &NumericOnly);
    assert_eq!(ipvsadm::save(&again, true, &NumericOnly), saved);
});
