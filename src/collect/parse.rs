//! Byte-level parsing of kernel text files, without allocation or UTF-8 checks.
