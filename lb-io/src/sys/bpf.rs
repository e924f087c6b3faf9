//! The `bpf()` system call, for the few commands an AF_XDP link needs: create a map, put
//! a socket (or a host address) into it, load a program, attach it to an interface with a
//! BPF link.
//!
//! Each command's attribute is its own `#[repr(C)]` struct, laid out as the matching
//! member of the kernel's `union bpf_attr` (`include/uapi/linux/bpf.h`) up to its last
//! field we use; the kernel reads `size_of` of it and takes the rest of the union as zero.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::{c_int, c_long};

const BPF_MAP_CREATE: c_int = 0;
const BPF_MAP_UPDATE_ELEM: c_int = 2;
const BPF_MAP_DELETE_ELEM: c_int = 3;
const BPF_MAP_LOOKUP_ELEM: c_int = 1;
const BPF_PROG_LOAD: c_int = 5;
const BPF_LINK_CREATE: c_int = 28;
/// The length of a map or program name, its NUL included.
const BPF_OBJ_NAME_LEN: usize = 16;

/// `BPF_MAP_TYPE_HASH`: a hash table of fixed-size keys and values.
pub(crate) const BPF_MAP_TYPE_HASH: u32 = 1;
/// `BPF_MAP_TYPE_XSKMAP`: a map from an index (the receive queue) to an AF_XDP socket.
pub(crate) const BPF_MAP_TYPE_XSKMAP: u32 = 17;
/// `BPF_PROG_TYPE_XDP`.
pub(crate) const BPF_PROG_TYPE_XDP: u32 = 6;
/// `BPF_XDP`: the attach type of an XDP program to an interface.
pub(crate) const BPF_XDP: u32 = 37;
/// `BPF_ANY`: create or replace a map element.
const BPF_ANY: u64 = 0;

/// `union bpf_attr` for BPF_MAP_CREATE, up to `map_name`.
#[repr(C)]
#[derive(Clone, Copy)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; BPF_OBJ_NAME_LEN],
}

/// `union bpf_attr` for BPF_MAP_*_ELEM.
#[repr(C)]
#[derive(Clone, Copy)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `union bpf_attr` for BPF_PROG_LOAD, up to `expected_attach_type`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; BPF_OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for BPF_LINK_CREATE, up to `flags`.
#[repr(C)]
#[derive(Clone, Copy)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

/// `bpf(cmd, attr, sizeof(*attr))`.
fn bpf<T: Copy>(cmd: c_int, attr: &mut T) -> io::Result<c_long> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] attribute of exactly `size_of::<T>()`
    // bytes, borrowed mutably for the call (some commands write back into it). Pointers it
    // holds (instructions, license, log buffer, key, value) are valid for the call: each
    // caller builds them from borrows that outlive it, of the lengths the kernel reads
    // (`insn_cnt` instructions, `log_size` bytes; a `Map`'s key and value sizes, which its
    // methods check before they call).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as c_long,
            (attr as *mut T).cast::<libc::c_void>(),
            size_of::<T>() as c_long,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// The descriptor a command returned.
