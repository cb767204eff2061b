//! Gaussian products at the extremes of `f32` and `f64`, through the macro:
//! no intermediate overflows or underflows where the result does not (the
//! summed variance `s1² + s2²` would, for stddevs beyond √max or below
//! √min), and the `gaussian_product` rule's shared term gives bit for bit
//! the values of the ops computed alone.
//!
//! The reference is the textbook form evaluated on moderate values and
//! scaled by an exact power of two (`m`, `s` scale with `2ᵏ`, `log Z`
//! shifts by `−k·log 2`), in `f64`; tolerance 8 ulps of the type (of
//! `max(|m1|, |m2|)` for the mean, whose correction may cancel, and of the
//! sum of the terms' magnitudes for `log Z`).

use param_graph::nalgebra::SVector;
use param_graph::param_graph;
use support::harness::Lcg;

mod support;

param_graph! {
    fn stddev32(s1: &SVector<f32, 1>, s2: &SVector<f32, 1>) -> SVector<f32, 1> {
        gaussian_product_stddev(s1, s2)
    }

    fn all32(m1: &SVector<f32, 2>, s1: &SVector<f32, 2>, m2: &SVector<f32, 3>, s2: &SVector<f32, 3>)
        -> (SVector<f32, 6>, SVector<f32, 6>, SVector<f32, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }

    #[param_graph(optimize = false)]
    fn all32_plain(m1: &SVector<f32, 2>, s1: &SVector<f32, 2>, m2: &SVector<f32, 3>, s2: &SVector<f32, 3>)
        -> (SVector<f32, 6>, SVector<f32, 6>, SVector<f32, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }

    fn all64(m1: &SVector<f64, 2>, s1: &SVector<f64, 2>, m2: &SVector<f64, 3>, s2: &SVector<f64, 3>)
        -> (SVector<f64, 6>, SVector<f64, 6>, SVector<f64, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }

    #[param_graph(optimize = false)]
    fn all64_plain(m1: &SVector<f64, 2>, s1: &SVector<f64, 2>, m2: &SVector<f64, 3>, s2: &SVector<f64, 3>)
        -> (SVector<f64, 6>, SVector<f64, 6>, SVector<f64, 6>) {
        (
            gaussian_product_mean(m1, s1, m2, s2),
            gaussian_product_stddev(s1, s2),
            gaussian_product_log_partition(m1, s1, m2, s2),
        )
    }
}

/// The handed input: cirkit gives 1e-3; the summed variance overflowed `f32`
/// and the stddev came out 0.
#[test]
fn f32_stddev_of_1e_minus_3_and_2e19_is_1e_minus_3() {
    let s = stddev32(&SVector::from([1e-3]), &SVector::from([2e19]));
    assert_eq!(s[0], 1e-3);
    let s = stddev32(&SVector::from([2e19]), &SVector::from([1e-3]));
    assert_eq!(s[0], 1e-3);
}

/// cirkit's formulas on moderate values, in f64: (mean, stddev, log Z).
fn textbook(m1: f64, s1: f64, m2: f64, s2: f64) -> (f64, f64, f64) {
    let (v1, v2) = (s1 * s1, s2 * s2);
    let v = v1 + v2;
    let d = m1 - m2;
    (
        (m1 * v2 + m2 * v1) / v,
        (v1 * v2 / v).sqrt(),
        -0.5 * ((2.0 * std::f64::consts::PI).ln() + v.ln() + d * d / v),
    )
}

