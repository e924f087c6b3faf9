//! ARP for IPv4 over Ethernet (RFC 826).

use std::net::Ipv4Addr;

use super::error::{Error, Result};
use super::ethernet::{EtherType, EthernetAddress};
use super::field::{read_array, read_u16, write_u16};

/// An ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpOperation(pub u16);

impl ArpOperation {
    /// Who has the target protocol address?
    pub const REQUEST: ArpOperation = ArpOperation(1);
    /// The sender has the sender protocol address.
    pub const REPLY: ArpOperation = ArpOperation(2);
}

/// The ARP hardware type of Ethernet.
pub const HARDWARE_ETHERNET: u16 = 1;

/// The length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

mod field {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: usize = 8;
    pub const SPA: usize = 14;
    pub const THA: usize = 18;
    pub const TPA: usize = 24;
}

/// A view of an ARP packet laid out for Ethernet and IPv4 (the address fields sit at the
/// offsets of 6-byte hardware and 4-byte protocol addresses; [`ArpRepr::parse`] checks that
/// the packet says so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the 28 bytes of an Ethernet/IPv4 ARP packet.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (1 for Ethernet).
    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE)
    }

    /// Protocol type (0x0800 for IPv4).
    pub fn protocol_type(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::PTYPE))
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation(read_u16(self.buffer.as_ref(), field::OPER))
    }

    /// Sender hardware address.
    pub fn sender_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::SHA))
    }

    /// Sender protocol address.
    pub fn sender_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::SPA))
    }

    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::THA))
    }

    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::TPA))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    pub fn set_hardware_type(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::HTYPE, value);
    }

    /// Sets the protocol type.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE, value.0);
    }

    /// Sets the hardware address length.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, value: ArpOperation) {
        write_u16(self.buffer.as_mut(), field::OPER, value.0);
    }

    /// Sets the sender hardware address.
    pub fn set_sender_hardware_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SHA..field::SHA + 6].copy_from_slice(&addr.0);
    }

    /// Sets the sender protocol address.
    pub fn set_sender_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA..field::SPA + 4].copy_from_slice(&addr.octets());
    }

    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::THA..field::THA + 6].copy_from_slice(&addr.0);
    }

    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA..field::TPA + 4].copy_from_slice(&addr.octets());
    }
}

/// An Ethernet/IPv4 ARP packet, as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Operation.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sender_hardware_addr: EthernetAddress,
    /// Sender protocol address.
    pub sender_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Reads a packet; [`Error::Unsupported`] unless it is ARP for IPv4 over Ethernet.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.hardware_type() != HARDWARE_ETHERNET
            || packet.protocol_type() != EtherType::IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(ArpRepr {
            operation: packet.operation(),
            sender_hardware_addr: packet.sender_hardware_addr(),
            sender_protocol_addr: packet.sender_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// The packet length, 28.
    pub fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the packet; [`Error::Truncated`] if the buffer is shorter than 28 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) -> Result<()> {
        packet.check_len()?;
        packet.set_hardware_type(HARDWARE_ETHERNET);
        packet.set_protocol_type(EtherType::IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_sender_hardware_addr(self.sender_hardware_addr);
        packet.set_sender_protocol_addr(self.sender_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Who has 198.18.0.10? Tell 198.18.0.1 (02:00:00:00:00:01).
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 198,
        18, 0, 1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 0, 10,
    ];

    fn request_repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::REQUEST,
            sender_hardware_addr: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            sender_protocol_addr: Ipv4Addr::new(198, 18, 0, 1),
            target_hardware_addr: EthernetAddress::UNSPECIFIED,
            target_protocol_addr: Ipv4Addr::new(198, 18, 0, 10),
        }
    }

    #[test]
    fn parse_request() {
        let p = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), EtherType::IPV4);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.operation(), ArpOperation::REQUEST);
        assert_eq!(ArpRepr::parse(&p).unwrap(), request_repr());
    }

    #[test]
    fn emit_reply_is_byte_exact() {
        let reply = ArpRepr {
            operation: ArpOperation::REPLY,
            sender_hardware_addr: EthernetAddress([0x02, 0, 0, 0, 0, 0x0A]),
            sender_protocol_addr: Ipv4Addr::new(198, 18, 0, 10),
            target_hardware_addr: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            target_protocol_addr: Ipv4Addr::new(198, 18, 0, 1),
        };
        let mut buf = [0xEEu8; 28];
        reply
            .emit(&mut ArpPacket::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(
            buf,
            [
                0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0, 0, 0, 0, 0x0A, 198, 18, 0,
                10, 0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1
            ]
        );
        let mut buf = [0u8; 28];
        request_repr()
            .emit(&mut ArpPacket::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(buf, REQUEST);
    }

    #[test]
    fn rejects_short_and_foreign() {
        for len in 0..PACKET_LEN {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..len]).err(),
                Some(Error::Truncated)
            );
        }
        let mut buf = [0u8; 27];
        assert_eq!(
            request_repr().emit(&mut ArpPacket::new_unchecked(&mut buf[..])),
            Err(Error::Truncated)
        );
        for (at, value) in [(1, 6u8), (2, 0x86), (4, 8), (5, 16)] {
            let mut other = REQUEST;
            other[at] = value;
            let p = ArpPacket::new_checked(&other[..]).unwrap();
            assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
        }
    }
}