fn new_fd(rc: c_long) -> io::Result<OwnedFd> {
    let fd = c_int::try_from(rc).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the kernel just returned `fd` as a new descriptor of ours (MAP_CREATE,
    // PROG_LOAD and LINK_CREATE always create one, close-on-exec); nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A name for a map or program: at most 15 bytes of `name`, NUL-padded.
fn object_name(name: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; BPF_OBJ_NAME_LEN];
    for (o, b) in out.iter_mut().zip(name.bytes().take(BPF_OBJ_NAME_LEN - 1)) {
        *o = b;
    }
    out
}

fn fd_u32(fd: BorrowedFd<'_>) -> io::Result<u32> {
    u32::try_from(fd.as_raw_fd()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// A map whose key and value sizes are known: its element commands check the lengths of
/// the keys and values given against them, so the kernel never reads or writes beyond a
/// slice.
#[derive(Debug)]
pub(crate) struct Map {
    fd: OwnedFd,
    key_size: usize,
    value_size: usize,
}

impl Map {
    /// Creates a map of `map_type` with `key_size`-byte keys, `value_size`-byte values and
    /// `max_entries` entries.
    pub(crate) fn create(
        map_type: u32,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        name: &str,
    ) -> io::Result<Map> {
        let mut attr = MapCreateAttr {
            map_type,
            key_size,
            value_size,
            max_entries,
            map_flags: 0,
            inner_map_fd: 0,
            numa_node: 0,
            map_name: object_name(name),
        };
        let fd = new_fd(bpf(BPF_MAP_CREATE, &mut attr)?)?;
        Ok(Map {
            fd,
            key_size: key_size as usize,
            value_size: value_size as usize,
        })
    }

    /// The map's descriptor.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn attr(&self, key: &[u8], value: u64, flags: u64) -> io::Result<MapElemAttr> {
        if key.len() != self.key_size {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        Ok(MapElemAttr {
            map_fd: fd_u32(self.fd.as_fd())?,
            _pad: 0,
            key: key.as_ptr() as u64,
            value,
            flags,
        })
    }

    /// Sets `map[key] = value` (both of the map's sizes, else InvalidInput).
    pub(crate) fn update(&self, key: &[u8], value: &[u8]) -> io::Result<()> {
        if value.len() != self.value_size {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let mut attr = self.attr(key, value.as_ptr() as u64, BPF_ANY)?;
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
    }

    /// Removes `map[key]`; Ok(false) when it was not there.
    pub(crate) fn delete(&self, key: &[u8]) -> io::Result<bool> {
        let mut attr = self.attr(key, 0, 0)?;
        match bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Copies `map[key]` into `value` (of the map's value size); Ok(false) when the map
    /// does not hold `key`.
    pub(crate) fn lookup(&self, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
        if value.len() != self.value_size {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        let mut attr = self.attr(key, value.as_mut_ptr() as u64, 0)?;
        match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Loads the program `insns` (8 bytes per instruction, as the kernel reads them) of
/// `prog_type` under `license`. When `log` is given, the verifier writes its log there
/// (NUL-terminated), which explains a refusal.
pub(crate) fn load_program(
    prog_type: u32,
    insns: &[[u8; 8]],
    license: &std::ffi::CStr,
    name: &str,
    log: Option<&mut [u8]>,
) -> io::Result<OwnedFd> {
    let insn_cnt =
        u32::try_from(insns.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let (log_level, log_size, log_buf) = match log {
        Some(buf) if !buf.is_empty() => (
            1,
            u32::try_from(buf.len()).unwrap_or(u32::MAX),
            buf.as_mut_ptr() as u64,
        ),
        _ => (0, 0, 0),
    };
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level,
        log_size,
        log_buf,
        kern_version: 0,
        prog_flags: 0,
        prog_name: object_name(name),
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    new_fd(bpf(BPF_PROG_LOAD, &mut attr)?)
}

/// Attaches `prog` to interface `ifindex` as `attach_type` with `flags`, through a BPF
/// link: the program stays attached while the returned descriptor (or a copy) is open,
/// and is detached when the last one is closed, also when the process dies.
pub(crate) fn create_link(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    attach_type: u32,
    flags: u32,
) -> io::Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: fd_u32(prog)?,
        target_ifindex: ifindex,
        attach_type,
        flags,
    };
    new_fd(bpf(BPF_LINK_CREATE, &mut attr)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_have_the_kernel_layout() {
        assert_eq!(size_of::<MapCreateAttr>(), 44);
        assert_eq!(size_of::<MapElemAttr>(), 32);
        assert_eq!(size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(size_of::<LinkCreateAttr>(), 16);
    }

    #[test]
    fn keys_and_values_of_the_wrong_size_are_refused_before_the_call() {
        // A descriptor that is no map at all: the length checks come first.
        let (reader, _writer) = std::io::pipe().unwrap();
        let map = Map {
            fd: OwnedFd::from(reader),
            key_size: 4,
            value_size: 1,
        };
        let kind = |r: io::Result<()>| r.unwrap_err().kind();
        assert_eq!(kind(map.update(&[0; 3], &[1])), io::ErrorKind::InvalidInput);
        assert_eq!(
            kind(map.update(&[0; 4], &[1, 2])),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            map.delete(&[0; 16]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            map.lookup(&[0; 4], &mut [0; 4]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // Right sizes reach the kernel, which says the descriptor is no map (or, without
        // CAP_BPF where unprivileged bpf() is off, that we may not ask).
        let reached = map.update(&[0; 4], &[1]).unwrap_err().raw_os_error();
        assert!(
            matches!(reached, Some(libc::EINVAL) | Some(libc::EPERM)),
            "{reached:?}"
        );
    }

    #[test]
    fn names_are_cut_to_fifteen_bytes() {
        assert_eq!(&object_name("lb_xsks")[..8], b"lb_xsks\0");
        let long = object_name("a_very_long_program_name");
        assert_eq!(&long[..15], b"a_very_long_pro");
        assert_eq!(long[15], 0);
    }
}
