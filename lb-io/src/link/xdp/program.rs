//! The XDP programs, assembled here instruction by instruction (no compiler needed).
//!
//! [`redirect_to_xsk_map`] ([`XdpSteering::Everything`](super::XdpSteering)):
//!
//! ```text
//! r2 = *(u32 *)(r1 + 16)          ; ctx->rx_queue_index
//! r1 = map_fd(xsks)               ; the XSKMAP (two instruction slots)
//! r3 = XDP_PASS                   ; what to do when the queue has no socket
//! call bpf_redirect_map           ; r0 = XDP_REDIRECT, or XDP_PASS
//! exit                            ; return r0
//! ```
//!
//! Every frame of a queue with a socket in the map goes to that socket; the frames of the
//! other queues (and of a queue whose socket is gone) go to the kernel as if no program
//! were attached.
//!
//! [`redirect_not_for_the_host`] ([`XdpSteering::NotForTheHost`](super::XdpSteering))
//! leaves to the kernel what the host itself must see, and redirects only the rest:
//!
//! ```text
//! data = ctx->data; data_end = ctx->data_end; queue = ctx->rx_queue_index
//! if data + 14 > data_end                      → XDP_PASS   (runt)
//! switch ethertype (bytes 12..14)
//!   0x0800: if data + 34 > data_end            → XDP_PASS   (short IPv4 header)
//!           if daddr[0] >= 224                 → XDP_PASS   (multicast, broadcast, class E)
//!           if lookup(&local4, &daddr)         → XDP_PASS   (one of the host's addresses)
//!   0x86dd: if data + 54 > data_end            → XDP_PASS   (short IPv6 header)
//!           if daddr[0] == 0xff                → XDP_PASS   (multicast: neighbour discovery)
//!           if lookup(&local6, &daddr)         → XDP_PASS   (one of the host's addresses)
//!   other (ARP, VLAN-tagged, …)                → XDP_PASS
//! return bpf_redirect_map(&xsks, queue, XDP_PASS)
//! ```
//!
//! The key of each lookup is the destination address where it lies in the packet (the
//! verifier accepts a packet pointer as a map key once the bounds check above it proved
//! the whole key lies before `data_end`). Every packet access sits behind such a check.

/// An eBPF register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reg(u8);

impl Reg {
    /// The first argument: the context (`struct xdp_md *`) when the program starts.
    pub(super) const R1: Reg = Reg(1);
    /// The second argument.
    pub(super) const R2: Reg = Reg(2);
    /// The return value of a call, and of the program.
    pub(super) const R0: Reg = Reg(0);
    /// The third argument.
    pub(super) const R3: Reg = Reg(3);
    /// A scratch register (clobbered by calls).
    pub(super) const R4: Reg = Reg(4);
    /// A register calls keep.
    pub(super) const R6: Reg = Reg(6);
}

// Opcode parts (include/uapi/linux/bpf_common.h, bpf.h).
const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_H: u8 = 0x08;
const BPF_B: u8 = 0x10;
const BPF_DW: u8 = 0x18;
const BPF_IMM: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;
const BPF_ADD: u8 = 0x00;
const BPF_MOV: u8 = 0xb0;
const BPF_JA: u8 = 0x00;
const BPF_JEQ: u8 = 0x10;
const BPF_JGT: u8 = 0x20;
const BPF_JGE: u8 = 0x30;
const BPF_JNE: u8 = 0x50;
const BPF_CALL: u8 = 0x80;
const BPF_EXIT: u8 = 0x90;
/// The source register of a 64-bit immediate load that names a map by descriptor.
const BPF_PSEUDO_MAP_FD: u8 = 1;

/// `bpf_map_lookup_elem` (helper 1).
pub(super) const BPF_FUNC_MAP_LOOKUP_ELEM: i32 = 1;
/// `bpf_redirect_map` (helper 51).
pub(super) const BPF_FUNC_REDIRECT_MAP: i32 = 51;
/// The XDP verdict that hands the frame to the kernel.
pub(super) const XDP_PASS: i32 = 2;
/// Where `data` lies in `struct xdp_md`.
const XDP_MD_DATA: i16 = 0;
/// Where `data_end` lies in `struct xdp_md`.
const XDP_MD_DATA_END: i16 = 4;
/// Where `rx_queue_index` lies in `struct xdp_md`.
const XDP_MD_RX_QUEUE_INDEX: i16 = 16;

