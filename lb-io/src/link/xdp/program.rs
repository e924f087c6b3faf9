//! The XDP program, assembled here instruction by instruction (no compiler needed):
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

/// An eBPF register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reg(u8);

impl Reg {
    /// The first argument: the context (`struct xdp_md *`) when the program starts.
    pub(super) const R1: Reg = Reg(1);
    /// The second argument.
    pub(super) const R2: Reg = Reg(2);
    /// The third argument.
    pub(super) const R3: Reg = Reg(3);
}

// Opcode parts (include/uapi/linux/bpf_common.h, bpf.h).
const BPF_LD: u8 = 0x00;
const BPF_LDX: u8 = 0x01;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00;
const BPF_DW: u8 = 0x18;
const BPF_IMM: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00;
const BPF_MOV: u8 = 0xb0;
const BPF_CALL: u8 = 0x80;
const BPF_EXIT: u8 = 0x90;
/// The source register of a 64-bit immediate load that names a map by descriptor.
const BPF_PSEUDO_MAP_FD: u8 = 1;

/// `bpf_redirect_map` (helper 51).
pub(super) const BPF_FUNC_REDIRECT_MAP: i32 = 51;
/// The XDP verdict that hands the frame to the kernel.
pub(super) const XDP_PASS: i32 = 2;
/// Where `rx_queue_index` lies in `struct xdp_md`.
const XDP_MD_RX_QUEUE_INDEX: i16 = 16;

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
}
