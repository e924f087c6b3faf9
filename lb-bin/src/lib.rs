//! The library half of the `lb` binary's package: the network-namespace lab that `lb demo`
//! and the end-to-end tests (package `lb-tests`) build their hosts with.
//!
//! The director, the ipvsadm-compatible client and the other subcommands live in the binary
//! (`src/main.rs`); this library holds what other packages reuse.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod lab;
