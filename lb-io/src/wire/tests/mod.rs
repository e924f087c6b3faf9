//! Tests across the wire module: agreement with etherparse, and robustness against cut and
//! corrupted frames.

mod etherparse_agreement;
mod rng;
mod robustness;
