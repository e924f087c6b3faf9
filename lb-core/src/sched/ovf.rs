//! PLACEHOLDER-ovf: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Ovf;
impl Ovf {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Ovf }
}
impl Scheduler for Ovf {
    fn name(&self) -> &'static str { "ovf" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
