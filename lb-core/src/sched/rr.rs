//! PLACEHOLDER-rr: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Rr;
impl Rr {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Rr }
}
impl Scheduler for Rr {
    fn name(&self) -> &'static str { "rr" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
