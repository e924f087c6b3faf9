//! PLACEHOLDER-lc: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Lc;
impl Lc {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Lc }
}
impl Scheduler for Lc {
    fn name(&self) -> &'static str { "lc" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
