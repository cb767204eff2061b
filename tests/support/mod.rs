//! Helpers shared by the integration tests (`mod support;` in each test file).
//!
//! - [`row_major`]: copy tensor values (`f64`, `SMatrix`, `SVector`, `[X; N]`)
//!   to and from flat row-major data, the order the fixture and the reference
//!   evaluator use.
//! - [`close`]: tolerant float comparison and the fixture's number parser.
//! - [`reference`]: a slow, obviously-correct evaluator of the ops over plain
//!   row-major tensors, written independently of the macro and the runtime.
//! - [`fill`]: fill tensor values in place in row-major order (inputs
//!   built in a `zeroed_box`, never on a small thread's stack).
//! - [`harness`]: a thread with a chosen stack, a seeded generator, and
//!   `both!` (one body compiled optimized and as written).
//! - [`ir`]: evaluates a graph body's text with the reference evaluator,
//!   node by node of the graph the compiler's front end builds from it.

// Each test binary uses a different part of this module.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod close;
pub mod counting;
pub mod fill;
pub mod harness;
pub mod ir;
pub mod reference;
pub mod row_major;

pub use close::{assert_all_close, assert_close, assert_close_abs, parse_number, parse_numbers};
pub use fill::FillRowMajor;
pub use reference::T;
pub use row_major::RowMajor;