/// The Ethernet header's length, and where its EtherType lies.
const ETH_HLEN: i16 = 14;
const ETH_TYPE_AT: i16 = 12;
/// Where the destination address lies in an IPv4 header after an Ethernet header, and
/// how long the header is at least.
const IPV4_DADDR_AT: i16 = ETH_HLEN + 16;
const IPV4_END: i32 = ETH_HLEN as i32 + 20;
/// Where the destination address lies in an IPv6 header after an Ethernet header, and
/// how long the header is.
const IPV6_DADDR_AT: i16 = ETH_HLEN + 24;
const IPV6_END: i32 = ETH_HLEN as i32 + 40;

/// An EtherType as a 16-bit load from the packet reads it on this machine.
fn ethertype_as_loaded(ethertype: u16) -> i32 {
    i32::from(u16::from_ne_bytes(ethertype.to_be_bytes()))
}

/// One eBPF instruction (`struct bpf_insn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Insn {
    code: u8,
    dst: Reg,
    src: u8,
    off: i16,
    imm: i32,
}

impl Insn {
    /// `dst = *(u32 *)(src + off)`.
    pub(super) fn load_u32(dst: Reg, src: Reg, off: i16) -> Insn {
        Insn {
            code: BPF_LDX | BPF_MEM | BPF_W,
            dst,
            src: src.0,
            off,
            imm: 0,
        }
    }

    /// `dst = <the map of descriptor fd>`: a 64-bit immediate load, two slots.
    pub(super) fn load_map_fd(dst: Reg, fd: i32) -> [Insn; 2] {
        [
            Insn {
                code: BPF_LD | BPF_DW | BPF_IMM,
                dst,
                src: BPF_PSEUDO_MAP_FD,
                off: 0,
                imm: fd,
            },
            // The upper half of the immediate: 0.
            Insn {
                code: 0,
                dst: Reg(0),
                src: 0,
                off: 0,
                imm: 0,
            },
        ]
    }

    /// `dst = imm` (64-bit move, sign-extended).
    pub(super) fn mov64_imm(dst: Reg, imm: i32) -> Insn {
        Insn {
            code: BPF_ALU64 | BPF_MOV | BPF_K,
            dst,
            src: 0,
            off: 0,
            imm,
        }
    }

    /// Calls helper `helper` (arguments in r1..r5, result in r0).
    pub(super) fn call(helper: i32) -> Insn {
        Insn {
            code: BPF_JMP | BPF_CALL,
            dst: Reg(0),
            src: 0,
            off: 0,
            imm: helper,
        }
    }

    /// Returns r0.
    pub(super) fn exit() -> Insn {
        Insn {
            code: BPF_JMP | BPF_EXIT,
            dst: Reg(0),
            src: 0,
            off: 0,
            imm: 0,
        }
    }

    /// `dst = *(u16 *)(src + off)`.
    pub(super) fn load_u16(dst: Reg, src: Reg, off: i16) -> Insn {
        Insn {
            code: BPF_LDX | BPF_MEM | BPF_H,
            dst,
            src: src.0,
            off,
            imm: 0,
        }
    }

    /// `dst = *(u8 *)(src + off)`.
    pub(super) fn load_u8(dst: Reg, src: Reg, off: i16) -> Insn {
        Insn {
            code: BPF_LDX | BPF_MEM | BPF_B,
            dst,
            src: src.0,
            off,
            imm: 0,
        }
    }

    /// `dst = src` (64 bits).
    pub(super) fn mov64_reg(dst: Reg, src: Reg) -> Insn {
        Insn {
            code: BPF_ALU64 | BPF_MOV | BPF_X,
            dst,
            src: src.0,
            off: 0,
            imm: 0,
        }
    }

    /// `dst += imm` (64 bits).
    pub(super) fn add64_imm(dst: Reg, imm: i32) -> Insn {
        Insn {
            code: BPF_ALU64 | BPF_ADD | BPF_K,
            dst,
            src: 0,
            off: 0,
            imm,
        }
    }

