//! Typed errors of every control operation, worded as ipvsadm words them (spec §13.6).

use thiserror::Error;

/// An invalid operation on the IPVS model.
///
/// `Display` prints exactly the text ipvsadm prints for the same failure, so a
/// command-line front end can pass it through unchanged. [`Error::exit_code`] gives the exit
/// status ipvsadm uses for it: 2 for the checks ipvsadm itself makes before asking the kernel,
/// 255 for what the kernel refuses.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// `-A` of a service that exists (EEXIST).
    #[error("Service already exists")]
    ServiceExists,
    /// `-E`, `-D` or `-Z` of a service that does not exist (ESRCH).
    #[error("No such service")]
    NoSuchService,
    /// `-a`, `-e` or `-d` on a service that does not exist (ESRCH).
    #[error("Service not defined")]
    ServiceNotDefined,
    /// `-A`/`-E` with a scheduler (or persistence engine) that does not exist (ENOENT).
    #[error("Scheduler or persistence engine not found")]
    UnknownScheduler {
        /// The name that was asked for.
        name: String,
    },
    /// `-a` of a destination that exists (EEXIST).
    #[error("Destination already exists")]
    DestExists,
    /// `-e` or `-d` of a destination that does not exist (ENOENT).
    #[error("No such destination")]
    NoSuchDest,
    /// Lower threshold above the upper one, or a weight out of range (ERANGE).
    #[error("Numerical result out of range")]
    OutOfRange,
    /// A non-persistent, non-fwmark service with port 0 (ipvsadm's own check).
    #[error("Zero port specified for non-persistent service")]
    ZeroPort,
    /// `-o` on a TCP or SCTP service (ipvsadm's own check).
    #[error("One-Packet Scheduling is only for UDP virtual services")]
    OnePacketNotUdp,
    /// A scheduler flag that the chosen scheduler does not take (ipvsadm's own check).
    #[error("incompatible scheduler flag `{0}'")]
    IncompatibleSchedFlag(String),
    /// A real server of another address family than its service, but not tunnelled.
    #[error("Different address family is allowed only for tunneling servers")]
    MixedFamily,
    /// Tunnel options given for a destination that is not tunnelled.
    #[error("Tunnel options conflict with forward method")]
    TunnelOptionsConflict,
    /// An address that is not unicast, an IPv6 prefix length out of 1..=128, a GUE tunnel
    /// without a port, more destinations than a Maglev table has slots (EINVAL).
    #[error("Invalid operation.  Possibly wrong module version, address not unicast, ...")]
    Invalid,
    /// An address family that does not fit the operation (EAFNOSUPPORT).
    #[error("Operation not supported with specified address family")]
    FamilyNotSupported,
}

impl Error {
    /// The exit status ipvsadm ends with for this error: 2 for its own command-line checks,
    /// 255 for an operation the kernel refuses.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ZeroPort
            | Error::OnePacketNotUdp
            | Error::IncompatibleSchedFlag(_)
            | Error::MixedFamily
            | Error::TunnelOptionsConflict => 2,
            _ => 255,
        }
    }

    /// More than ipvsadm says, for people: for an unknown scheduler, the names that exist.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::UnknownScheduler { name } => Some(format!(
                "no scheduler `{name}'; valid schedulers: {}",
                crate::sched::NAMES.join(" ")
            )),
            _ => None,
        }
    }
}
