//! PLACEHOLDER-fo: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Fo;
impl Fo {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Fo }
}
impl Scheduler for Fo {
    fn name(&self) -> &'static str { "fo" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
