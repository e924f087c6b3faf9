//! One connection (or persistence template) as the table stores it (spec §4.2).
//!
//! An entry keeps only what the packet path needs: the tuple, the real server's port, a
//! 32-bit destination id (the address and forwarding method are the destination's), the
//! protocol state in one byte, the kernel's flag bits, and timer fields in ticks of
//! [`TICK_MS`](super::TICK_MS). An IPv4 entry is 60 bytes, an IPv6 one 96.

use super::addr::Addr;

/// Flag bits of an entry: the kernel's `IP_VS_CONN_F_*` values where the kernel has one.
pub mod flags {
    /// Forwarding method: the kernel's code (0 NAT, 1 local, 2 tunnel, 3 direct routing).
    pub const FWD_MASK: u16 = 0x0007;
    /// No reply direction is seen (every non-NAT connection; cleared by an output packet).
    pub const NOOUTPUT: u16 = 0x0080;
    /// Counted in the destination's `inactconns` (else in `activeconns`).
    pub const INACTIVE: u16 = 0x0100;
    /// A persistence template.
    pub const TEMPLATE: u16 = 0x1000;
    /// A one-packet connection (`--ops`, UDP): it dies with its packet.
    pub const ONE_PACKET: u16 = 0x2000;
    /// lb's own bit: the slot holds a live entry.
    pub(crate) const LIVE: u16 = 0x4000;
}

/// A template's state: the kernel's `IP_VS_CTPL_S_ASSURED`.
pub(crate) const TEMPLATE_ASSURED: u8 = 1;

/// No entry (an empty link, no controlling template).
pub(crate) const NIL: u32 = u32::MAX;

/// The lookup key of the primary index: (protocol, client, virtual service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key<A> {
    pub proto: u8,
    pub caddr: A,
    pub cport: u16,
    pub vaddr: A,
    pub vport: u16,
}

/// The lookup key of the reply index (NAT connections): (protocol, client, real server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplyKey<A> {
    pub proto: u8,
    pub caddr: A,
    pub cport: u16,
    pub daddr: A,
    pub dport: u16,
}

/// One slot of the table.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Entry<A> {
    pub caddr: A,
    pub vaddr: A,
    /// The real server's address when it has the connection's family (NAT, DR); zero for a
    /// tunnel to a server of the other family, whose address is only in its destination.
    pub daddr: A,
    pub cport: u16,
    pub vport: u16,
    pub dport: u16,
    /// IP protocol number; 0 for a firewall-mark template.
    pub proto: u8,
    /// Protocol state index (templates: 0 NONE, 1 ASSURED).
    pub state: u8,
    pub flags: u16,
    /// The destination's id ([`crate::DestId`]).
    pub dest: u32,
    /// Handle of the controlling template, or [`NIL`].
    pub control: u32,
    /// Connections this template controls.
    pub n_control: u32,
    /// Packets received from the client.
    pub in_pkts: u32,
    /// The current timeout, in ticks.
    pub timeout: u32,
    /// When the entry expires, in ticks.
    pub expires: u32,
    /// The wheel tick under which the entry is filed.
    pub filed: u32,
    /// Wheel links, or the free-list link of a free slot.
    pub prev: u32,
    pub next: u32,
}

impl<A: Addr> Entry<A> {
    /// True if the primary key is `k`.
    #[inline]
    pub fn has_key(&self, k: &Key<A>) -> bool {
        self.cport == k.cport
            && self.vport == k.vport
            && self.caddr == k.caddr
            && self.vaddr == k.vaddr
            && self.proto == k.proto
    }
    /// True if this NAT connection's reply tuple is `k`.
    #[inline]
    pub fn has_reply_key(&self, k: &ReplyKey<A>) -> bool {
        self.cport == k.cport
            && self.dport == k.dport
            && self.caddr == k.caddr
            && self.daddr == k.daddr
            && self.proto == k.proto
    }
    /// The forwarding method code.
    #[inline]
    pub fn fwd(&self) -> u16 {
        self.flags & flags::FWD_MASK
    }
    /// True for a NAT connection that is not a template: it has a reply index entry.
    #[inline]
    pub fn indexed_reply(&self) -> bool {
        self.fwd() == 0 && self.flags & flags::TEMPLATE == 0
    }
    /// True for a live slot.
    #[inline]
    pub fn live(&self) -> bool {
        self.flags & flags::LIVE != 0
    }
    /// True for a persistence template.
    #[inline]
    pub fn is_template(&self) -> bool {
        self.flags & flags::TEMPLATE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::super::addr::{V4, V6};
    use super::*;

    #[test]
    fn entry_sizes() {
        assert_eq!(std::mem::size_of::<Entry<V4>>(), 60);
        assert_eq!(std::mem::size_of::<Entry<V6>>(), 96);
    }
}
