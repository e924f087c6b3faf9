//! `ipvsadm -S`: the table as the commands that rebuild it (`-R` input).
//!
//! One `-A` line per service and one `-a` line per real server, in listing order. Thresholds
//! (`-x`/`-y`) are not written, so a save/restore cycle clears them, as with ipvsadm.

use super::list::{service_entry, Fmt, ListContext};
use super::names::Resolver;
use super::sort::listing_order;
use crate::ipvs::Ipvs;

/// `ipvsadm -S` (`numeric` = `-n`): every service as `-A …` and every real server as `-a …`.
/// Without `numeric`, hosts and ports are named through `names`.
pub fn save(ipvs: &Ipvs, numeric: bool, names: &dyn Resolver) -> String {
    let f = Fmt {
        numeric,
        rule: true,
        ..Fmt::default()
    };
    let ctx = ListContext {
        names,
        ..ListContext::default()
    };
    let mut out = String::new();
    for svc in listing_order(ipvs.services(), false) {
        service_entry(&mut out, svc, &f, &ctx);
    }
    out
}
