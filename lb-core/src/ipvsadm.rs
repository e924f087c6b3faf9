//! PLACEHOLDER: ipvsadm command lines, listings and save format.
