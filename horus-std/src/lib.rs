//! HORUS on Linux.
