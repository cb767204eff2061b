#!/usr/bin/env python3
"""Peer comparison: W1-W4 through cirkit's torch parameter graphs beside ours.

Measures cirkit's forward evaluation and, beside it, torch autograd's forward
plus backward (a vector-Jacobian product) through the same graphs.

Not part of CI. Runs the performance issue's workloads through cirkit
(``pip install libcirkit torch``), times them, and prints cirkit's medians next
to the criterion medians of ``cargo bench --bench workloads``:

    cargo bench --bench workloads            # ours, writes target/criterion
    python3 bench/cirkit_compare.py          # cirkit, then the table

    python3 bench/cirkit_compare.py [--criterion-dir target/criterion] [--repeat N]

Without torch or cirkit it says how to install them and prints our numbers
only; without criterion results it prints cirkit's only.

How each workload becomes a cirkit parameter graph
--------------------------------------------------
cirkit's parameter nodes (``cirkit.backend.torch.parameters.nodes``) compute
tensors of shape ``(num_folds, *shape)``: every node carries a leading fold
dimension that its ``dim``/axis arguments do not count.

* W1 ``log(softmax(x, axis=1))``, x: R x C  ->  one fold:
  ``TorchTensorParameter(R, C)`` -> ``TorchSoftmaxParameter((R, C), dim=1)``
  -> ``TorchLogParameter``.
* W2 / W3 ``reduce_sum(outer_product(a, b, axis=1), axis=2 or 1)``,
  a, b: F x J x K  ->  our axis 0 is cirkit's fold dimension, so a and b are
  F-fold ``TorchTensorParameter(J, K, num_folds=F)`` and the graph is
  ``TorchOuterProductParameter((J, K), (J, K), dim=0)`` ->
  ``TorchReduceSumParameter((J*J, K), dim=0)`` (W2) or ``dim=1`` (W3): our
  axis n is cirkit's dim n-1. ``--w23-mode rank3`` instead uses one fold of
  shape (F, J, K) with dim=1 and dim=1/2 (how tests/fixtures generated its
  rank-3 cases); the result is the same tensor.
* W4 ``matmul(kron(A, B), x)``, A, B: P x P, x: P^2 x 1  ->  one fold:
  ``TorchKroneckerParameter((P, P), (P, P))`` -> ``TorchMatMulParameter``.

The graphs then go through the pipeline cirkit's ``TorchCompiler`` runs with
``optimize=True, fold=True`` (``compiler._optimize_circuit`` then
``_fold_circuit``): each *unfolded* (one-fold) parameter graph is rewritten
with the compiler's registry of parameter rules (``DEFAULT_PARAMETER_OPT_RULES``:
log∘softmax -> ``TorchLogSoftmaxParameter``; reduce_sum∘outer_product ->
``TorchEinsumParameter`` [+ ``TorchFlattenParameter``]) by
``cirkit.backend.torch.graph.optimize.optimize_graph``, repeated until nothing
matches (at most 5 steps, as ``_optimize_circuit``), and the F unfolded graphs
are then folded into one by ``cirkit.backend.torch.compiler._fold_parameters``.
In the fold mapping, fold f of each unfolded graph reads its leaf through a
``TorchPointerParameter(a, fold_idx=f)``; folding merges those pointers back
into the whole F-fold tensor, so no gather is left on the inputs (the way
cirkit folds graphs over an already-folded parameter).

Timing: float64, ``torch.set_num_threads(1)``, under ``torch.no_grad()`` (a
forward evaluation of the folded ``TorchParameter``, as ours is forward only);
warm-up, then ``--repeat`` batches timed with ``time.perf_counter``, each batch
long enough to last about ``--batch-ms``; the figure is the median over
batches of the time per evaluation. Each cirkit output is checked against
plain torch before it is timed.

fwd+bwd (autograd): the same folded ``TorchParameter``, its leaves (the
``nn.Parameter`` tensors of its ``TorchTensorParameter`` nodes, after folding,
``requires_grad=True``) and a fixed random cotangent ``v`` of the output's
shape (standard normal, seeded per workload); one evaluation is
``out = pgraph(); torch.autograd.grad(out, leaves, v)`` under
``torch.enable_grad()``, i.e. forward and backward together, timed with the
same warm-up, batches and median as the forward. Before it is timed, the
gradient is checked against a central finite difference along a random
direction ``d`` of the leaves: ``sum_i <grad_i, d_i>`` against
``(<v, f(θ + εd)> - <v, f(θ - εd)>) / 2ε``. ``--no-vjp`` skips it.

Our side: criterion's ``<dir>/<group>/<function>/<size>/new/estimates.json``,
median point estimate (ns), for functions "optimized" and "optimize=false".

Needs python3 and, for cirkit's half, torch and libcirkit (it uses cirkit's
internal ``_fold_parameters`` and ``_match_parameter_nodes_pattern``, which
libcirkit 0.3.1 has).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

# The workloads: group -> size labels, exactly as criterion names them.
WORKLOADS: dict[str, list[str]] = {
    "W1": ["4x8", "16x16", "64x64", "256x256"],
    "W2": ["4x32x8", "4x64x16", "16x32x8"],
    "W3": ["4x32x8", "8x16x4", "4x64x16"],
    "W4": ["8x8", "16x16", "24x24"],
}

BODIES = {
    "W1": "log(softmax(x, axis=1))",
    "W2": "reduce_sum(outer_product(a, b, axis=1), axis=1)",
    "W3": "reduce_sum(outer_product(a, b, axis=1), axis=2)",
    "W4": "matmul(kron(A, B), x)",
}

INSTALL_HINT = (
    "cirkit's half needs torch and cirkit: `pip install libcirkit torch` "
    "(libcirkit pulls torch in; a virtualenv keeps it apart: "
    "`python3 -m venv .venv && .venv/bin/pip install libcirkit torch && "
    ".venv/bin/python bench/cirkit_compare.py`)."
)


# --------------------------------------------------------------------------
# Our side: criterion estimates
# --------------------------------------------------------------------------


def criterion_median_ns(crit_dir: str, group: str, function: str, size: str) -> float | None:
    """Median point estimate (ns) of one criterion benchmark, if it ran."""
    # criterion keeps '=' in directory names; older versions replaced it.
    for fname in (function, function.replace("=", "_")):
        path = os.path.join(crit_dir, group, fname, size, "new", "estimates.json")
        try:
            with open(path, encoding="utf-8") as fh:
                return float(json.load(fh)["median"]["point_estimate"])
        except (OSError, KeyError, ValueError, TypeError):
            continue
    return None


def default_criterion_dir() -> str:
    here = os.path.join("target", "criterion")
    if os.path.isdir(here):
        return here
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(repo, "target", "criterion")


# --------------------------------------------------------------------------
# cirkit's side
# --------------------------------------------------------------------------


def load_cirkit():
    """Imports torch and cirkit, or returns (None, reason)."""
    try:
        import torch  # noqa: F401
    except ImportError as err:
        return None, f"torch is not installed ({err})"
    try:
        import cirkit  # noqa: F401
        from cirkit.backend.torch.compiler import (  # noqa: F401
            TorchCompiler,
            _fold_parameters,
            _match_parameter_nodes_pattern,
        )
        from cirkit.backend.torch.graph.optimize import optimize_graph  # noqa: F401
    except ImportError as err:
        return None, f"cirkit (libcirkit) is not installed or too different ({err})"
    return CirkitSide(), None


class _FoldState:
    """Stands in for TorchCompilerState while folding hand-built graphs.

    The compiler records which symbolic parameter each folded leaf slice came
    from; these graphs have no symbolic circuit behind them.
    """

    def retrieve_symbolic_parameter(self, p):  # noqa: D401
        return None

    def register_compiled_parameter(self, sp, cp, *, fold_idx=None):
        return None


class _FoldCompiler:
    state = _FoldState()


class CirkitSide:
    def __init__(self):
        import torch
        from importlib import metadata

        from cirkit.backend.torch.compiler import TorchCompiler

        self.torch = torch
        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already set, or parallel work already started
        torch.set_default_dtype(torch.float64)
        self.dtype = torch.float64
        # The compiler cirkit's pipeline would use; only its registry of
        # parameter optimization rules is used here.
        self.compiler = TorchCompiler(fold=True, optimize=True)
        try:
            self.cirkit_version = metadata.version("libcirkit")
        except metadata.PackageNotFoundError:
            import cirkit

            self.cirkit_version = getattr(cirkit, "__version__", "unknown")
        self.torch_version = torch.__version__
        self.seed = 0x5EED

    # -- graph construction ------------------------------------------------

    def _leaf(self, *shape: int, num_folds: int = 1):
        from cirkit.backend.torch.parameters.nodes import TorchTensorParameter

        torch = self.torch
        self.seed += 1
        seed = self.seed

        def init_(t):
            # Values in [-2, 2), the same on every call: folding re-initializes
            # the leaves it makes, and the check compares against these values.
            gen = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                t.copy_(torch.rand(t.shape, generator=gen, dtype=t.dtype) * 4.0 - 2.0)
            return t

        leaf = TorchTensorParameter(
            *shape, num_folds=num_folds, dtype=self.dtype, initializer_=init_
        )
        leaf.reset_parameters()
        return leaf

    def _optimize(self, pgraph, max_steps: int = 5):
        """cirkit's parameter optimizer on one unfolded graph.

        What ``compiler._optimize_parameter_nodes`` does to each layer's
        parameter graph, repeated as ``_optimize_circuit`` repeats it.
        """
        from cirkit.backend.torch.compiler import _match_parameter_nodes_pattern
        from cirkit.backend.torch.graph.optimize import optimize_graph

        compiler = self.compiler
        patterns = compiler.retrieve_parameter_optimization_registry().signatures

        def match_optimizer(match):
            rule = compiler.retrieve_parameter_optimization_rule(match.pattern)
            return rule(compiler, match)

        for _ in range(max_steps):
            result = optimize_graph(
                pgraph.topological_ordering(),
                pgraph.outputs,
                patterns,
                incomings_fn=pgraph.node_inputs,
                outcomings_fn=pgraph.node_outputs,
                pattern_matcher_fn=_match_parameter_nodes_pattern,
                match_optimizer_fn=match_optimizer,
            )
            if result is None:
                break
            nodes, in_nodes, outputs = result
            pgraph = type(pgraph)(nodes, in_nodes, outputs)
        return pgraph

    def _compile(self, unfolded, optimize: bool = True):
        """Optimizes each unfolded graph, then folds them into one."""
        from cirkit.backend.torch.compiler import _fold_parameters

        if optimize:
            unfolded = [self._optimize(g) for g in unfolded]
        # _fold_parameters looks every node up in nodes_inputs; the from_*
        # constructors leave the leaves out of it (optimize_graph puts them in).
        unfolded = [
            type(g)(g.nodes, {n: list(g.node_inputs(n)) for n in g.nodes}, g.outputs)
            for g in unfolded
        ]
        folded = _fold_parameters(_FoldCompiler(), unfolded)
        # Folding makes new leaves in place of plain tensor leaves (pointers
        # keep the tensor they point to): allocate and initialize them.
        folded.reset_parameters()
        return folded

    def build(self, group: str, size: str, w23_mode: str = "fold", optimize: bool = True):
        """Returns (folded TorchParameter, reference output, result view fn)."""
        from cirkit.backend.torch.parameters.nodes import (
            TorchKroneckerParameter,
            TorchLogParameter,
            TorchMatMulParameter,
            TorchOuterProductParameter,
            TorchPointerParameter,
            TorchReduceSumParameter,
            TorchSoftmaxParameter,
        )
        from cirkit.backend.torch.parameters.parameter import TorchParameter

        torch = self.torch
        dims = [int(d) for d in size.split("x")]

        if group == "W1":
            r, c = dims
            x = self._leaf(r, c)
            ref = torch.log(torch.softmax(x().detach()[0], dim=1))
            g = TorchParameter.from_sequence(
                x, TorchSoftmaxParameter((r, c), dim=1), TorchLogParameter((r, c))
            )
            return self._compile([g], optimize), ref, lambda out: out[0]

        if group in ("W2", "W3"):
            f, j, k = dims
            reduce_axis = 1 if group == "W2" else 2  # our axis, fold included
            if w23_mode == "fold":
                a = self._leaf(j, k, num_folds=f)
                b = self._leaf(j, k, num_folds=f)
                graphs = []
                for i in range(f):
                    outer = TorchOuterProductParameter((j, k), (j, k), dim=0)
                    red = TorchReduceSumParameter(outer.shape, dim=reduce_axis - 1)
                    g = TorchParameter.from_binary(
                        outer,
                        TorchPointerParameter(a, fold_idx=i),
                        TorchPointerParameter(b, fold_idx=i),
                    )
                    graphs.append(TorchParameter.from_unary(red, g))
                va, vb = a().detach(), b().detach()

                def view(out):
                    return out
            else:  # rank3: one fold of shape (F, J, K)
                a = self._leaf(f, j, k)
                b = self._leaf(f, j, k)
                outer = TorchOuterProductParameter((f, j, k), (f, j, k), dim=1)
                red = TorchReduceSumParameter(outer.shape, dim=reduce_axis)
                graphs = [TorchParameter.from_unary(red, TorchParameter.from_binary(outer, a, b))]
                va, vb = a().detach()[0], b().detach()[0]

                def view(out):
                    return out[0]
            full = (va.unsqueeze(2) * vb.unsqueeze(1)).reshape(f, j * j, k)
            ref = full.sum(dim=reduce_axis)
            return self._compile(graphs, optimize), ref, view

        if group == "W4":
            p, p2 = dims
            assert p == p2, f"W4 size {size}: A and B are square"
            a, b, x = self._leaf(p, p), self._leaf(p, p), self._leaf(p * p, 1)
            kron = TorchKroneckerParameter((p, p), (p, p))
            mm = TorchMatMulParameter(kron.shape, (p * p, 1))
            g = TorchParameter.from_nary(mm, TorchParameter.from_binary(kron, a, b), x)
            ref = torch.kron(a().detach()[0], b().detach()[0]) @ x().detach()[0]
            return self._compile([g], optimize), ref, lambda out: out[0]

        raise ValueError(f"unknown workload {group}")

    @staticmethod
    def node_names(pgraph) -> list[str]:
        names = []
        for n in pgraph.topological_ordering():
            name = type(n).__name__
            if name == "TorchPointerParameter":
                name = f"TorchPointerParameter->{type(n.deref()).__name__}"
            names.append(name)
        return names

    # -- timing --------------------------------------------------------------

    @staticmethod
    def _time_batches(fn, repeat: int, batch_s: float, warmup_s: float) -> tuple[float, float]:
        """Median and minimum time per call of `fn` (ns) over `repeat` batches."""
        perf = time.perf_counter
        n = 0
        t0 = perf()
        while n < 10 or perf() - t0 < warmup_s:
            fn()
            n += 1
        per_eval = (perf() - t0) / n
        batch = max(1, int(batch_s / per_eval))
        samples = []
        for _ in range(repeat):
            t = perf()
            for _ in range(batch):
                fn()
            samples.append((perf() - t) / batch)
        return statistics.median(samples) * 1e9, min(samples) * 1e9

    def time_ns(self, pgraph, repeat: int, batch_s: float, warmup_s: float) -> tuple[float, float]:
        """Median and minimum time per forward evaluation (ns) over `repeat` batches."""
        with self.torch.no_grad():
            return self._time_batches(pgraph, repeat, batch_s, warmup_s)

    # -- forward + backward (autograd) ---------------------------------------

    def vjp_setup(self, pgraph, group: str, size: str):
        """The leaves of `pgraph` (requires_grad=True) and a fixed random cotangent."""
        torch = self.torch
        leaves = []
        seen = set()
        for node in pgraph.topological_ordering():
            if type(node).__name__ == "TorchPointerParameter":
                node = node.deref()
            ptensor = getattr(node, "_ptensor", None)
            if ptensor is None or id(ptensor) in seen:
                continue
            node.requires_grad = True  # cirkit's default; sets the nn.Parameter's flag
            ptensor.requires_grad_(True)
            seen.add(id(ptensor))
            leaves.append(ptensor)
        if not leaves:
            raise RuntimeError("the folded graph has no tensor leaves")
        with torch.no_grad():
            out = pgraph()
        # The same cotangent on every run: seeded by the workload's name.
        seed = sum(ord(ch) * 31**i for i, ch in enumerate(f"{group}/{size}")) % (2**31)
        gen = torch.Generator().manual_seed(seed)
        cotangent = torch.randn(out.shape, generator=gen, dtype=out.dtype)
        return leaves, cotangent

    def vjp_fn(self, pgraph, leaves, cotangent):
        """One forward + backward: `out = pgraph(); autograd.grad(out, leaves, v)`."""
        grad = self.torch.autograd.grad
        vs = (cotangent,)
        leaves = tuple(leaves)

        def fwd_bwd():
            out = pgraph()
            return grad((out,), leaves, vs)

        return fwd_bwd

    def check_vjp(self, pgraph, leaves, cotangent, eps: float = 1e-6) -> None:
        """Autograd's VJP against a central finite difference along a random direction."""
        torch = self.torch
        with torch.enable_grad():
            grads = self.vjp_fn(pgraph, leaves, cotangent)()
        gen = torch.Generator().manual_seed(0xD1EC)
        dirs = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in leaves]
        saved = [p.detach().clone() for p in leaves]
        with torch.no_grad():
            try:
                for p, d in zip(leaves, dirs):
                    p.add_(d, alpha=eps)
                plus = float((pgraph() * cotangent).sum())
                for p, s, d in zip(leaves, saved, dirs):
                    p.copy_(s).add_(d, alpha=-eps)
                minus = float((pgraph() * cotangent).sum())
            finally:
                for p, s in zip(leaves, saved):
                    p.copy_(s)
        fd = (plus - minus) / (2 * eps)
        ad = float(sum((g * d).sum() for g, d in zip(grads, dirs)))
        if abs(ad - fd) > 1e-6 * max(1.0, abs(ad), abs(fd)):
            raise RuntimeError(
                f"autograd's VJP along a random direction is {ad!r}, "
                f"the finite difference {fd!r}"
            )

    def time_vjp_ns(
        self, pgraph, group: str, size: str, repeat: int, batch_s: float, warmup_s: float
    ) -> tuple[float, float]:
        """Median and minimum time per forward + backward (ns) over `repeat` batches."""
        leaves, cotangent = self.vjp_setup(pgraph, group, size)
        self.check_vjp(pgraph, leaves, cotangent)
        with self.torch.enable_grad():
            return self._time_batches(
                self.vjp_fn(pgraph, leaves, cotangent), repeat, batch_s, warmup_s
            )


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "–"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns / 1e6:.3g} ms"


