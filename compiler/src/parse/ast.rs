//! The syntax tree of one param_graph block, before any graph is built.

use crate::dim::Dim;
use crate::span::SpanRange;
use proc_macro2::Span;
use syn::Ident;

/// One `fn` item of the block: a parameter graph with its signature.
pub struct GraphFn {
    /// Outer attributes (doc comments included) that pass through unchanged.
    pub attrs: Vec<syn::Attribute>,
    /// What `#[param_graph(...)]` attributes asked for.
    pub options: Options,
    /// The function's visibility, as written.
    pub vis: syn::Visibility,
    /// Its generic parameters: const sizes only (`<const K: usize>`).
    pub generics: syn::Generics,
    /// The function's name.
    pub name: Ident,
    /// Leaf tensors, in signature order.
    pub params: Vec<Param>,
    /// The declared result.
    pub ret: ReturnType,
    /// `let name = expr;` statements, in order.
    pub lets: Vec<Let>,
    /// The result expression that ends the body.
    pub result: Expr,
}

/// Settings from `#[param_graph(...)]` on a fn.
#[derive(Clone, Debug)]
pub struct Options {
    /// Run the rewrite passes (`optimize = false` compiles the graph as written).
    pub optimize: bool,
    /// Fuse elementwise ops into their readers' loops (`fuse = false` gives
    /// every node its own buffer and loop: a baseline for benchmarks).
    pub fuse: bool,
    /// Generate the reverse-mode derivative (`vjp` or `vjp(a, b)`).
    pub vjp: Option<VjpLeaves>,
}

/// Which leaves `#[param_graph(vjp …)]` differentiates.
#[derive(Clone, Debug)]
pub enum VjpLeaves {
    /// `vjp`: every leaf, in signature order.
    All,
    /// `vjp(a, b)`: these leaves, as written (checked against the
    /// signature when the graph is built).
    Only(Vec<Ident>),
}

impl Options {
    /// The option names, each `name = true|false`.
    pub const KEYS: &'static [&'static str] = &["optimize", "fuse"];

    /// Sets option `key` (one of [`Options::KEYS`]).
    pub fn set(&mut self, key: &str, value: bool) {
        match key {
            "optimize" => self.optimize = value,
            _ => self.fuse = value,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            optimize: true,
            fuse: true,
            vjp: None,
        }
    }
}

/// A leaf parameter `name: Type` or `name: &Type`.
pub struct Param {
    /// The parameter's name.
    pub name: Ident,
    /// `true` for `name: &Type`.
    pub by_ref: bool,
    /// The tensor type, parsed.
    pub ty: TensorType,
}

/// The declared return type: one tensor or a tuple of them.
pub enum ReturnType {
    /// `-> Type`.
    Single(Box<TensorType>),
    /// `-> (Type, Type, ...)`.
    Tuple(Vec<TensorType>, SpanRange),
}

impl ReturnType {
    /// The declared output types, in order.
    pub fn outputs(&self) -> Vec<&TensorType> {
        match self {
            ReturnType::Single(t) => vec![t],
            ReturnType::Tuple(ts, _) => ts.iter().collect(),
        }
    }
}

/// The element type of every tensor of one graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

impl DType {
    /// The Rust spelling.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }
}

/// A tensor type from the type grammar, e.g. `[SMatrix<f64, 3, 4>; 2]`.
pub struct TensorType {
    /// Scalar type of the elements.
    pub dtype: DType,
    /// Where the scalar type is written.
    pub dtype_span: Span,
    /// Its sizes in the order written (array lengths, then the nalgebra
    /// type's), with their names.
    pub written: Vec<super::sizes::Size>,
    /// The nesting of the type, which fixes shape and storage order.
    pub form: TypeForm,
    /// The type exactly as written, re-emitted in the signature.
    pub syn_type: syn::Type,
    /// The whole type, for diagnostics.
    pub span: SpanRange,
}

impl TensorType {
    /// The tensor shape the type denotes.
    pub fn shape(&self) -> Vec<Dim> {
        self.form.shape()
    }

    /// The shape as written, one entry per axis: `K` for a named size, `4`
    /// for a literal (a `Kron`'s axes are the products `P * R`, `Q * S`).
    pub fn written_shape(&self) -> Vec<String> {
        let names: Vec<String> = self.written.iter().map(|s| s.written()).collect();
        match (&self.form, names.as_slice()) {
            (TypeForm::Kron(_), [p, q, r, s]) => {
                let product =
                    |a: &String, b: &String| match (a.parse::<usize>(), b.parse::<usize>()) {
                        (Ok(a), Ok(b)) => a.saturating_mul(b).to_string(),
                        _ => format!("{a} * {b}"),
                    };
                vec![product(p, r), product(q, s)]
            }
            _ => names,
        }
    }

    /// The storage order of the type: tensor axes from the one with the
    /// largest stride in memory to the one with the smallest.
    pub fn storage_order(&self) -> Vec<usize> {
        self.form.storage_order()
    }
}

