use param_graph::nalgebra::SMatrix;
use param_graph::param_graph;

param_graph! {
    #[param_graph(vjp)]
    fn w(x: &SMatrix<f64, 2, 3>, y: &SMatrix<f64, 2, 3>) -> SMatrix<f64, 2, 3> {
        add(log(softmax(x, axis = 1)), hadamard(exp(y), x))
    }
}

#[test]
fn smoke() {
    let x = SMatrix::<f64, 2, 3>::from_fn(|i, j| (i as f64) - 0.3 * j as f64);
    let y = SMatrix::<f64, 2, 3>::from_fn(|i, j| 0.1 * (i + j) as f64);
    let ct = SMatrix::<f64, 2, 3>::from_fn(|i, j| 1.0 + (i * 3 + j) as f64 * 0.25);
    let (gx, gy) = w_vjp(&x, &y, &ct);
    let f = |x: &SMatrix<f64, 2, 3>, y: &SMatrix<f64, 2, 3>| w(x, y).component_mul(&ct).sum();
    for i in 0..2 {
        for j in 0..3 {
            let h = 1e-6;
            let mut xp = x;
            xp[(i, j)] += h;
            let mut xm = x;
            xm[(i, j)] -= h;
            let fd = (f(&xp, &y) - f(&xm, &y)) / (2.0 * h);
            assert!(
                (fd - gx[(i, j)]).abs() < 1e-6,
                "x {i} {j}: {fd} vs {}",
                gx[(i, j)]
            );
            let mut yp = y;
            yp[(i, j)] += h;
            let mut ym = y;
            ym[(i, j)] -= h;
            let fd = (f(&x, &yp) - f(&x, &ym)) / (2.0 * h);
            assert!(
                (fd - gy[(i, j)]).abs() < 1e-6,
                "y {i} {j}: {fd} vs {}",
                gy[(i, j)]
            );
        }
    }
    println!("{}", W_PLAN);
}
