//! PLACEHOLDER-nq: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Nq;
impl Nq {
    /// PLACEHOLDER
    pub fn new(dests: &DestList) -> Self { let _ = dests; Nq }
}
impl Scheduler for Nq {
    fn name(&self) -> &'static str { "nq" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
