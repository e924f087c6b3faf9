//! PLACEHOLDER-lblc: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Lblc;
impl Lblc {
    /// PLACEHOLDER
    pub fn new(dests: &DestList, _expiration: u32) -> Self { let _ = dests; Lblc }
}
impl Scheduler for Lblc {
    fn name(&self) -> &'static str { "lblc" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
