//! ipvsadm 1.31's user interface, byte for byte: its command line, its listings and its save
//! format (spec §13, §16), as pure functions of the model.
//!
//! - [`parse`] turns one invocation's arguments into a [`Command`] carrying complete model
//!   values ([`ServiceKey`](crate::ServiceKey), [`ServiceConf`](crate::ServiceConf),
//!   [`DestConf`](crate::DestConf)) — or into the [`ParseError`] ipvsadm would report, with
//!   its exact message and exit status; [`apply`] executes the table-editing commands on an
//!   [`Ipvs`](crate::Ipvs).
//! - [`list`] and its parts render `ipvsadm -L` in every mode, [`save`] renders `ipvsadm -S`,
//!   and [`restore`] reads `-S` output back as `ipvsadm -R` does.
//! - [`help_text`] and [`version_text`] are `ipvsadm -h` and `-v`.
//!
//! Name look-ups (`gethostbyname` and friends) go through a [`Resolver`] the caller provides;
//! lb-core itself does no I/O.
//!
//! ```
//! use lb_core::ipvsadm::{self, ListContext, ListFormat};
//! use lb_core::Ipvs;
//! let mut ipvs = Ipvs::new();
//! for line in ["-A -t 198.18.0.1:80 -s rr", "-a -t 198.18.0.1:80 -r 198.19.0.11 -m"] {
//!     let args: Vec<&str> = line.split(' ').collect();
//!     let cmd = ipvsadm::parse(&args).unwrap();
//!     ipvsadm::apply(&mut ipvs, &cmd).unwrap();
//! }
//! let format = ListFormat { numeric: true, ..ListFormat::default() };
//! let text = ipvsadm::list_all(&ipvs, &format, &ListContext::default());
//! assert!(text.ends_with("TCP  198.18.0.1:80 rr\n  -> 198.19.0.11:80               Masq    1      0          0         \n"));
//! assert_eq!(ipvsadm::save(&ipvs, true, &ipvsadm::NumericOnly),
//!            "-A -t 198.18.0.1:80 -s rr\n-a -t 198.18.0.1:80 -r 198.19.0.11:80 -m -w 1\n");
//! ```

mod command;
mod help;
mod legality;
mod list;
mod names;
mod parse;
mod popt;
mod restore;
mod save;
mod sort;
mod values;

pub use command::{
    apply, Command, DaemonConf, DaemonState, ListFormat, ListOptions, ListTarget, Timeouts,
};
pub use help::{help_text, version_text};
pub use list::{
    header_line, largenum, list, list_all, list_connections, list_daemons, list_service,
    list_timeouts, no_rates, protocol_name, ConnEntry, ListContext, ListError,
    DEFAULT_CONN_TABLE_SIZE,
};
pub use names::{
    addrport_to_anyname, inet_ntop, inet_ntop6, NumericOnly, Resolver, WellKnownServices,
};
pub use parse::{parse, parse_with, ParseError, DEFAULT_PERSISTENCE, MAX_TIMEOUT};
pub use popt::PoptError;
pub use restore::{parse_line, restore, tokenize_line, Restored};
pub use save::save;
pub use sort::{cmp_dests, cmp_services, dest_listing_order, kernel_order, listing_order};
