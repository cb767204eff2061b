//! A tiny reference evaluator over plain row-major tensors.
//!
//! Every op is written the slow, direct way: loop over the output's
//! multi-indices and compute each element from the definition (torch's and
//! cirkit's semantics, row-major index order). Nothing here is shared with
//! the macro or the runtime.
//!
//! Conventions (all ops):
//! - an `axis` is an `isize`; negative axes count from the end (`-1` = last);
//! - a merged axis of sizes `d1, d2` has index `i1 * d2 + i2` (kron per
//!   axis, outer product/sum along `axis`, flatten);
//! - reductions drop the reduced axis (torch's `keepdim=False`).

/// A tensor: its shape and its data in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct T {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl T {
    /// A tensor from its shape and row-major data.
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> T {
        let t = T { shape, data };
        assert_eq!(
            t.data.len(),
            numel(&t.shape),
            "tensor of shape {:?} needs {} elements, got {}",
            t.shape,
            numel(&t.shape),
            t.data.len()
        );
        t
    }

    /// A tensor from its shape and a function of the multi-index.
    pub fn from_fn(shape: Vec<usize>, mut f: impl FnMut(&[usize]) -> f64) -> T {
        let data = multi_indices(&shape).iter().map(|ix| f(ix)).collect();
        T::new(shape, data)
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The element at a multi-index.
    pub fn at(&self, ix: &[usize]) -> f64 {
        assert_eq!(
            ix.len(),
            self.rank(),
            "index {ix:?} for shape {:?}",
            self.shape
        );
        let mut flat = 0;
        for (d, (&i, &n)) in ix.iter().zip(&self.shape).enumerate() {
            assert!(
                i < n,
                "index {ix:?} out of bounds in axis {d} of {:?}",
                self.shape
            );
            flat = flat * n + i;
        }
        self.data[flat]
    }

    /// Resolves a possibly negative axis against this tensor's rank.
    pub fn axis(&self, axis: isize) -> usize {
        norm_axis(axis, self.rank())
    }
}

/// Number of elements of a shape (1 for rank 0).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// All multi-indices of a shape, in row-major order (the last axis fastest).
pub fn multi_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = Vec::with_capacity(numel(shape));
    if numel(shape) == 0 {
        return out;
    }
    let mut ix = vec![0; shape.len()];
    loop {
        out.push(ix.clone());
        // Odometer increment, last axis first.
        let mut d = shape.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            ix[d] += 1;
            if ix[d] < shape[d] {
                break;
            }
            ix[d] = 0;
        }
    }
}

/// `axis` in `-rank..rank`, resolved to `0..rank`.
pub fn norm_axis(axis: isize, rank: usize) -> usize {
    let r = rank as isize;
    assert!(
        -r <= axis && axis < r,
        "axis {axis} out of range for rank {rank}"
    );
    if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    }
}

// ---------------------------------------------------------------- elementwise

fn map(x: &T, f: impl Fn(f64) -> f64) -> T {
    T::new(x.shape.clone(), x.data.iter().map(|&v| f(v)).collect())
}

/// `f` elementwise; a scalar `()` operand is broadcast (torch's 0-d
/// tensors), any other mismatch is an error.
fn zip(what: &str, a: &T, b: &T, f: impl Fn(f64, f64) -> f64) -> T {
    let at = |t: &T, ix: &[usize]| {
        if t.shape.is_empty() {
            t.data[0]
        } else {
            t.at(ix)
        }
    };
    let shape = match (a.shape.is_empty(), b.shape.is_empty()) {
        (true, false) => b.shape.clone(),
        (false, true) => a.shape.clone(),
        _ => {
            assert_eq!(a.shape, b.shape, "{what}: shapes differ");
            a.shape.clone()
        }
    };
    T::from_fn(shape, |ix| f(at(a, ix), at(b, ix)))
}

pub fn exp(x: &T) -> T {
    map(x, f64::exp)
}

/// The complex conjugate: the identity on real tensors.
pub fn conjugate(x: &T) -> T {
    x.clone()
}

pub fn log(x: &T) -> T {
    map(x, f64::ln)
}

pub fn square(x: &T) -> T {
    map(x, |v| v * v)
}

/// `1 / (1 + e^-x)`.
pub fn sigmoid(x: &T) -> T {
    map(x, |v| 1.0 / (1.0 + (-v).exp()))
}

/// torch's softplus (`beta = 1`, `threshold = 20`): `x` above 20,
/// `log(1 + e^x)` otherwise.
pub fn softplus(x: &T) -> T {
    map(x, |v| if v > 20.0 { v } else { v.exp().ln_1p() })
}

