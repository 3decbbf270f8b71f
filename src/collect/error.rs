//! The one error type of the collect layer: what failed, and where.

use std::fmt;
use std::io;

/// A failure with the file, syscall or step that caused it.
#[derive(Debug)]
pub struct Error {
    context: String,
    source: Option<io::Error>,
}

impl Error {
    /// An OS error while doing `context` ("reading /proc/meminfo").
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error {
            context: context.into(),
            source: Some(source),
        }
    }

    /// A failure that is not an OS error (bad ELF, verifier refusal, …).
    pub fn msg(context: impl Into<String>) -> Error {
        Error {
            context: context.into(),
            source: None,
        }
    }

    /// The OS error, when there is one (e.g. to tell EPERM from ENOENT).
    pub fn os_error(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {}", self.context, e),
            None => f.write_str(&self.context),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}
