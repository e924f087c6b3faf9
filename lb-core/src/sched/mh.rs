//! PLACEHOLDER-mh: replaced by the real scheduler.
use super::{SchedInput, Scheduler};
use crate::service::DestList;

/// PLACEHOLDER
#[derive(Debug)]
pub struct Mh;
impl Mh {
    /// PLACEHOLDER
    pub fn new(dests: &DestList, _index: u8) -> Result<Self, crate::Error> { let _ = dests; Ok(Mh) }
}
impl Scheduler for Mh {
    fn name(&self) -> &'static str { "mh" }
    fn schedule(&mut self, _dests: &DestList, _input: &SchedInput) -> Option<usize> { None }
}
