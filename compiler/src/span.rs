//! Source ranges for diagnostics.
//!
//! On stable Rust a `proc_macro2::Span` cannot be joined, but
//! `syn::Error::new_spanned` underlines everything from the first to the last
//! token it is given. [`SpanRange`] keeps those two spans so an error can point
//! at a whole argument such as `softmax(theta, axis = 1)`, not only its first
//! token.

use proc_macro2::{Punct, Spacing, Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};

/// The first and last token spans of a piece of source.
#[derive(Clone, Copy, Debug)]
pub struct SpanRange {
    /// Span of the first token.
    pub start: Span,
    /// Span of the last token.
    pub end: Span,
}

impl SpanRange {
    /// The range of everything `tokens` covers.
    pub fn of(tokens: &impl ToTokens) -> Self {
        let stream = tokens.to_token_stream();
        let mut iter = stream.into_iter();
        let start = iter.next().map_or_else(Span::call_site, |t| t.span());
        let end = iter.last().map_or(start, |t| t.span());
        SpanRange { start, end }
    }

    /// A range of one token.
    pub fn single(span: Span) -> Self {
        SpanRange {
            start: span,
            end: span,
        }
    }

    /// From the start of `self` to the end of `other`.
    pub fn to(self, other: SpanRange) -> Self {
        SpanRange {
            start: self.start,
            end: other.end,
        }
    }

    /// An error underlining this range.
    pub fn error(self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_spanned(self, message)
    }
}

impl ToTokens for SpanRange {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let mut first = Punct::new('#', Spacing::Alone);
        first.set_span(self.start);
        let mut last = Punct::new('#', Spacing::Alone);
        last.set_span(self.end);
        tokens.append(first);
        tokens.append(last);
    }
}

/// Source text of `tokens` for messages, spaces between tokens removed
/// where rustfmt would not put them (`SMatrix<f64, 3, 4>`).
pub fn source_text(tokens: &impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .replace(" ,", ",")
        .replace("< ", "<")
        .replace(" <", "<")
        .replace(" >", ">")
        .replace(" ;", ";")
        .replace("[ ", "[")
        .replace(" ]", "]")
        .replace("& ", "&")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" . ", ".")
        .replace(" :: ", "::")
}
