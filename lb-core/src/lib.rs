//! # lb-core: IPVS without I/O
//!
//! The data model of Linux's IP Virtual Server — virtual services, real servers, the fourteen
//! schedulers with the kernel's exact choices — as a deterministic library. lb-core does no I/O
//! and reads no clock: time is passed in as [`Time`]. It is what the `lb` director runs on,
//! and what a Rust program embeds to balance its own connections.
//!
//! Start with [`Ipvs`] (the table `ipvsadm` edits), [`Service::schedule`] and
//! [`Service::bind`]/[`Service::unbind`]; or drive one scheduler directly through
//! [`sched::new`] and a [`DestList`].
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod conn;
pub mod dest;
pub mod engine;
pub mod error;
pub mod estimator;
pub mod hash;
pub mod ipvs;
pub mod ipvsadm;
pub mod proto;
pub mod sched;
pub mod service;
pub mod stats;
pub mod time;

pub use dest::{
    ConnKind, DestConf, DestId, Destination, FwdMethod, TunnelConf, TunnelCsum, TunnelType,
};
pub use error::Error;
pub use ipvs::Ipvs;
pub use sched::{SchedFlags, SchedInput, SchedParams, Scheduler};
pub use service::{DestList, Family, Protocol, Service, ServiceConf, ServiceKey};
pub use stats::{Counters, Stats};
pub use time::Time;
