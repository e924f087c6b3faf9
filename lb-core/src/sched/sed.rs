//! PLACEHOLDER-sed: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Sed;
impl Sed {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Sed }
}
impl Scheduler for Sed {
    fn name(&self) -> &'static str { "sed" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
