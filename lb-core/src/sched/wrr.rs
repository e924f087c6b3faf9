//! PLACEHOLDER-wrr: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Wrr;
impl Wrr {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Wrr }
}
impl Scheduler for Wrr {
    fn name(&self) -> &'static str { "wrr" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