/// Runs both types over exponents `k` that take moderate values (in
/// `[2⁻⁸, 2⁸]`) to the largest and smallest normal ones.
#[test]
fn all_three_match_the_scaled_textbook_forms_at_every_scale() {
    let mut rng = Lcg(0x9E37_79B9_7F4A_7C15);
    for (lo, hi, single) in [(-1012, 1014, false), (-116, 118, true)] {
        let eps = if single {
            f64::from(f32::EPSILON)
        } else {
            f64::EPSILON
        };
        for k in lo..=hi {
            let scale = 2f64.powi(k);
            let round = |v: f64| {
                if single {
                    f64::from((v * scale) as f32) / scale
                } else {
                    v
                }
            };
            let m1: Vec<f64> = (0..2).map(|_| round((rng.unit() - 0.5) * 256.0)).collect();
            let m2: Vec<f64> = (0..3).map(|_| round((rng.unit() - 0.5) * 256.0)).collect();
            let s1: Vec<f64> = (0..2)
                .map(|_| round(2f64.powf(16.0 * rng.unit() - 8.0)))
                .collect();
            let s2: Vec<f64> = (0..3)
                .map(|_| round(2f64.powf(16.0 * rng.unit() - 8.0)))
                .collect();
            let up = |v: &[f64]| v.iter().map(|x| x * scale).collect::<Vec<f64>>();
            let got: [Vec<f64>; 3] = if single {
                let v32 = |v: &[f64]| -> Vec<f32> { up(v).iter().map(|x| *x as f32).collect() };
                let args = (
                    SVector::<f32, 2>::from_vec(v32(&m1)),
                    SVector::<f32, 2>::from_vec(v32(&s1)),
                    SVector::<f32, 3>::from_vec(v32(&m2)),
                    SVector::<f32, 3>::from_vec(v32(&s2)),
                );
                let (a, b, c) = all32(&args.0, &args.1, &args.2, &args.3);
                let plain = all32_plain(&args.0, &args.1, &args.2, &args.3);
                assert_eq!((a, b, c), plain, "shared vs alone, k {k}");
                let w = |v: SVector<f32, 6>| v.iter().map(|x| f64::from(*x)).collect();
                [w(a), w(b), w(c)]
            } else {
                let args = (
                    SVector::<f64, 2>::from_vec(up(&m1)),
                    SVector::<f64, 2>::from_vec(up(&s1)),
                    SVector::<f64, 3>::from_vec(up(&m2)),
                    SVector::<f64, 3>::from_vec(up(&s2)),
                );
                let (a, b, c) = all64(&args.0, &args.1, &args.2, &args.3);
                let plain = all64_plain(&args.0, &args.1, &args.2, &args.3);
                let bits = |v: &SVector<f64, 6>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&plain.0), "shared vs alone, k {k}");
                assert_eq!(bits(&b), bits(&plain.1), "shared vs alone, k {k}");
                assert_eq!(bits(&c), bits(&plain.2), "shared vs alone, k {k}");
                [
                    a.as_slice().to_vec(),
                    b.as_slice().to_vec(),
                    c.as_slice().to_vec(),
                ]
            };
            for i in 0..2 {
                for j in 0..3 {
                    let p = i * 3 + j;
                    let (tm, ts, tz) = textbook(m1[i], s1[i], m2[j], s2[j]);
                    let (wm, ws, wz) = (tm * scale, ts * scale, tz - f64::from(k) * 2f64.ln());
                    let ctx = format!("k {k}, f32 {single}, pair ({i}, {j})");
                    let mscale = m1[i].abs().max(m2[j].abs()) * scale;
                    assert!(
                        (got[0][p] - wm).abs() <= 8.0 * eps * mscale,
                        "mean {} vs {wm}: {ctx}",
                        got[0][p]
                    );
                    assert!(
                        (got[1][p] - ws).abs() <= 8.0 * eps * ws,
                        "stddev {} vs {ws}: {ctx}",
                        got[1][p]
                    );
                    let big = s1[i].max(s2[j]);
                    let d = (m1[i] - m2[j]) / big;
                    let zscale = 1.0 + (big * scale).ln().abs() + d * d;
                    assert!(
                        (got[2][p] - wz).abs() <= 8.0 * eps * zscale,
                        "log Z {} vs {wz}: {ctx}",
                        got[2][p]
                    );
                }
            }
        }
    }
}

/// The largest finite values of both types: the summed variance and the
/// difference of the means overflow in the textbook form, the results do not.
#[test]
fn the_largest_values_give_finite_results() {
    let (m, s, z) = all64(
        &SVector::from([f64::MAX, 1.0]),
        &SVector::from([f64::MAX, 1e-300]),
        &SVector::from([-f64::MAX, 1.0, 2.0]),
        &SVector::from([f64::MAX, 1e-300, f64::MAX]),
    );
    assert_eq!(m[0], 0.0, "equal huge variances: the mean is halfway");
    assert!((s[0] / (f64::MAX / 2f64.sqrt()) - 1.0).abs() < 4.0 * f64::EPSILON);
    assert!(
        m.iter().chain(&s).chain(&z).all(|v| v.is_finite()),
        "{m} {s} {z}"
    );
    let (m, s, z) = all32(
        &SVector::from([f32::MAX, 1.0]),
        &SVector::from([f32::MAX, 1e-30]),
        &SVector::from([-f32::MAX, 1.0, 2.0]),
        &SVector::from([f32::MAX, 1e-30, f32::MAX]),
    );
    assert_eq!(m[0], 0.0);
    assert!(
        m.iter().chain(&s).chain(&z).all(|v| v.is_finite()),
        "{m} {s} {z}"
    );
    // The smallest: 1e-30² underflows f32, log Z does not (equal means).
    let want = -0.5 * ((2.0 * std::f64::consts::PI).ln() + (2e-60f64).ln());
    assert!(
        (f64::from(z[4]) - want).abs() < 1e-5 * want.abs(),
        "{} vs {want}",
        z[4]
    );
}
