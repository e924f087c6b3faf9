//! PLACEHOLDER-wlc: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Wlc;
impl Wlc {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Wlc }
}
impl Scheduler for Wlc {
    fn name(&self) -> &'static str { "wlc" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