/// `vmin + (vmax - vmin) * sigmoid(x)`.
pub fn scaled_sigmoid(x: &T, vmin: f64, vmax: f64) -> T {
    map(&sigmoid(x), |s| vmin + (vmax - vmin) * s)
}

/// torch's clamp: `min(max(x, lo), hi)`; NaN stays NaN.
pub fn clamp(x: &T, min: Option<f64>, max: Option<f64>) -> T {
    map(x, |v| {
        let mut v = v;
        if let Some(lo) = min {
            if v < lo {
                v = lo;
            }
        }
        if let Some(hi) = max {
            if v > hi {
                v = hi;
            }
        }
        v
    })
}

/// A tensor of the given shape with every element equal to `value`.
pub fn constant(value: f64, shape: &[usize]) -> T {
    T::from_fn(shape.to_vec(), |_| value)
}

pub fn add(a: &T, b: &T) -> T {
    zip("add", a, b, |x, y| x + y)
}

pub fn hadamard(a: &T, b: &T) -> T {
    zip("hadamard", a, b, |x, y| x * y)
}

pub fn div(a: &T, b: &T) -> T {
    zip("div", a, b, |x, y| x / y)
}

/// torch.maximum: NaN if either is NaN.
pub fn maximum(a: &T, b: &T) -> T {
    zip("maximum", a, b, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else {
            x.max(y)
        }
    })
}

/// torch.minimum: NaN if either is NaN.
pub fn minimum(a: &T, b: &T) -> T {
    zip("minimum", a, b, |x, y| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else {
            x.min(y)
        }
    })
}

/// torch.logaddexp: `log(eˣ + eʸ)`, and `x` when both are the same infinity.
pub fn logaddexp(a: &T, b: &T) -> T {
    zip("logaddexp", a, b, |x, y| {
        if x == y && x.is_infinite() {
            x
        } else {
            let m = x.max(y);
            m + ((x - m).exp() + (y - m).exp()).ln()
        }
    })
}

pub fn sqrt(x: &T) -> T {
    map(x, f64::sqrt)
}

/// `x / Σ x` along `axis` (a zero row gives NaN).
pub fn normalize(x: &T, axis: isize) -> T {
    let n = x.shape[x.axis(axis)];
    fibers(x, axis, n, |v| {
        let s: f64 = v.iter().sum();
        v.iter().map(|&y| y / s).collect()
    })
}

// ---------------------------------------------------------- index algebra ops

/// Kronecker product of two tensors of equal rank: along every axis `d` the
/// output has size `a_d * b_d` and index `i * b_d + j` holds
/// `a[.., i, ..] * b[.., j, ..]`.
pub fn kron(a: &T, b: &T) -> T {
    assert_eq!(a.rank(), b.rank(), "kron: ranks differ");
    let shape: Vec<usize> = a.shape.iter().zip(&b.shape).map(|(x, y)| x * y).collect();
    T::from_fn(shape, |ix| {
        let ia: Vec<usize> = ix.iter().zip(&b.shape).map(|(k, bd)| k / bd).collect();
        let ib: Vec<usize> = ix.iter().zip(&b.shape).map(|(k, bd)| k % bd).collect();
        a.at(&ia) * b.at(&ib)
    })
}

fn outer(what: &str, a: &T, b: &T, axis: isize, f: impl Fn(f64, f64) -> f64) -> T {
    assert_eq!(a.rank(), b.rank(), "{what}: ranks differ");
    let d = a.axis(axis);
    for k in 0..a.rank() {
        if k != d {
            assert_eq!(a.shape[k], b.shape[k], "{what}: axis {k} differs");
        }
    }
    let bd = b.shape[d];
    let mut shape = a.shape.clone();
    shape[d] = a.shape[d] * bd;
    T::from_fn(shape, |ix| {
        let mut ia = ix.to_vec();
        let mut ib = ix.to_vec();
        ia[d] = ix[d] / bd;
        ib[d] = ix[d] % bd;
        f(a.at(&ia), b.at(&ib))
    })
}

/// Outer product along `axis`: the output's index `i * b_d + j` along `axis`
/// holds `a[.., i, ..] * b[.., j, ..]`; the other axes must be equal.
pub fn outer_product(a: &T, b: &T, axis: isize) -> T {
    outer("outer_product", a, b, axis, |x, y| x * y)
}

/// Outer sum along `axis`, like [`outer_product`] with `+`.
pub fn outer_sum(a: &T, b: &T, axis: isize) -> T {
    outer("outer_sum", a, b, axis, |x, y| x + y)
}

