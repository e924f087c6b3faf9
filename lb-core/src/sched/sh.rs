//! PLACEHOLDER-sh: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Sh;
impl Sh {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Sh }
}
impl Scheduler for Sh {
    fn name(&self) -> &'static str { "sh" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