def fmt_ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or den <= 0:
        return "–"
    r = num / den
    return f"{r:.3g}×" if r < 100 else f"{r:.0f}×"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="W1-W4 through cirkit's parameter graphs, beside our criterion medians."
    )
    ap.add_argument(
        "--criterion-dir",
        default=None,
        help="criterion output of `cargo bench --bench workloads` "
        "(default: target/criterion here, else in the repository)",
    )
    ap.add_argument(
        "--repeat", type=int, default=30, help="timed batches per workload (default 30)"
    )
    ap.add_argument(
        "--batch-ms",
        type=float,
        default=20.0,
        help="approximate length of one timed batch in ms (default 20)",
    )
    ap.add_argument(
        "--warmup-ms", type=float, default=200.0, help="warm-up per workload in ms (default 200)"
    )
    ap.add_argument(
        "--w23-mode",
        choices=("fold", "rank3"),
        default="fold",
        help="W2/W3: leading axis as cirkit's fold dimension (default) or one fold of rank 3",
    )
    ap.add_argument(
        "--cirkit-unoptimized",
        action="store_true",
        help="also time cirkit without its parameter optimizer (extra column)",
    )
    ap.add_argument(
        "--only", default=None, help="comma-separated groups to run, e.g. W1,W4 (default: all)"
    )
    ap.add_argument("--no-cirkit", action="store_true", help="print our numbers only")
    ap.add_argument(
        "--no-vjp",
        action="store_true",
        help="skip cirkit's forward + backward (torch autograd) timing",
    )
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    groups = list(WORKLOADS)
    if args.only:
        groups = [g.strip().upper() for g in args.only.split(",") if g.strip()]
        unknown = [g for g in groups if g not in WORKLOADS]
        if unknown:
            ap.error(f"unknown workload(s): {', '.join(unknown)}")

    crit_dir = args.criterion_dir or default_criterion_dir()
    have_criterion = os.path.isdir(crit_dir)

    side = None
    if not args.no_cirkit:
        side, reason = load_cirkit()
        if side is None:
            print(f"note: {reason}.", file=sys.stderr)
            print(f"note: {INSTALL_HINT}", file=sys.stderr)
            print("note: printing our numbers only.\n", file=sys.stderr)

    if side is not None:
        print(
            f"cirkit: libcirkit {side.cirkit_version}, torch {side.torch_version}, "
            f"{side.torch.get_num_threads()} thread, float64, parameter optimizer on, "
            f"W2/W3 mapping: {args.w23_mode}; median of {args.repeat} batches of ~{args.batch_ms:g} ms"
        )
        if not args.no_vjp:
            print(
                "cirkit fwd+bwd (autograd): out = pgraph(); "
                "torch.autograd.grad(out, leaves, cotangent), timed together; "
                "leaves requires_grad=True, fixed random cotangent"
            )
    if have_criterion:
        print(f"ours: criterion medians from {crit_dir}")
    else:
        print(
            f"ours: no criterion results at {crit_dir} "
            "(run `cargo bench --bench workloads` first)"
        )
    print()

    rows = []
    nodes_seen: dict[str, tuple[list[str], list[str]]] = {}
    for group in groups:
        for size in WORKLOADS[group]:
            cirkit_ns = cirkit_plain_ns = cirkit_min = None
            vjp_ns = vjp_min = vjp_plain_ns = None
            if side is not None:
                try:
                    pgraph, ref, view = side.build(group, size, args.w23_mode)
                    with side.torch.no_grad():
                        out = view(pgraph())
                    if tuple(out.shape) != tuple(ref.shape) or not side.torch.allclose(
                        out, ref, rtol=1e-10, atol=1e-12
                    ):
                        raise RuntimeError(
                            f"cirkit's output {tuple(out.shape)} differs from the torch reference "
                            f"{tuple(ref.shape)}"
                        )
                    cirkit_ns, cirkit_min = side.time_ns(
                        pgraph, args.repeat, args.batch_ms / 1e3, args.warmup_ms / 1e3
                    )
                    if not args.no_vjp:
                        try:
                            vjp_ns, vjp_min = side.time_vjp_ns(
                                pgraph,
                                group,
                                size,
                                args.repeat,
                                args.batch_ms / 1e3,
                                args.warmup_ms / 1e3,
                            )
                        except Exception as err:  # keep the forward figure
                            print(
                                f"warning: cirkit fwd+bwd (autograd) {group} {size}: "
                                f"{type(err).__name__}: {err}",
                                file=sys.stderr,
                            )
                            vjp_ns = vjp_min = None
                    if group not in nodes_seen:
                        plain_graph, _, _ = side.build(
                            group, size, args.w23_mode, optimize=False
                        )
                        nodes_seen[group] = (
                            side.node_names(plain_graph),
                            side.node_names(pgraph),
                        )
                    if args.cirkit_unoptimized:
                        plain_graph, _, _ = side.build(
                            group, size, args.w23_mode, optimize=False
                        )
                        cirkit_plain_ns, _ = side.time_ns(
                            plain_graph, args.repeat, args.batch_ms / 1e3, args.warmup_ms / 1e3
                        )
                        if not args.no_vjp:
                            try:
                                vjp_plain_ns, _ = side.time_vjp_ns(
                                    plain_graph,
                                    group,
                                    size,
                                    args.repeat,
                                    args.batch_ms / 1e3,
                                    args.warmup_ms / 1e3,
                                )
                            except Exception as err:
                                print(
                                    f"warning: cirkit fwd+bwd (autograd), optimizer off, "
                                    f"{group} {size}: {type(err).__name__}: {err}",
                                    file=sys.stderr,
                                )
                except Exception as err:  # report and go on with the other workloads
                    print(
                        f"warning: cirkit {group} {size}: {type(err).__name__}: {err}",
                        file=sys.stderr,
                    )
                    cirkit_ns = None
                print(
                    f"  {group} {size}: cirkit median {fmt_ns(cirkit_ns)} "
                    f"(fastest batch {fmt_ns(cirkit_min)})",
                    file=sys.stderr,
                )
                if not args.no_vjp:
                    print(
                        f"  {group} {size}: cirkit fwd+bwd (autograd) median {fmt_ns(vjp_ns)} "
                        f"(fastest batch {fmt_ns(vjp_min)})",
                        file=sys.stderr,
                    )
            ours = criterion_median_ns(crit_dir, group, "optimized", size)
            ours_plain = criterion_median_ns(crit_dir, group, "optimize=false", size)
            # Our VJP (`name_vjp_into`, the `vjp` group): forward and
            # backward in one call, as autograd's fwd+bwd.
            ours_vjp = criterion_median_ns(crit_dir, "vjp", f"{group} vjp", size)
            rows.append(
                (group, size, cirkit_ns, ours, ours_plain, cirkit_plain_ns, vjp_ns, vjp_plain_ns, ours_vjp)
            )

    header = [
        "workload",
        "size",
        "cirkit median",
        "ours optimized",
        "cirkit / ours",
        "ours optimize=false",
    ]
    vjp = side is not None and not args.no_vjp
    if vjp:
        header += ["cirkit fwd+bwd (autograd)", "fwd+bwd / fwd", "ours vjp", "autograd / ours vjp"]
    if args.cirkit_unoptimized:
        header.append("cirkit optimizer off")
        if vjp:
            header.append("cirkit optimizer off fwd+bwd (autograd)")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|")
    for group, size, cirkit_ns, ours, ours_plain, cirkit_plain_ns, vjp_ns, vjp_plain_ns, ours_vjp in rows:
        cells = [
            f"{group} `{BODIES[group]}`" if size == WORKLOADS[group][0] else group,
            size,
            fmt_ns(cirkit_ns),
            fmt_ns(ours),
            fmt_ratio(cirkit_ns, ours),
            fmt_ns(ours_plain),
        ]
        if vjp:
            cells += [
                fmt_ns(vjp_ns),
                fmt_ratio(vjp_ns, cirkit_ns),
                fmt_ns(ours_vjp),
                fmt_ratio(vjp_ns, ours_vjp),
            ]
        if args.cirkit_unoptimized:
            cells.append(fmt_ns(cirkit_plain_ns))
            if vjp:
                cells.append(fmt_ns(vjp_plain_ns))
        print("| " + " | ".join(cells) + " |")

    if nodes_seen:
        print()
        print("cirkit's parameter nodes (topological order), before -> after its optimizer:")
        for group, (before, after) in nodes_seen.items():
            print(f"- {group}: {', '.join(before)}")
            print(f"  -> {', '.join(after)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