/// torch's flatten: axes `start..=end` merged into one. Row-major, so the data
/// is unchanged, but it is computed from the indices anyway. A rank-0 tensor
/// becomes shape `(1,)`.
pub fn flatten(x: &T, start: isize, end: isize) -> T {
    if x.rank() == 0 {
        return T::new(vec![1], x.data.clone());
    }
    let (s, e) = (x.axis(start), x.axis(end));
    assert!(s <= e, "flatten: start {start} after end {end}");
    let merged = &x.shape[s..=e];
    let mut shape = x.shape[..s].to_vec();
    shape.push(numel(merged));
    shape.extend_from_slice(&x.shape[e + 1..]);
    T::from_fn(shape, |ix| {
        // Unravel the merged index (row-major) into the axes it came from.
        let mut src = ix[..s].to_vec();
        let mut k = ix[s];
        let mut merged_ix = vec![0; merged.len()];
        for d in (0..merged.len()).rev() {
            merged_ix[d] = k % merged[d];
            k /= merged[d];
        }
        src.extend(merged_ix);
        src.extend_from_slice(&ix[s + 1..]);
        x.at(&src)
    })
}

/// torch's index_select: along `axis`, output index `i` holds input index
/// `indices[i]`.
pub fn index(x: &T, indices: &[usize], axis: isize) -> T {
    let d = x.axis(axis);
    for &i in indices {
        assert!(
            i < x.shape[d],
            "index: {i} out of range for axis of size {}",
            x.shape[d]
        );
    }
    let mut shape = x.shape.clone();
    shape[d] = indices.len();
    T::from_fn(shape, |ix| {
        let mut src = ix.to_vec();
        src[d] = indices[ix[d]];
        x.at(&src)
    })
}

/// Matrix product of rank-2 tensors, or of rank-3+ tensors with equal leading
/// (batch) axes.
pub fn matmul(a: &T, b: &T) -> T {
    let r = a.rank();
    assert!(
        r >= 2 && r == b.rank(),
        "matmul: ranks {} and {}",
        r,
        b.rank()
    );
    assert_eq!(
        a.shape[..r - 2],
        b.shape[..r - 2],
        "matmul: batch axes differ"
    );
    let (n, k, m) = (a.shape[r - 2], a.shape[r - 1], b.shape[r - 1]);
    assert_eq!(b.shape[r - 2], k, "matmul: inner sizes differ");
    let mut shape = a.shape[..r - 2].to_vec();
    shape.extend([n, m]);
    T::from_fn(shape, |ix| {
        let mut s = 0.0;
        for t in 0..k {
            let mut ia = ix.to_vec();
            ia[r - 1] = t;
            let mut ib = ix.to_vec();
            ib[r - 2] = t;
            s += a.at(&ia) * b.at(&ib);
        }
        s
    })
}

// ------------------------------------------------------------- along an axis

/// Applies `f` to every fiber of `x` along `axis` (the values with all other
/// indices fixed, in index order); `f` returns the new fiber, of any length.
fn fibers(x: &T, axis: isize, out_len: usize, f: impl Fn(&[f64]) -> Vec<f64>) -> T {
    let d = x.axis(axis);
    let mut shape = x.shape.clone();
    shape[d] = out_len;
    let mut rest_shape = x.shape.clone();
    rest_shape[d] = 1;
    let mut out = vec![f64::NAN; numel(&shape)];
    for base in multi_indices(&rest_shape) {
        let fiber: Vec<f64> = (0..x.shape[d])
            .map(|i| {
                let mut ix = base.clone();
                ix[d] = i;
                x.at(&ix)
            })
            .collect();
        let res = f(&fiber);
        assert_eq!(res.len(), out_len);
        for (i, v) in res.into_iter().enumerate() {
            let mut ix = base.clone();
            ix[d] = i;
            let mut flat = 0;
            for (&k, &n) in ix.iter().zip(&shape) {
                flat = flat * n + k;
            }
            out[flat] = v;
        }
    }
    T::new(shape, out)
}

/// Drops axis `axis` (of size 1 after a reduction).
fn squeeze(x: T, axis: usize) -> T {
    let mut shape = x.shape;
    assert_eq!(shape[axis], 1);
    shape.remove(axis);
    T::new(shape, x.data)
}

fn reduce(x: &T, axis: isize, f: impl Fn(&[f64]) -> f64) -> T {
    let d = x.axis(axis);
    squeeze(fibers(x, axis, 1, |v| vec![f(v)]), d)
}

