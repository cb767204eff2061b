//! The compile-time assertions of a graph generic over its sizes
//! (`fn f<const K: usize>`) run when rustc compiles an instance (inline
//! `const` blocks, evaluated at monomorphization): `cargo check` does not
//! reach them, so trybuild's compile-fail tests (which check) cannot show
//! them. This test builds a small crate that instantiates a generic graph
//! with sizes that break its relation, and reads rustc's error.

use std::path::PathBuf;
use std::process::Command;

/// Builds `main.rs` as a binary crate depending on this one; rustc's
/// output and whether the build succeeded.
fn build(name: &str, main: &str) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target").join("generic-assertions").join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nparam-graph = {{ path = {:?} }}\n\n[workspace]\n",
        root.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline"])
        .current_dir(&dir)
        // The workspace's target directory: the dependencies are built.
        .env("CARGO_TARGET_DIR", root.join("target"))
        .output()
        .expect("cargo runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GRAPH: &str = r#"
use param_graph::nalgebra::SVector;
use param_graph::param_graph;

param_graph! {
    pub fn pairs<const K: usize, const KH: usize>(a: &SVector<f64, K>, b: &SVector<f64, 4>) -> SVector<f64, KH> {
        outer_product(a, b, axis = 0)
    }
}
"#;

#[test]
fn an_instance_that_breaks_a_size_relation_does_not_compile() {
    let main = format!(
        "{GRAPH}\nfn main() {{\n    // 3 · 4 is 12, not 10.\n    let _: SVector<f64, 10> = pairs(&SVector::<f64, 3>::zeros(), &SVector::<f64, 4>::zeros());\n}}\n"
    );
    let (ok, stderr) = build("generic_sizes_differ", &main);
    assert!(!ok, "the build should fail");
    assert!(
        stderr.contains(
            "param_graph!: the declared result has shape (KH,) but the graph computes shape (K * 4,)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("pairs_with::<3, 10>"), "{stderr}");
}

#[test]
fn instances_that_keep_it_compile() {
    let main = format!(
        "{GRAPH}\nfn main() {{\n    let p: SVector<f64, 12> = pairs(&SVector::<f64, 3>::from_element(2.0), &SVector::<f64, 4>::from_element(3.0));\n    assert_eq!(p[11], 6.0);\n    let q: SVector<f64, 4> = pairs(&SVector::<f64, 1>::from_element(1.0), &SVector::<f64, 4>::from_element(5.0));\n    assert_eq!(q[0], 5.0);\n}}\n"
    );
    let (ok, stderr) = build("generic_sizes_kept", &main);
    assert!(ok, "{stderr}");
}
