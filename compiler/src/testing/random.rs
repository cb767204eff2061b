//! A generator of random well-shaped programs (`f64`), for the compiler's
//! differential test and the facade's stack tests: a chain of `let`s, each
//! a random op of the language over earlier values, with the rewrite rules'
//! patterns planted among them. Seeded, so a failing program replays.

use super::{type_name, DType, Rng as Dice};

/// A generated program: `fn name(a: A, b: B) -> R { lets… out }`.
pub struct RandomProgram {
    /// The types of the two leaves, `a` and `b`.
    pub leaves: [String; 2],
    /// The `let` statements, in order (possibly none).
    pub lets: Vec<String>,
    /// The name returned (`a` or `b` when there is no `let`).
    pub out: String,
    /// The declared result type.
    pub ret: String,
}

impl RandomProgram {
    /// The program as one `fn` item called `name`, its statements separated
    /// by `sep`.
    pub fn source(&self, name: &str, sep: &str) -> String {
        let [a, b] = &self.leaves;
        let mut body = self.lets.clone();
        body.push(self.out.clone());
        format!(
            "fn {name}(a: &{a}, b: &{b}) -> {} {{ {} }}",
            self.ret,
            body.join(sep)
        )
    }
}

fn elements(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The program of `seed`: leaves drawn from `leaves`, at least `min_steps`
/// attempted steps (up to five more), every value at most `max_elements`
/// elements (an op that would exceed it is skipped).
pub fn random_program(
    seed: u64,
    leaves: &[&[usize]],
    min_steps: usize,
    max_elements: usize,
) -> RandomProgram {
    let mut dice = Dice(seed);
    let a: Vec<usize> = leaves[dice.below(leaves.len())].to_vec();
    let b = if dice.below(2) == 0 {
        a.clone()
    } else {
        leaves[dice.below(leaves.len())].to_vec()
    };
    let mut pool: Vec<(String, Vec<usize>)> =
        vec![("a".into(), a.clone()), ("b".into(), b.clone())];
    let mut lets = Vec::new();
    for step in 0..(min_steps + dice.below(6)) {
        let (x, xs) = pool[dice.below(pool.len())].clone();
        let same: Vec<_> = pool.iter().filter(|(_, s)| *s == xs).cloned().collect();
        let (y, _) = same[dice.below(same.len())].clone();
        let rank = xs.len();
        let axis = if rank > 0 { dice.below(rank) } else { 0 };
        let mut reduced = xs.clone();
        if rank > 0 {
            reduced.remove(axis);
        }
        let mut doubled = xs.clone();
        if rank > 0 {
            doubled[axis] *= xs[axis];
        }
        let vectors: Vec<_> = pool.iter().filter(|(_, s)| s.len() == 1).cloned().collect();
        let choice = dice.below(15);
        let (expr, shape) = match choice {
            0 => (format!("log(softmax({x}, axis = {axis}))"), xs.clone()),
            1 => {
                let r = dice.below(rank.max(1));
                if elements(&doubled) > max_elements {
                    continue;
                }
                let mut s = doubled.clone();
                if rank > 0 {
                    s.remove(r);
                }
                (
                    format!("reduce_sum(outer_product({x}, {y}, axis = {axis}), axis = {r})"),
                    s,
                )
            }
            2 => (format!("log(sigmoid({x}))"), xs.clone()),
            3 => (
                format!("log(reduce_sum(exp({x}), axis = {axis}))"),
                reduced.clone(),
            ),
            4 => (format!("log(exp({x}))"), xs.clone()),
            5 => (format!("softmax({x}, axis = {axis})"), xs.clone()),
            6 => (format!("hadamard({x}, {y})"), xs.clone()),
            7 => (format!("add({x}, {y})"), xs.clone()),
            8 => (format!("exp(clamp({x}, max = 3.0))"), xs.clone()),
            9 => (format!("reduce_lse({x}, axis = {axis})"), reduced.clone()),
            10 => (
                format!("outer_sum({x}, {y}, axis = {axis})"),
                doubled.clone(),
            ),
            11 => (format!("square({x})"), xs.clone()),
            12 => (format!("sigmoid({x})"), xs.clone()),
            13 => (format!("reduce_sum({x}, axis = {axis})"), reduced.clone()),
            _ => {
                // Two parameters of one product of Gaussian layers.
                if rank != 1 {
                    continue;
                }
                let (z, zs) = vectors[dice.below(vectors.len())].clone();
                let part = ["mean", "log_partition"][dice.below(2)];
                (
                    format!(
                        "add(gaussian_product_{part}({y}, {x}, {z}, {z}), gaussian_product_stddev({x}, {z}))"
                    ),
                    vec![xs[0] * zs[0]],
                )
            }
        };
        if rank == 0 && !matches!(choice, 2 | 4 | 6 | 7 | 8 | 11 | 12) {
            continue;
        }
        if elements(&shape) > max_elements {
            continue;
        }
        let name = format!("v{step}");
        lets.push(format!("let {name} = {expr};"));
        pool.push((name, shape));
    }
    let (out, out_shape) = pool.last().cloned().unwrap_or(("a".into(), a.clone()));
    RandomProgram {
        leaves: [type_name(&a, DType::F64), type_name(&b, DType::F64)],
        lets,
        out,
        ret: type_name(&out_shape, DType::F64),
    }
}

/// The sizes of `types` written as named constants, for the generators'
/// named-size variants: every dimension `n` of the types (an integer after
/// `, ` or `; `) becomes `{prefix}{n}`. Returns the renamed types and the
/// `const` items they need (`const {prefix}{n}: usize = {n};`), in
/// increasing order of value.
pub fn named_sizes(types: &[&str], prefix: &str) -> (Vec<String>, Vec<String>) {
    let mut used = std::collections::BTreeSet::new();
    let renamed = types
        .iter()
        .map(|ty| {
            let mut out = String::new();
            let mut rest = *ty;
            while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
                let len = rest[start..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len() - start);
                let (before, digits) = (&rest[..start], &rest[start..start + len]);
                out.push_str(before);
                // A dimension follows `, ` or `; `; `f64`'s digits do not.
                if before.ends_with(", ") || before.ends_with("; ") {
                    let n: usize = digits.parse().expect("a dimension fits usize");
                    used.insert(n);
                    out.push_str(&format!("{prefix}{n}"));
                } else {
                    out.push_str(digits);
                }
                rest = &rest[start + len..];
            }
            out.push_str(rest);
            out
        })
        .collect();
    let consts = used
        .into_iter()
        .map(|n| format!("const {prefix}{n}: usize = {n};"))
        .collect();
    (renamed, consts)
}

impl RandomProgram {
    /// [`RandomProgram::source`] with every size of the signature written
    /// as a named constant ([`named_sizes`]), the `const` items first.
    pub fn named_source(&self, name: &str, sep: &str, prefix: &str) -> String {
        let types = [
            self.leaves[0].as_str(),
            self.leaves[1].as_str(),
            self.ret.as_str(),
        ];
        let (renamed, consts) = named_sizes(&types, prefix);
        let named = RandomProgram {
            leaves: [renamed[0].clone(), renamed[1].clone()],
            lets: self.lets.clone(),
            out: self.out.clone(),
            ret: renamed[2].clone(),
        };
        format!("{}{sep}{}", consts.join(sep), named.source(name, sep))
    }
}
