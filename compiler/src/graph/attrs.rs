//! Reading the `key = value` attributes of one call, with typed errors.

use super::suggest::nearest;
use super::{Dim, WrittenAxis};
use crate::diagnostics::Diagnostics;
use crate::parse::ast::{AttrValue, Number};
use crate::span::SpanRange;
use syn::Ident;

/// Words users bring from other libraries, and the attribute meant.
const ALIASES: &[(&str, &str)] = &[
    ("dim", "axis"),
    ("axes", "axis"),
    ("start_dim", "start"),
    ("end_dim", "end"),
];

/// The attributes of one call, and the keys its op declares.
pub struct Attrs<'a> {
    op: &'a Ident,
    given: Vec<(&'a Ident, &'a AttrValue)>,
    known: Vec<&'static str>,
}

impl<'a> Attrs<'a> {
    /// The attributes given to `op`, whose catalogue entry declares
    /// `known`; duplicates are reported into `d`.
    pub fn new(
        op: &'a Ident,
        known: Vec<&'static str>,
        given: Vec<(&'a Ident, &'a AttrValue)>,
        d: &mut Diagnostics,
    ) -> Self {
        let mut seen: Vec<(&Ident, &AttrValue)> = Vec::new();
        for (key, value) in given {
            if seen.iter().any(|(k, _)| *k == key) {
                d.push(SpanRange::of(key).error(format!("`{key}` is given twice")));
            } else {
                seen.push((key, value));
            }
        }
        Attrs {
            op,
            given: seen,
            known,
        }
    }

    fn take(&mut self, key: &'static str) -> Option<&'a AttrValue> {
        // A builder reads only what its catalogue entry declares.
        debug_assert!(
            self.known.contains(&key),
            "`{key}` is not in the catalogue entry of `{}`",
            self.op
        );
        self.given
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, value)| *value)
    }

    /// A number attribute, `None` when absent.
    pub fn number(&mut self, key: &'static str) -> syn::Result<Option<Number>> {
        match self.take(key) {
            None => Ok(None),
            Some(AttrValue::Number(n)) => Ok(Some(*n)),
            Some(other) => Err(other.span().error(format!(
                "`{key}` of `{}` takes a number, as in `{key} = 1`; found {}",
                self.op,
                other.describe()
            ))),
        }
    }

    /// A required number attribute.
    pub fn required_number(&mut self, key: &'static str, example: &str) -> syn::Result<Number> {
        self.number(key)?.ok_or_else(|| {
            SpanRange::single(self.op.span())
                .error(format!("`{}` needs `{key}`, as in `{}`", self.op, example))
        })
    }

    /// An integer attribute naming an axis, with a default when absent.
    pub fn axis(&mut self, key: &'static str, default: i64) -> syn::Result<WrittenAxis> {
        match self.number(key)? {
            None => Ok(WrittenAxis {
                index: default,
                span: SpanRange::single(self.op.span()),
            }),
            Some(n) => match n.integer {
                Some(index) => Ok(WrittenAxis {
                    index,
                    span: n.span,
                }),
                None => Err(n.span.error(format!(
                    "`{key}` is an axis and takes an integer such as `1` or `-1`; found {}",
                    AttrValue::Number(n).describe()
                ))),
            },
        }
    }

    /// A list of sizes (literals or named), `None` when absent.
    pub fn size_list(&mut self, key: &'static str) -> syn::Result<Option<Vec<Dim>>> {
        match self.take(key) {
            None => Ok(None),
            Some(AttrValue::List(items, _)) => items
                .iter()
                .map(|n| {
                    let size = size_or_position(n, "a dimension")?;
                    if size == 0 {
                        return Err(n.span.error(
                            "a dimension must be at least 1: param_graph! does not compile empty tensors",
                        ));
                    }
                    Ok(size)
                })
                .collect::<syn::Result<_>>()
                .map(Some),
            Some(other) => Err(other.span().error(format!(
                "`{key}` of `{}` takes a list of sizes, as in `{key} = [2, 3]`; found {}",
                self.op,
                other.describe()
            ))),
        }
    }

    /// Reports every attribute no op reader asked for.
    pub fn finish(self, d: &mut Diagnostics) {
        for (key, _) in &self.given {
            let name = key.to_string();
            if self.known.contains(&name.as_str()) {
                continue;
            }
            let alias = ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .map(|(_, meant)| *meant)
                .filter(|meant| self.known.contains(meant));
            if let Some(meant) = alias {
                d.push(SpanRange::of(*key).error(format!(
                    "`{}` has no attribute `{name}`: param_graph calls it `{meant}`, as in `{meant} = 1`",
                    self.op
                )));
                continue;
            }
            let hint = nearest(&name, self.known.iter().copied())
                .map(|m| format!("; did you mean `{m}`?"))
                .unwrap_or_default();
            let accepted = if self.known.is_empty() {
                "it takes no attributes".to_string()
            } else {
                format!(
                    "it takes {}",
                    self.known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            d.push(SpanRange::of(*key).error(format!(
                "`{}` has no attribute `{name}`: {accepted}{hint}",
                self.op
            )));
        }
    }
}

/// A size or a position: a literal non-negative integer, or a size written
/// with names (`K`, `{K * 2}`), possibly one only rustc knows.
pub fn size_or_position(n: &Number, what: &str) -> syn::Result<Dim> {
    match n.size {
        Some(size) => Ok(size),
        None => non_negative(n, what).map(Dim::known),
    }
}

/// A literal that must be a non-negative integer the macro knows (an axis
/// or an order).
pub fn non_negative(n: &Number, what: &str) -> syn::Result<usize> {
    if let Some(size) = n.size.filter(|s| s.is_symbolic()) {
        return Err(n.span.error(format!(
            "{what} must be known while the macro expands, found `{size}`, which only rustc knows: write a literal or a constant declared in the block"
        )));
    }
    match n.integer {
        Some(v) if v >= 0 => {
            usize::try_from(v).map_err(|_| n.span.error(format!("{what} is too large")))
        }
        Some(v) => Err(n
            .span
            .error(format!("{what} must be a non-negative integer, found {v}"))),
        None => Err(n
            .span
            .error(format!("{what} must be an integer, found {:?}", n.value))),
    }
}
