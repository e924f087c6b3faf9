//! PLACEHOLDER: the kernel hashes (hash_32, SipHash-1-3).
