//! Evaluates a graph body (the text inside a `param_graph!` function, as in
//! the fixture's `body` field) with the [`reference`](super::reference)
//! evaluator, so the reference can be checked against cirkit's outputs.
//!
//! Grammar: `let name = expr;` statements, then a result expression. An
//! expression is a name, or a call `op(args)` whose arguments are
//! expressions, numbers, integer lists `[2, 0, 2]` and `key = value`
//! attributes. Defaults follow the macro: `axis = -1`, `start = 0`, `end = -1`.

use super::reference::{self as r, T};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Punct(char),
}

fn tokenize(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || (matches!(chars[i], '-' | '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let text = text.trim_end_matches("f64").trim_end_matches("f32");
            let text = text.replace('_', "");
            toks.push(Tok::Num(
                text.parse()
                    .unwrap_or_else(|_| panic!("bad number {text:?} in body")),
            ));
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    toks
}

/// A parsed argument value.
#[derive(Clone, Debug)]
enum Val {
    Tensor(T),
    Num(f64),
    List(Vec<f64>),
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    env: Vec<(String, T)>,
    src: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.pos + 1)
    }

    fn next(&mut self) -> Tok {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .unwrap_or_else(|| panic!("unexpected end of body {:?}", self.src));
        self.pos += 1;
        t
    }

    fn expect(&mut self, c: char) {
        let t = self.next();
        assert_eq!(t, Tok::Punct(c), "expected `{c}` in {:?}", self.src);
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn body(&mut self) -> T {
        while self.peek() == Some(&Tok::Ident("let".into())) {
            self.pos += 1;
            let Tok::Ident(name) = self.next() else {
                panic!("expected a name after `let` in {:?}", self.src)
            };
            self.expect('=');
            let v = self.tensor_expr();
            self.expect(';');
            self.env.push((name, v));
        }
        let v = self.tensor_expr();
        assert!(self.peek().is_none(), "trailing tokens in {:?}", self.src);
        v
    }

    fn tensor_expr(&mut self) -> T {
        match self.value() {
            Val::Tensor(t) => t,
            Val::Num(x) => T::new(vec![], vec![x]),
            Val::List(_) => panic!("a list is not a tensor in {:?}", self.src),
        }
    }

    fn value(&mut self) -> Val {
        match self.next() {
            Tok::Num(x) => Val::Num(x),
            Tok::Punct('-') => match self.value() {
                Val::Num(x) => Val::Num(-x),
                _ => panic!("`-` before a non-number in {:?}", self.src),
            },
            Tok::Punct('[') => {
                let mut items = Vec::new();
                while !self.eat(']') {
                    match self.value() {
                        Val::Num(x) => items.push(x),
                        _ => panic!("lists hold numbers only in {:?}", self.src),
                    }
                    if !self.eat(',') {
                        self.expect(']');
                        break;
                    }
                }
                Val::List(items)
            }
            Tok::Ident(name) => {
                if self.eat('(') {
                    self.call(&name)
                } else {
                    let t = self
                        .env
                        .iter()
                        .rev()
                        .find(|(n, _)| *n == name)
                        .unwrap_or_else(|| panic!("unknown name `{name}` in {:?}", self.src));
                    Val::Tensor(t.1.clone())
                }
            }
            t => panic!("unexpected {t:?} in {:?}", self.src),
        }
    }

    fn call(&mut self, op: &str) -> Val {
        let mut pos = Vec::new();
        let mut kw: Vec<(String, Val)> = Vec::new();
        while !self.eat(')') {
            let is_kw = matches!(self.peek(), Some(Tok::Ident(_)))
                && self.peek2() == Some(&Tok::Punct('='));
            if is_kw {
                let Tok::Ident(k) = self.next() else {
                    unreachable!()
                };
                self.expect('=');
                kw.push((k, self.value()));
            } else {
                pos.push(self.value());
            }
            if !self.eat(',') {
                self.expect(')');
                break;
            }
        }
        Val::Tensor(apply(op, pos, kw, self.src))
    }
}

fn apply(op: &str, pos: Vec<Val>, mut kw: Vec<(String, Val)>, src: &str) -> T {
    let mut take = |key: &str| -> Option<Val> {
        let i = kw.iter().position(|(k, _)| k == key)?;
        Some(kw.remove(i).1)
    };
    let num = |v: Option<Val>| -> Option<f64> {
        v.map(|v| match v {
            Val::Num(x) => x,
            other => panic!("expected a number, found {other:?} in {src:?}"),
        })
    };
    let axis_of =
        |v: Option<Val>, default: isize| -> isize { num(v).map(|x| x as isize).unwrap_or(default) };
    let tensor = |i: usize| -> T {
        match pos.get(i) {
            Some(Val::Tensor(t)) => t.clone(),
            Some(Val::Num(x)) => T::new(vec![], vec![*x]),
            other => panic!("{op}: argument {i} is {other:?} in {src:?}"),
        }
    };
    let out = match op {
        "exp" => r::exp(&tensor(0)),
        "log" => r::log(&tensor(0)),
        "square" => r::square(&tensor(0)),
        "sigmoid" => r::sigmoid(&tensor(0)),
        "softplus" => r::softplus(&tensor(0)),
        "scaled_sigmoid" => {
            let vmin = num(take("vmin")).expect("scaled_sigmoid needs vmin");
            let vmax = num(take("vmax")).expect("scaled_sigmoid needs vmax");
            r::scaled_sigmoid(&tensor(0), vmin, vmax)
        }
        "clamp" => r::clamp(&tensor(0), num(take("min")), num(take("max"))),
        "add" => r::add(&tensor(0), &tensor(1)),
        "hadamard" => r::hadamard(&tensor(0), &tensor(1)),
        "matmul" => r::matmul(&tensor(0), &tensor(1)),
        "kron" => r::kron(&tensor(0), &tensor(1)),
        "outer_product" => r::outer_product(&tensor(0), &tensor(1), axis_of(take("axis"), -1)),
        "outer_sum" => r::outer_sum(&tensor(0), &tensor(1), axis_of(take("axis"), -1)),
        "reduce_sum" => r::reduce_sum(&tensor(0), axis_of(take("axis"), -1)),
        "reduce_prod" => r::reduce_prod(&tensor(0), axis_of(take("axis"), -1)),
        "reduce_lse" => r::reduce_lse(&tensor(0), axis_of(take("axis"), -1)),
        "softmax" => r::softmax(&tensor(0), axis_of(take("axis"), -1)),
        "log_softmax" => r::log_softmax(&tensor(0), axis_of(take("axis"), -1)),
        "flatten" => {
            let start = axis_of(take("start"), 0);
            let end = axis_of(take("end"), -1);
            r::flatten(&tensor(0), start, end)
        }
        "index" => {
            let list = match pos.get(1) {
                Some(Val::List(l)) => l.clone(),
                other => panic!("index: expected a list, found {other:?} in {src:?}"),
            };
            let list: Vec<usize> = list.iter().map(|&i| i as usize).collect();
            r::index(&tensor(0), &list, axis_of(take("axis"), -1))
        }
        "constant" => {
            let value = match pos.first() {
                Some(Val::Num(x)) => *x,
                other => panic!("constant: expected a number, found {other:?}"),
            };
            let shape = match take("shape") {
                Some(Val::List(l)) => l.iter().map(|&d| d as usize).collect(),
                None => vec![],
                other => panic!("constant: bad shape {other:?}"),
            };
            r::constant(value, &shape)
        }
        "mixing_weight" => r::mixing_weight(&tensor(0)),
        "gaussian_product_mean" => {
            r::gaussian_product_mean(&tensor(0), &tensor(1), &tensor(2), &tensor(3))
        }
        "gaussian_product_stddev" => r::gaussian_product_stddev(&tensor(0), &tensor(1)),
        "gaussian_product_log_partition" => {
            r::gaussian_product_log_partition(&tensor(0), &tensor(1), &tensor(2), &tensor(3))
        }
        "polynomial_product" => r::polynomial_product(&tensor(0), &tensor(1)),
        "polynomial_differential" => {
            let order = num(take("order")).map_or(1, |n| n as usize);
            r::polynomial_differential(&tensor(0), order)
        }
        other => panic!("the reference evaluator has no op `{other}` (in {src:?})"),
    };
    assert!(kw.is_empty(), "{op}: unused attributes {kw:?} in {src:?}");
    out
}

/// Evaluates `body` with the named input tensors.
pub fn eval(body: &str, inputs: &[(&str, T)]) -> T {
    let mut p = Parser {
        toks: tokenize(body),
        pos: 0,
        env: inputs
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect(),
        src: body,
    };
    p.body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_lets_and_attributes() {
        let x = T::new(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let y = eval(
            "let s = reduce_sum(x, axis = -1);\nlet c = clamp(s, min = -0.5, max = 5.0);\nc",
            &[("x", x.clone())],
        );
        assert_eq!(y, T::new(vec![2], vec![3.0, 5.0]));
        let y = eval("index(x, [1, 1, 0], axis = 0)", &[("x", x)]);
        assert_eq!(y.shape, vec![3, 2]);
        assert_eq!(y.data, vec![3.0, 4.0, 3.0, 4.0, 1.0, 2.0]);
    }
}