    /// `if dst > src goto +off` (unsigned).
    pub(super) fn jgt_reg(dst: Reg, src: Reg, off: i16) -> Insn {
        Insn {
            code: BPF_JMP | BPF_JGT | BPF_X,
            dst,
            src: src.0,
            off,
            imm: 0,
        }
    }

    /// `if dst == imm goto +off`.
    pub(super) fn jeq_imm(dst: Reg, imm: i32, off: i16) -> Insn {
        Insn {
            code: BPF_JMP | BPF_JEQ | BPF_K,
            dst,
            src: 0,
            off,
            imm,
        }
    }

    /// `if dst != imm goto +off`.
    pub(super) fn jne_imm(dst: Reg, imm: i32, off: i16) -> Insn {
        Insn {
            code: BPF_JMP | BPF_JNE | BPF_K,
            dst,
            src: 0,
            off,
            imm,
        }
    }

    /// `if dst >= imm goto +off` (unsigned).
    pub(super) fn jge_imm(dst: Reg, imm: i32, off: i16) -> Insn {
        Insn {
            code: BPF_JMP | BPF_JGE | BPF_K,
            dst,
            src: 0,
            off,
            imm,
        }
    }

    /// `goto +off`.
    pub(super) fn ja(off: i16) -> Insn {
        Insn {
            code: BPF_JMP | BPF_JA,
            dst: Reg(0),
            src: 0,
            off,
            imm: 0,
        }
    }

    /// The instruction's 8 bytes as the kernel reads them: opcode, registers (destination
    /// in the low 4 bits on a little-endian machine, the high 4 on a big-endian one, as
    /// the C bit-fields fall), offset and immediate in the machine's byte order.
    pub(super) fn encode(&self) -> [u8; 8] {
        let regs = if cfg!(target_endian = "little") {
            (self.src << 4) | (self.dst.0 & 0x0f)
        } else {
            (self.dst.0 << 4) | (self.src & 0x0f)
        };
        let off = self.off.to_ne_bytes();
        let imm = self.imm.to_ne_bytes();
        [
            self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }
}

/// The program redirecting every frame of a queue to the AF_XDP socket the XSKMAP of
/// descriptor `map_fd` holds for that queue (see the [module](self)).
pub(super) fn redirect_to_xsk_map(map_fd: i32) -> Vec<[u8; 8]> {
    let [map_lo, map_hi] = Insn::load_map_fd(Reg::R1, map_fd);
    [
        Insn::load_u32(Reg::R2, Reg::R1, XDP_MD_RX_QUEUE_INDEX),
        map_lo,
        map_hi,
        Insn::mov64_imm(Reg::R3, XDP_PASS),
        Insn::call(BPF_FUNC_REDIRECT_MAP),
        Insn::exit(),
    ]
    .iter()
    .map(Insn::encode)
    .collect()
}

/// A place in a program, jumped to before it is known where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Label(usize);

/// A program being written: instructions, and the jumps whose targets are labels.
#[derive(Debug, Default)]
struct Assembler {
    insns: Vec<Insn>,
    /// (instruction index, its target).
    jumps: Vec<(usize, Label)>,
    /// Where each label was bound (instruction index).
    labels: Vec<Option<usize>>,
}

impl Assembler {
    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// The next instruction is where `label` is.
    fn bind(&mut self, label: Label) {
        if let Some(slot) = self.labels.get_mut(label.0) {
            *slot = Some(self.insns.len());
        }
    }

    fn push(&mut self, insns: &[Insn]) {
        self.insns.extend_from_slice(insns);
    }

    /// A jump (`insn`, its offset ignored) to `label`.
    fn jump(&mut self, insn: Insn, label: Label) {
        self.jumps.push((self.insns.len(), label));
        self.insns.push(insn);
    }