/// Sum along `axis` (dropped), in index order.
pub fn reduce_sum(x: &T, axis: isize) -> T {
    reduce(x, axis, |v| v.iter().sum())
}

/// Product along `axis` (dropped), in index order.
pub fn reduce_prod(x: &T, axis: isize) -> T {
    reduce(x, axis, |v| v.iter().product())
}

/// Maximum of a fiber (NaN-propagating like torch's amax).
fn fiber_max(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// torch's logsumexp along `axis` (dropped): `m + log(sum(exp(x - m)))` with
/// `m` the maximum, taken as 0 when it is infinite (so all `-inf` gives
/// `-inf` and any `+inf` gives `+inf`).
pub fn reduce_lse(x: &T, axis: isize) -> T {
    reduce(x, axis, |v| {
        let mut m = fiber_max(v);
        if m.is_infinite() {
            m = 0.0;
        }
        m + v.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
    })
}

/// `exp(x - m) / sum(exp(x - m))` along `axis`, `m` the maximum.
pub fn softmax(x: &T, axis: isize) -> T {
    let n = x.shape[x.axis(axis)];
    fibers(x, axis, n, |v| {
        let m = fiber_max(v);
        let e: Vec<f64> = v.iter().map(|&x| (x - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|&y| y / s).collect()
    })
}

/// `(x - m) - log(sum(exp(x - m)))` along `axis`, `m` the maximum.
pub fn log_softmax(x: &T, axis: isize) -> T {
    let n = x.shape[x.axis(axis)];
    fibers(x, axis, n, |v| {
        let m = fiber_max(v);
        let s: f64 = v.iter().map(|&x| (x - m).exp()).sum();
        v.iter().map(|&x| (x - m) - s.ln()).collect()
    })
}

// ------------------------------------------------------- circuit products
//
// cirkit's product ops, without the fold axis, written from the definitions
// (cirkit's formulas as printed, not the macro's stable forms).

/// cirkit's mixing weight: `(K, H) → (K, K·H)` with `W[k, h·K + k'] = v[k, h]`
/// when `k = k'` and 0 otherwise.
pub fn mixing_weight(v: &T) -> T {
    assert_eq!(v.rank(), 2, "mixing_weight: rank");
    let (k, h) = (v.shape[0], v.shape[1]);
    T::from_fn(vec![k, k * h], |ix| {
        let (row, col) = (ix[0], ix[1]);
        if col % k == row {
            v.at(&[row, col / k])
        } else {
            0.0
        }
    })
}

/// Every pair `(i, j)` of two `(K1,)` / `(K2,)` Gaussian layers at index
/// `i·K2 + j`: `f(m1[i], s1[i], m2[j], s2[j])`.
fn gaussian_pairs(m1: &T, s1: &T, m2: &T, s2: &T, f: impl Fn(f64, f64, f64, f64) -> f64) -> T {
    for t in [m1, s1, m2, s2] {
        assert_eq!(t.rank(), 1, "gaussian product: vectors only");
    }
    assert_eq!(m1.shape, s1.shape, "gaussian product: layer 1");
    assert_eq!(m2.shape, s2.shape, "gaussian product: layer 2");
    let k2 = m2.shape[0];
    T::from_fn(vec![m1.shape[0] * k2], |ix| {
        let (i, j) = (ix[0] / k2, ix[0] % k2);
        f(m1.at(&[i]), s1.at(&[i]), m2.at(&[j]), s2.at(&[j]))
    })
}

/// Mean of `N(m1, s1²)·N(m2, s2²)`: `(m1·s2² + m2·s1²) / (s1² + s2²)`.
pub fn gaussian_product_mean(m1: &T, s1: &T, m2: &T, s2: &T) -> T {
    gaussian_pairs(m1, s1, m2, s2, |m1, s1, m2, s2| {
        (m1 * s2 * s2 + m2 * s1 * s1) / (s1 * s1 + s2 * s2)
    })
}

/// Stddev of `N(m1, s1²)·N(m2, s2²)`: `sqrt(s1²·s2² / (s1² + s2²))`.
pub fn gaussian_product_stddev(s1: &T, s2: &T) -> T {
    gaussian_pairs(s1, s1, s2, s2, |_, s1, _, s2| {
        (s1 * s1 * s2 * s2 / (s1 * s1 + s2 * s2)).sqrt()
    })
}

/// Log normalizer of `N(m1, s1²)·N(m2, s2²)`: `log N(m1; m2, s1² + s2²)`.
pub fn gaussian_product_log_partition(m1: &T, s1: &T, m2: &T, s2: &T) -> T {
    gaussian_pairs(m1, s1, m2, s2, |m1, s1, m2, s2| {
        let var = s1 * s1 + s2 * s2;
        -0.5 * ((2.0 * std::f64::consts::PI).ln() + var.ln() + (m1 - m2).powi(2) / var)
    })
}

/// Products of two layers of polynomials (coefficients lowest degree first):
/// row `i·K2 + j` holds the coefficients of `p_i · q_j`.
pub fn polynomial_product(p: &T, q: &T) -> T {
    assert!(
        p.rank() == 2 && q.rank() == 2,
        "polynomial_product: matrices"
    );
    let (d1, d2, k2) = (p.shape[1], q.shape[1], q.shape[0]);
    T::from_fn(vec![p.shape[0] * k2, d1 + d2 - 1], |ix| {
        let (i, j, deg) = (ix[0] / k2, ix[0] % k2, ix[1]);
        let mut s = 0.0;
        for a in 0..d1 {
            for b in 0..d2 {
                if a + b == deg {
                    s += p.at(&[i, a]) * q.at(&[j, b]);
                }
            }
        }
        s
    })
}

/// The `order`-th derivative of each row's polynomial: `(K, D − order)`, or
/// `(K, 1)` of zeros when `D ≤ order` (cirkit's `zeros_like`).
pub fn polynomial_differential(p: &T, order: usize) -> T {
    assert_eq!(p.rank(), 2, "polynomial_differential: matrix");
    let (k, d) = (p.shape[0], p.shape[1]);
    if d <= order {
        return T::new(vec![k, 1], vec![0.0; k]);
    }
    T::from_fn(vec![k, d - order], |ix| {
        // d^n/dx^n of c·x^(j+n) is c·(j+n)!/j! · x^j.
        let j = ix[1];
        let factor: f64 = (j + 1..=j + order).map(|f| f as f64).product();
        p.at(&[ix[0], j + order]) * factor
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iota(shape: &[usize]) -> T {
        let n = numel(shape);
        T::new(shape.to_vec(), (0..n).map(|i| i as f64).collect())
    }

    #[test]
    fn hand_checked_examples() {
        // kron of (1,2) and (2,1): out[i, j] = a[0, j / 1] * b[i, 0].
        let a = T::new(vec![1, 2], vec![1.0, 2.0]);
        let b = T::new(vec![2, 1], vec![3.0, 5.0]);
        let k = kron(&a, &b);
        assert_eq!(k.shape, vec![2, 2]);
        assert_eq!(k.data, vec![3.0, 6.0, 5.0, 10.0]);

        // outer product along axis 1 of (1,2) and (1,3).
        let b = T::new(vec![1, 3], vec![1.0, 10.0, 100.0]);
        let o = outer_product(&a, &b, -1);
        assert_eq!(o.shape, vec![1, 6]);
        assert_eq!(o.data, vec![1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
        let o = outer_sum(&a, &b, 1);
        assert_eq!(o.data, vec![2.0, 11.0, 101.0, 3.0, 12.0, 102.0]);

        let x = iota(&[2, 3, 4]);
        assert_eq!(flatten(&x, 1, 2).shape, vec![2, 12]);
        assert_eq!(flatten(&x, 0, -1).shape, vec![24]);
        assert_eq!(flatten(&x, 0, 1).shape, vec![6, 4]);

        let i = index(&x, &[2, 0], -1);
        assert_eq!(i.shape, vec![2, 3, 2]);
        assert_eq!(i.data[..4], [2.0, 0.0, 6.0, 4.0]);

        let s = reduce_sum(&x, 1);
        assert_eq!(s.shape, vec![2, 4]);
        assert_eq!(s.data[..2], [0.0 + 4.0 + 8.0, 1.0 + 5.0 + 9.0]);
        let p = reduce_prod(&x, -1);
        assert_eq!(p.shape, vec![2, 3]);
        assert_eq!(p.data[1], 4.0 * 5.0 * 6.0 * 7.0);

        let m = matmul(&iota(&[2, 3]), &iota(&[3, 2]));
        assert_eq!(m.data, vec![10.0, 13.0, 28.0, 40.0]);

        let sm = softmax(&x, 0);
        assert!((sm.at(&[0, 0, 0]) - 1.0 / (1.0 + 12f64.exp())).abs() < 1e-15);
        let lse = reduce_lse(&T::new(vec![2], vec![f64::NEG_INFINITY; 2]), 0);
        assert_eq!(lse.data, vec![f64::NEG_INFINITY]);
        assert_eq!(lse.shape, Vec::<usize>::new());
    }
}
