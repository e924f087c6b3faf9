//! PLACEHOLDER-twos: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Twos;
impl Twos {
    /// PLACEHOLDER
    pub fn new(dests: &DestList, _seed: u64) -> Self { let _ = dests; Twos }
}
impl Scheduler for Twos {
    fn name(&self) -> &'static str { "twos" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
