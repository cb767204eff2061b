//! Collecting several independent errors into one `syn::Error`.
//!
//! Every stage keeps going after an error where it safely can, so a user sees
//! all the problems of a block at once (as serde_derive's `Ctxt` does).

use proc_macro2::Span;
use std::fmt::Display;

/// An accumulator of errors, combined with [`syn::Error::combine`].
#[derive(Default)]
pub struct Diagnostics {
    error: Option<syn::Error>,
}

impl Diagnostics {
    /// Records an error at `span`.
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an already-built error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.error {
            Some(existing) => existing.combine(error),
            None => self.error = Some(error),
        }
    }

    /// Keeps the value of `result`, or records its error and returns `None`.
    pub fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    /// `true` when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.error.is_none()
    }

    /// All recorded errors, or `fallback()` when none was recorded.
    pub fn into_error(self, fallback: impl FnOnce() -> syn::Error) -> syn::Error {
        self.error.unwrap_or_else(fallback)
    }

    /// `Ok(value)` when no error was recorded, else all of them.
    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}
