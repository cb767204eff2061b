#!/usr/bin/env bash
# The five-op graph at 256×256 f64 built twice — by this tree's param_graph!
# and runtime, and by the tree before memory planning (commit 98c5a48, both
# its code generation and its runtime kernels) — then run alternately,
# three rounds, each the minimum of 400 calls: the memory-planning issue's
# "at least 2× faster than before fusion". (`cargo bench --bench workloads
# -- five` measures the old *generated code* against today's runtime in one
# criterion run; this measures the old build whole.) Not run in CI.
set -euo pipefail
repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
git -C "$repo" worktree add --detach "$work/before" 98c5a48 >/dev/null
trap 'git -C "$repo" worktree remove --force "$work/before"; rm -rf "$work"' EXIT
for side in before after; do
  src=$([ "$side" = before ] && echo "$work/before" || echo "$repo")
  mkdir -p "$work/$side/timing/src"
  cp "$repo/bench/five_before_after/main.rs" "$work/$side/timing/src/main.rs"
  cat > "$work/$side/timing/Cargo.toml" <<TOML
[package]
name = "five_$side"
version = "0.1.0"
edition = "2021"
[dependencies]
param-graph = { path = "$src" }
[workspace]
TOML
  cargo build --release -q --manifest-path "$work/$side/timing/Cargo.toml"
done
for round in 1 2 3; do
  for side in before after; do
    printf '%s: ' "$side"
    "$work/$side/timing/target/release/five_$side"
  done
done
