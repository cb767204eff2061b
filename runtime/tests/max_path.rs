//! `set_max_path`, the process-wide ceiling, in a process of its own (it
//! would change the paths of tests running beside it).

use param_graph_runtime::dispatch::{active_path, cpu_path, set_max_path, with_max_path, Path};
use param_graph_runtime::math::exp_in_place_f64;

#[test]
fn a_process_wide_ceiling_applies_to_every_thread_and_lifts() {
    set_max_path(Path::Portable);
    assert_eq!(active_path(), Path::Portable);
    let other = std::thread::spawn(active_path).join().unwrap();
    assert_eq!(other, Path::Portable, "every thread");
    // A thread's own ceiling cannot widen it.
    with_max_path(Path::Avx512, || assert_eq!(active_path(), Path::Portable));
    // The kernels follow it: the portable build's exp, bit for bit.
    let x: Vec<f64> = (-400..400).map(|k| f64::from(k) * 0.37).collect();
    let mut capped = x.clone();
    exp_in_place_f64(&mut capped);
    set_max_path(Path::Avx2);
    assert_eq!(active_path(), Path::Avx2.min(cpu_path()));
    set_max_path(Path::Avx512);
    assert_eq!(active_path(), cpu_path(), "lifted");
    let mut portable = x.clone();
    with_max_path(Path::Portable, || exp_in_place_f64(&mut portable));
    assert_eq!(capped, portable);
}
