//! PLACEHOLDER-dh: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Dh;
impl Dh {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Dh }
}
impl Scheduler for Dh {
    fn name(&self) -> &'static str { "dh" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