    /// The instructions, each jump's offset set to its label; None if a label was never
    /// bound or lies out of reach.
    fn finish(mut self) -> Option<Vec<[u8; 8]>> {
        for (at, label) in &self.jumps {
            let target = (*self.labels.get(label.0)?)?;
            let off = i16::try_from(target as isize - *at as isize - 1).ok()?;
            self.insns.get_mut(*at)?.off = off;
        }
        Some(self.insns.iter().map(Insn::encode).collect())
    }
}

/// The maps [`redirect_not_for_the_host`] uses, by descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SteeringMaps {
    /// The XSKMAP: receive queue → AF_XDP socket.
    pub(super) xsks: i32,
    /// The host's IPv4 addresses (4-byte keys).
    pub(super) local4: i32,
    /// The host's IPv6 addresses (16-byte keys).
    pub(super) local6: i32,
}

/// The program redirecting to the XSKMAP only the IPv4 / IPv6 frames that are not for the
/// host: not to one of its addresses (in the maps `local4` / `local6`), nor multicast or
/// broadcast. Everything else goes to the kernel (see the [module](self)). None only if
/// the assembly went wrong (a label left unbound: the golden test says it does not).
pub(super) fn redirect_not_for_the_host(maps: SteeringMaps) -> Option<Vec<[u8; 8]>> {
    use Reg as R;
    let (data, data_end, queue, end, scratch) = (Reg::R2, Reg::R3, Reg::R6, Reg::R4, Reg::R4);
    let mut a = Assembler::default();
    let (pass, v4, v6, redirect) = (a.label(), a.label(), a.label(), a.label());
    a.push(&[
        Insn::load_u32(data, R::R1, XDP_MD_DATA),
        Insn::load_u32(data_end, R::R1, XDP_MD_DATA_END),
        Insn::load_u32(queue, R::R1, XDP_MD_RX_QUEUE_INDEX),
        Insn::mov64_reg(end, data),
        Insn::add64_imm(end, i32::from(ETH_HLEN)),
    ]);
    a.jump(Insn::jgt_reg(end, data_end, 0), pass);
    a.push(&[Insn::load_u16(scratch, data, ETH_TYPE_AT)]);
    a.jump(Insn::jeq_imm(scratch, ethertype_as_loaded(0x0800), 0), v4);
    a.jump(Insn::jeq_imm(scratch, ethertype_as_loaded(0x86dd), 0), v6);
    a.jump(Insn::ja(0), pass);

    for (label, header_end, daddr_at, map, is_for_the_host) in [
        (
            v4,
            IPV4_END,
            IPV4_DADDR_AT,
            maps.local4,
            Insn::jge_imm(scratch, 224, 0),
        ),
        (
            v6,
            IPV6_END,
            IPV6_DADDR_AT,
            maps.local6,
            Insn::jeq_imm(scratch, 0xff, 0),
        ),
    ] {
        a.bind(label);
        a.push(&[Insn::mov64_reg(end, data), Insn::add64_imm(end, header_end)]);
        a.jump(Insn::jgt_reg(end, data_end, 0), pass);
        a.push(&[Insn::load_u8(scratch, data, daddr_at)]);
        a.jump(is_for_the_host, pass);
        a.push(&Insn::load_map_fd(R::R1, map));
        a.push(&[
            Insn::add64_imm(data, i32::from(daddr_at)),
            Insn::call(BPF_FUNC_MAP_LOOKUP_ELEM),
        ]);
        a.jump(Insn::jne_imm(R::R0, 0, 0), pass);
        if label == v4 {
            a.jump(Insn::ja(0), redirect);
        }
    }

    a.bind(redirect);
    a.push(&Insn::load_map_fd(R::R1, maps.xsks));
    a.push(&[
        Insn::mov64_reg(R::R2, queue),
        Insn::mov64_imm(R::R3, XDP_PASS),
        Insn::call(BPF_FUNC_REDIRECT_MAP),
        Insn::exit(),
    ]);
    a.bind(pass);
    a.push(&[Insn::mov64_imm(R::R0, XDP_PASS), Insn::exit()]);
    a.finish()
}

