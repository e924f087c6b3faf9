//! PLACEHOLDER-lblcr: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Lblcr;
impl Lblcr {
    /// PLACEHOLDER
    pub fn new(dests: &DestList, _expiration: u32) -> Self { let _ = dests; Lblcr }
}
impl Scheduler for Lblcr {
    fn name(&self) -> &'static str { "lblcr" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