/// The structure of a tensor type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeForm {
    /// `f32` / `f64`: shape `()`.
    Scalar,
    /// `SVector<T, N>`: shape `(N,)`.
    Vector(Dim),
    /// `SMatrix<T, R, C>`: shape `(R, C)`, stored column-major.
    Matrix(Dim, Dim),
    /// `[X; N]`: shape `(N, ...shape of X)`, `N` blocks of `X` in order.
    Array(Box<TypeForm>, Dim),
    /// `Kron<T, P, Q, R, S>` (results only): `A ⊗ B` kept as its factors
    /// `A: (P, Q)` and `B: (R, S)`; shape `(P·R, Q·S)`.
    Kron([Dim; 4]),
}

impl TypeForm {
    /// Tensor shape, outermost axis first.
    pub fn shape(&self) -> Vec<Dim> {
        match self {
            TypeForm::Scalar => vec![],
            TypeForm::Vector(n) => vec![*n],
            TypeForm::Matrix(r, c) => vec![*r, *c],
            // Saturating: an impossible size is rejected right after parsing.
            TypeForm::Kron([p, q, r, s]) => vec![*p * *r, *q * *s],
            TypeForm::Array(inner, n) => {
                let mut shape = vec![*n];
                shape.extend(inner.shape());
                shape
            }
        }
    }

    /// Axes ordered from the largest memory stride to the smallest.
    pub fn storage_order(&self) -> Vec<usize> {
        match self {
            TypeForm::Scalar => vec![],
            TypeForm::Vector(_) => vec![0],
            // Column-major: the column index has the larger stride.
            TypeForm::Matrix(..) | TypeForm::Kron(_) => vec![1, 0],
            TypeForm::Array(inner, _) => {
                let mut order = vec![0];
                order.extend(inner.storage_order().into_iter().map(|axis| axis + 1));
                order
            }
        }
    }
}

/// `let name = expr;`.
pub struct Let {
    /// The bound name.
    pub name: Ident,
    /// The bound expression.
    pub expr: Expr,
}

/// An expression of the language.
pub enum Expr {
    /// A parameter or a `let` name.
    Name(Ident),
    /// `op(args...)`, also what `a + b` becomes.
    Call(Call),
    /// `(a, b, ...)`: only as the result of a fn with a tuple return type.
    Tuple(Vec<Expr>, SpanRange),
}

impl Expr {
    /// The source range of the whole expression.
    pub fn span(&self) -> SpanRange {
        match self {
            Expr::Name(ident) => SpanRange::single(ident.span()),
            Expr::Call(call) => call.span,
            Expr::Tuple(_, span) => *span,
        }
    }
}

/// An op applied to arguments.
pub struct Call {
    /// The op's name (`add` for `a + b`, spanned at the `+`).
    pub op: Ident,
    /// Arguments in order.
    pub args: Vec<Arg>,
    /// The whole call.
    pub span: SpanRange,
}

/// One argument of a call.
pub enum Arg {
    /// A tensor operand.
    Tensor(Expr),
    /// A positional numeric literal, such as the value of `constant(0.5, ...)`.
    Number(Number),
    /// A positional list of literals, such as the indices of `index(x, [2, 0])`.
    List(Vec<Number>, SpanRange),
    /// `key = value`.
    Keyword(Ident, AttrValue),
}

/// The value of a `key = value` argument.
pub enum AttrValue {
    /// A numeric literal, possibly negated.
    Number(Number),
    /// `[n, ...]`.
    List(Vec<Number>, SpanRange),
    /// `true` / `false`.
    Bool(bool, SpanRange),
}

impl AttrValue {
    /// What kind of value this is, for "takes a number, found ..." messages.
    pub fn describe(&self) -> String {
        match self {
            AttrValue::Number(n) => match (n.integer, n.size) {
                (Some(i), _) => format!("the integer `{i}`"),
                (None, Some(size)) => format!("the size `{size}`, which only rustc knows"),
                (None, None) => format!("the number `{}`", n.value),
            },
            AttrValue::List(items, _) => format!("a list of {}", items.len()),
            AttrValue::Bool(b, _) => format!("`{b}`"),
        }
    }

    /// Source range of the value.
    pub fn span(&self) -> SpanRange {
        match self {
            AttrValue::Number(n) => n.span,
            AttrValue::List(_, span) | AttrValue::Bool(_, span) => *span,
        }
    }
}

/// A numeric literal, possibly with a leading `-`.
#[derive(Clone, Copy, Debug)]
pub struct Number {
    /// The size, when written as one (`K`, `{K * 2}`, `sizes::LAST`):
    /// `value` and `integer` are then its value when the macro knows it.
    pub size: Option<Dim>,
    /// The value as a float.
    pub value: f64,
    /// The value when the literal is an integer (`1`, `-1`), else `None`.
    pub integer: Option<i64>,
    /// The literal, sign included.
    pub span: SpanRange,
}
