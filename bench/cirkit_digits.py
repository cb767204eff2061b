#!/usr/bin/env python3
"""Peer baseline: cirkit's "learning a circuit" recipe on the UCI optical digits.

Not part of CI. Trains the circuit of cirkit's tutorial notebook
``notebooks/learning-a-circuit.ipynb`` (there on MNIST 28x28) on 8x8 digit
images and prints the test log-likelihood, so that our own implementation of
the same circuit has a number to meet.

    python3 bench/cirkit_digits.py --k 16 --epochs 100 --seed 42     # float64
    python3 bench/cirkit_digits.py --k 16 --epochs 100 --seed 42 --f32
    python3 bench/cirkit_digits.py --epochs 2                        # smoke run
    python3 bench/cirkit_digits.py --k 16 --describe                 # architecture

Needs python3, torch and libcirkit (``pip install libcirkit torch``; written
against libcirkit 0.3.1).

Data
----
UCI "Optical Recognition of Handwritten Digits", the test set as shipped in
scikit-learn (``sklearn.datasets.load_digits``): 1797 images, E. Alpaydin and
C. Kaynak (1998), UCI Machine Learning Repository,
https://doi.org/10.24432/C50P49, CC BY 4.0. The file (``--data``, default
the repository's ``data/uci_digits.csv.gz``, see ``data/README.md``) is a
gzipped CSV without a
header, one image a row: 64 pixel counts in 0..16 of the 8x8 image in
row-major order (pixel (i, j) is column 8*i + j, which is also cirkit's
variable index), then the class label, which is not used. Rows with
index i % 5 == 0 are the test set (360 images), the others the training set
(1437).

Model
-----
``cirkit.templates.data_modalities.image_data((1, 8, 8),
region_graph='quad-graph', input_layer='categorical', num_input_units=K,
sum_product_layer='cp', num_sum_units=K,
sum_weight_param=Parameterization(activation='softmax',
initialization='normal'))``, i.e. the notebook's call with the image shape and
K changed. The template's categorical inputs have 256 categories (pixel values
0..255; values 17..255 never occur here but keep their probability mass
parameters), probabilities = softmax of N(0, 1)-initialised logits. Compiled
with ``PipelineContext(backend='torch', semiring='lse-sum', fold=True,
optimize=True)``, which is what the notebook's ``cirkit.pipeline.compile``
uses by default. ``--describe`` prints the region graph, the layers and the
parameter tensors, and checks cirkit's output against a plain-torch
re-evaluation of the symbolic circuit.

Training
--------
As the notebook: Adam (lr 0.01, torch defaults otherwise) on the mean negative
log-likelihood of each mini-batch of 256 images; the training set is shuffled
every epoch with a ``torch.Generator`` seeded with ``--seed`` (the last batch of
an epoch is the remainder, 1437 = 5 * 256 + 157). ``torch.manual_seed(seed)``
is set before compiling, so the initial parameters depend on the seed too.
float64 by default (``torch.set_default_dtype``), ``--f32`` for float32;
``torch.set_num_threads(1)``.

Output
------
One line per epoch: epoch, training NLL (nats per image, the mean over the
epoch's images of the loss while training) and the epoch's wall time
(``time.perf_counter`` around the epoch's forward, backward and Adam steps).
Then the test log-likelihood (nats per image, mean over the 360 test images,
under ``torch.no_grad``) and bits per pixel, -test_ll / (64 ln 2). The last
line is one JSON object: ``params`` (sum of ``numel`` over
``circuit.parameters()``), ``epochs``, ``test_ll_nats``, ``test_bpp``,
``epoch_s_median``, and for the record ``k``, ``dtype``, ``seed``,
``final_train_nll``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import statistics
import sys
import time

# The repository's copy (data/README.md), next to this script's folder.
DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "uci_digits.csv.gz")
IMAGE_SHAPE = (1, 8, 8)
NUM_PIXELS = 64


def find_data(path: str) -> str:
    if os.path.exists(path):
        return path
    sys.exit(f"data file not found: {path} (the repository keeps it as data/uci_digits.csv.gz)")


def load_digits(path: str):
    import torch

    rows = []
    with gzip.open(path, "rt", encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append([int(v) for v in line.split(",")])
    data = torch.tensor(rows, dtype=torch.long)
    if data.shape[1] != NUM_PIXELS + 1:
        sys.exit(f"expected {NUM_PIXELS + 1} columns, found {data.shape[1]}")
    pixels = data[:, :NUM_PIXELS]
    if pixels.min() < 0 or pixels.max() > 16:
        sys.exit("expected pixel counts in 0..16")
    is_test = torch.arange(len(pixels)) % 5 == 0
    return pixels[~is_test].contiguous(), pixels[is_test].contiguous()


def build_symbolic(k: int):
    from cirkit.templates import data_modalities, utils

    return data_modalities.image_data(
        IMAGE_SHAPE,
        region_graph="quad-graph",
        input_layer="categorical",
        num_input_units=k,
        sum_product_layer="cp",
        num_sum_units=k,
        sum_weight_param=utils.Parameterization(activation="softmax", initialization="normal"),
    )


def param_count_formula(k: int) -> int:
    # 64 categorical inputs of K x 256 logits, 252 dense K x K matrices (two per
    # partition of the quad graph, 126 partitions), 20 mixing K x 2 (the 16 + 4
    # non-root regions with two partitions), two root dense 1 x K, one root mixing 1 x 2.
    return 64 * 256 * k + 252 * k * k + 20 * 2 * k + 2 * k + 2


def describe(symbolic, circuit, ctx, k: int) -> None:
    """Print the region graph, layers and parameters; check against a plain re-evaluation."""
    from collections import Counter

    import torch
    from cirkit.symbolic.layers import CategoricalLayer, HadamardLayer, SumLayer
    from cirkit.symbolic.parameters import TensorParameter
    from cirkit.templates.region_graph import QuadGraph

    rg = QuadGraph(IMAGE_SHAPE)
    regions = list(rg.region_nodes)
    partitions = list(rg.partition_nodes)
    print(f"# region graph: quad-graph {IMAGE_SHAPE}: {len(regions)} regions, "
          f"{len(partitions)} partitions, structured-decomposable={rg.is_structured_decomposable}")
    by_size = Counter((len(r.scope), len(rg.region_inputs(r)), len(rg.region_outputs(r)))
                      for r in regions)
    for (size, nparts, nparents), n in sorted(by_size.items()):
        print(f"#   {n:3d} regions of {size:2d} pixels, {nparts} partition(s) each, "
              f"{nparents} parent partition(s) each")
    for ptn in rg.topological_ordering():
        if ptn in partitions:
            ins = " x ".join(str(sorted(r.scope)) for r in rg.partition_inputs(ptn))
            print(f"#   partition {sorted(ptn.scope)} = {ins}")

    print("# symbolic layers (type, in units, out units, arity, parameter shapes): count")
    kinds = Counter()
    for layer in symbolic.topological_ordering():
        shapes = tuple((n, p.shape) for n, p in layer.params.items())
        kinds[(type(layer).__name__, layer.num_input_units, layer.num_output_units,
               layer.arity, shapes)] += 1
    for key, n in kinds.items():
        print(f"#   {key}: {n}")
    print(f"# symbolic layers: {len(list(symbolic.layers))}")

    print("# compiled torch circuit:")
    print(circuit)
    for name, p in circuit.named_parameters():
        print(f"#   {name}: {tuple(p.shape)} {p.dtype}")
    total = sum(p.numel() for p in circuit.parameters())
    print(f"# learnable parameters: {total}; formula 252 K^2 + 16426 K + 2 = "
          f"{param_count_formula(k)}")

    # Re-evaluate the symbolic circuit layer by layer in plain torch with the compiled values.
    state = ctx._compiler.state  # pylint: disable=protected-access

    def leaf_value(sym_param):
        leaves = [n for n in sym_param.nodes if isinstance(n, TensorParameter)]
        assert len(leaves) == 1
        tensor, fold = state.retrieve_compiled_parameter(leaves[0])
        return tensor()[fold].detach()

    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 17, (8, NUM_PIXELS), generator=gen)
    values = {}
    for layer in symbolic.topological_ordering():
        ins = [values[i] for i in symbolic.layer_inputs(layer)]
        if isinstance(layer, CategoricalLayer):
            (var,) = tuple(symbolic.layer_scope(layer))
            logp = torch.log_softmax(leaf_value(layer.probs), dim=-1)  # (K, 256)
            values[layer] = logp[:, x[:, var]].T  # (B, K)
        elif isinstance(layer, HadamardLayer):
            values[layer] = sum(ins)
        elif isinstance(layer, SumLayer) and layer.arity == 1:
            logw = torch.log_softmax(leaf_value(layer.weight), dim=-1)  # (Ko, Ki)
            values[layer] = torch.logsumexp(ins[0][:, None, :] + logw[None], dim=-1)
        elif isinstance(layer, SumLayer):
            logv = torch.log_softmax(leaf_value(layer.weight), dim=-1)  # mixing (K, arity)
            values[layer] = torch.logsumexp(torch.stack(ins, dim=-1) + logv[None], dim=-1)
        else:
            raise TypeError(type(layer))
    (root,) = symbolic.outputs
    with torch.no_grad():
        got = circuit(x).reshape(-1)
    diff = (values[root].reshape(-1) - got).abs().max().item()
    print(f"# plain re-evaluation vs cirkit on 8 random images: max |diff| = {diff:.3e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--k", type=int, default=16, help="units per layer (num_input_units = num_sum_units)")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--f32", action="store_true", help="float32 instead of float64")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--describe", action="store_true",
                    help="print the architecture and check it, then exit")
    args = ap.parse_args()

    try:
        import torch
        from cirkit.pipeline import PipelineContext
    except ImportError as e:
        sys.exit(f"needs torch and libcirkit: pip install libcirkit torch ({e})")

    torch.set_num_threads(1)
    dtype = torch.float32 if args.f32 else torch.float64
    torch.set_default_dtype(dtype)
    random.seed(args.seed)
    torch.manual_seed(args.seed)

    symbolic = build_symbolic(args.k)
    ctx = PipelineContext(backend="torch", semiring="lse-sum", fold=True, optimize=True)
    circuit = ctx.compile(symbolic)
    num_params = sum(p.numel() for p in circuit.parameters())
    if args.describe:
        describe(symbolic, circuit, ctx, args.k)
        return

    train, test = load_digits(find_data(args.data))
    print(f"# cirkit quad-graph CP circuit, K={args.k}, {num_params} learnable parameters, "
          f"{str(dtype).replace('torch.', '')}, torch {torch.__version__}, 1 thread")
    print(f"# train {len(train)} images, test {len(test)} images; Adam lr {args.lr}, "
          f"batch {args.batch_size}, seed {args.seed}", flush=True)

    optimizer = torch.optim.Adam(circuit.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    epoch_times = []
    train_nll = float("nan")
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(len(train), generator=gen)
        total, seen = 0.0, 0
        for start in range(0, len(train), args.batch_size):
            batch = train[perm[start:start + args.batch_size]]
            loss = -circuit(batch).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item() * len(batch)
            seen += len(batch)
        dt = time.perf_counter() - t0
        epoch_times.append(dt)
        train_nll = total / seen
        print(f"epoch {epoch:4d}  train_nll {train_nll:.4f}  {dt:.3f} s", flush=True)

    with torch.no_grad():
        test_ll = circuit(test).reshape(-1).to(torch.float64).mean().item()
    bpp = -test_ll / (NUM_PIXELS * math.log(2.0))
    print(f"test log-likelihood: {test_ll:.4f} nats per image")
    print(f"bits per pixel: {bpp:.4f}")
    print(json.dumps({
        "params": num_params,
        "epochs": args.epochs,
        "test_ll_nats": test_ll,
        "test_bpp": bpp,
        "epoch_s_median": statistics.median(epoch_times) if epoch_times else None,
        "k": args.k,
        "dtype": str(dtype).replace("torch.", ""),
        "seed": args.seed,
        "final_train_nll": train_nll,
    }))


if __name__ == "__main__":
    main()