/// The licence the program is loaded under.
pub(super) const LICENSE: &std::ffi::CStr = c"Dual MIT/GPL";

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    #[test]
    fn each_instruction_encodes_as_the_kernel_reads_it() {
        assert_eq!(
            Insn::load_u32(Reg::R2, Reg::R1, 16).encode(),
            [0x61, 0x12, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            Insn::load_map_fd(Reg::R1, 0x0102_0304).map(|i| i.encode()),
            [[0x18, 0x11, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01], [0x00; 8]]
        );
        assert_eq!(
            Insn::mov64_imm(Reg::R3, -1).encode(),
            [0xb7, 0x03, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            Insn::load_u32(Reg(0), Reg::R3, -8).encode(),
            [0x61, 0x30, 0xf8, 0xff, 0x00, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            Insn::call(BPF_FUNC_REDIRECT_MAP).encode(),
            [0x85, 0x00, 0x00, 0x00, 0x33, 0x00, 0x00, 0x00]
        );
        assert_eq!(Insn::exit().encode(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn the_program_is_the_six_slots_expected() {
        // Worked out by hand from the instruction set (the kernel's
        // Documentation/bpf/standardization/instruction-set.rst) for
        // `return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);`, map
        // descriptor 7. The kernel's verifier accepts it (tests/link_xdp.rs).
        let golden: [[u8; 8]; 6] = [
            [0x61, 0x12, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x18, 0x11, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00],
            [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0xb7, 0x03, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00],
            [0x85, 0x00, 0x00, 0x00, 0x33, 0x00, 0x00, 0x00],
            [0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        ];
        assert_eq!(redirect_to_xsk_map(7), golden.to_vec());
    }

    #[test]
    fn the_new_instructions_encode_as_the_kernel_reads_them() {
        assert_eq!(
            Insn::load_u16(Reg::R4, Reg(2), 12).encode(),
            [0x69, 0x24, 0x0c, 0x00, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::load_u8(Reg::R4, Reg(2), 30).encode(),
            [0x71, 0x24, 0x1e, 0x00, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::mov64_reg(Reg(2), Reg::R6).encode(),
            [0xbf, 0x62, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::add64_imm(Reg::R4, 14).encode(),
            [0x07, 0x04, 0, 0, 0x0e, 0, 0, 0]
        );
        assert_eq!(
            Insn::jgt_reg(Reg::R4, Reg::R3, -2).encode(),
            [0x2d, 0x34, 0xfe, 0xff, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::jeq_imm(Reg::R4, 0xff, 3).encode(),
            [0x15, 0x04, 0x03, 0x00, 0xff, 0, 0, 0]
        );
        assert_eq!(
            Insn::jne_imm(Reg::R0, 0, 6).encode(),
            [0x55, 0x00, 0x06, 0x00, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::jge_imm(Reg::R4, 224, 22).encode(),
            [0x35, 0x04, 0x16, 0x00, 0xe0, 0, 0, 0]
        );
        assert_eq!(Insn::ja(27).encode(), [0x05, 0, 0x1b, 0, 0, 0, 0, 0]);
        assert_eq!(ethertype_as_loaded(0x0800), 0x0008);
        assert_eq!(ethertype_as_loaded(0x86dd), 0xdd86);
    }

    #[test]
    fn an_unbound_label_gives_no_program() {
        let mut a = Assembler::default();
        let nowhere = a.label();
        a.jump(Insn::ja(0), nowhere);
        assert_eq!(a.finish(), None);
    }

    #[test]
    fn the_steering_program_is_the_39_slots_expected() {
        // Worked out by hand from the instruction set for the program of the module's
        // comment, maps xsks = 7, local4 = 8, local6 = 9; jump offsets count the slots
        // after the jump. The kernel's verifier accepts it (tests/link_xdp.rs).
        let golden: [[u8; 8]; 39] = [
            [0x61, 0x12, 0x00, 0x00, 0, 0, 0, 0],     // 0: r2 = ctx->data
            [0x61, 0x13, 0x04, 0x00, 0, 0, 0, 0],     // 1: r3 = ctx->data_end
            [0x61, 0x16, 0x10, 0x00, 0, 0, 0, 0],     // 2: r6 = ctx->rx_queue_index
            [0xbf, 0x24, 0x00, 0x00, 0, 0, 0, 0],     // 3: r4 = r2
            [0x07, 0x04, 0x00, 0x00, 14, 0, 0, 0],    // 4: r4 += 14
            [0x2d, 0x34, 31, 0x00, 0, 0, 0, 0],       // 5: if r4 > r3 goto 37
            [0x69, 0x24, 12, 0x00, 0, 0, 0, 0],       // 6: r4 = *(u16 *)(r2 + 12)
            [0x15, 0x04, 2, 0x00, 0x08, 0x00, 0, 0],  // 7: if r4 == IPv4 goto 10
            [0x15, 0x04, 12, 0x00, 0x86, 0xdd, 0, 0], // 8: if r4 == IPv6 goto 21
            [0x05, 0x00, 27, 0x00, 0, 0, 0, 0],       // 9: goto 37
            [0xbf, 0x24, 0x00, 0x00, 0, 0, 0, 0],     // 10: r4 = r2
            [0x07, 0x04, 0x00, 0x00, 34, 0, 0, 0],    // 11: r4 += 34
            [0x2d, 0x34, 24, 0x00, 0, 0, 0, 0],       // 12: if r4 > r3 goto 37
            [0x71, 0x24, 30, 0x00, 0, 0, 0, 0],       // 13: r4 = *(u8 *)(r2 + 30)
            [0x35, 0x04, 22, 0x00, 224, 0, 0, 0],     // 14: if r4 >= 224 goto 37
            [0x18, 0x11, 0x00, 0x00, 8, 0, 0, 0],     // 15: r1 = local4
            [0; 8],                                   // 16
            [0x07, 0x02, 0x00, 0x00, 30, 0, 0, 0],    // 17: r2 += 30
            [0x85, 0x00, 0x00, 0x00, 1, 0, 0, 0],     // 18: call map_lookup_elem
            [0x55, 0x00, 17, 0x00, 0, 0, 0, 0],       // 19: if r0 != 0 goto 37
            [0x05, 0x00, 10, 0x00, 0, 0, 0, 0],       // 20: goto 31
            [0xbf, 0x24, 0x00, 0x00, 0, 0, 0, 0],     // 21: r4 = r2
            [0x07, 0x04, 0x00, 0x00, 54, 0, 0, 0],    // 22: r4 += 54
            [0x2d, 0x34, 13, 0x00, 0, 0, 0, 0],       // 23: if r4 > r3 goto 37
            [0x71, 0x24, 38, 0x00, 0, 0, 0, 0],       // 24: r4 = *(u8 *)(r2 + 38)
            [0x15, 0x04, 11, 0x00, 0xff, 0, 0, 0],    // 25: if r4 == 0xff goto 37
            [0x18, 0x11, 0x00, 0x00, 9, 0, 0, 0],     // 26: r1 = local6
            [0; 8],                                   // 27
            [0x07, 0x02, 0x00, 0x00, 38, 0, 0, 0],    // 28: r2 += 38
            [0x85, 0x00, 0x00, 0x00, 1, 0, 0, 0],     // 29: call map_lookup_elem
            [0x55, 0x00, 6, 0x00, 0, 0, 0, 0],        // 30: if r0 != 0 goto 37
            [0x18, 0x11, 0x00, 0x00, 7, 0, 0, 0],     // 31: r1 = xsks
            [0; 8],                                   // 32
            [0xbf, 0x62, 0x00, 0x00, 0, 0, 0, 0],     // 33: r2 = r6
            [0xb7, 0x03, 0x00, 0x00, 2, 0, 0, 0],     // 34: r3 = XDP_PASS
            [0x85, 0x00, 0x00, 0x00, 51, 0, 0, 0],    // 35: call redirect_map
            [0x95, 0x00, 0x00, 0x00, 0, 0, 0, 0],     // 36: exit
            [0xb7, 0x00, 0x00, 0x00, 2, 0, 0, 0],     // 37: r0 = XDP_PASS
            [0x95, 0x00, 0x00, 0x00, 0, 0, 0, 0],     // 38: exit
        ];
        let maps = SteeringMaps {
            xsks: 7,
            local4: 8,
            local6: 9,
        };
        let program = redirect_not_for_the_host(maps).expect("assembled");
        for (i, (got, want)) in program.iter().zip(&golden).enumerate() {
            assert_eq!(got, want, "slot {i}");
        }
        assert_eq!(program.len(), golden.len());
    }
}
