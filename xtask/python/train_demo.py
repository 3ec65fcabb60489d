#!/usr/bin/env python3
"""Train the neuronmotif demo CNN on simulated sequences with planted JASPAR motifs.

Run through `cargo xtask train-demo`, which provides a Python with tensorflow-cpu 2.15 (Keras 2)
and converts the saved Keras model to the project's model file with the Rust importer.

The simulation follows the design of the DeepLIFT / TF-MoDISco simulated data sets and of the
original NeuronMotif demos (written from their published descriptions; no code is taken from
them): 200-bp sequences of i.i.d. background at 40 % GC, into which motif instances sampled
column by column from JASPAR 2024 PPMs are written at random non-overlapping positions. Three
tasks (multi-label, sigmoid outputs):

  0 gata_tal1  GATA1 (MA0035.5) followed by TAL1::TCF3 (MA0091.2) whose matrix starts 7 bp after
               the GATA1 site ends (start-to-start 14 bp), the pair on either strand. Decoys
               that are negative for this task: GATA1 alone, TAL1::TCF3 alone, or both at a gap
               other than 6-8 bp.
  1 ctcf       CTCF (MA0139.2), either strand.
  2 ap1        AP-1, FOS::JUN (MA0099.4), either strand.

Each sequence independently receives a composite (p = 0.25), a decoy (p = 0.25), a CTCF site
(p = 0.3) and an AP-1 site (p = 0.3): about 28 % carry no planted element and about 37 % are
negative for all three tasks.

The network is a small BD-style CNN (CONVS below): conv(16, 15) - BN - ReLU - maxpool 4 -
conv(16, 5) - BN - ReLU - maxpool 2 - conv(16, 3) - BN - ReLU - global max-pool - dense(3) -
sigmoid. The wide first pool follows Koo & Eddy (PLoS Comput Biol 2019): it pushes the first
layer towards whole motifs rather than fragments. It is saved
as a Keras 2 whole-model HDF5 file (without optimizer state), and the design, the held-out
metrics and the training run are written to metrics.json.
"""

import argparse
import json
import os
import platform
import sys
import time

TASKS = ["gata_tal1", "ctcf", "ap1"]
GATA, TAL1, CTCF, AP1 = "MA0035.5", "MA0091.2", "MA0139.2", "MA0099.4"
BACKGROUND = [0.3, 0.2, 0.2, 0.3]  # A C G T: 40 % GC, as in the DeepLIFT simulations
COMPOSITE_GAP = 7  # bp between the end of GATA1 (7 bp) and the start of TAL1::TCF3
DECOY_GAPS = [g for g in range(0, 21) if abs(g - COMPOSITE_GAP) > 1]
P_COMPOSITE, P_DECOY, P_CTCF, P_AP1 = 0.25, 0.25, 0.3, 0.3


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for model.h5 and metrics.json")
    p.add_argument("--jaspar", required=True, help="MEME file holding the planted JASPAR IDs")
    p.add_argument("--parity", help="also write Keras feature maps of a few test sequences here (JSON)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--length", type=int, default=200)
    p.add_argument("--n-train", type=int, default=24000)
    p.add_argument("--n-valid", type=int, default=4000)
    p.add_argument("--n-test", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def read_meme(path, ids):
    """{id: (name, [[pA, pC, pG, pT], ...])} for the wanted IDs of a MEME file."""
    out, cur = {}, None
    with open(path) as f:
        for line in f:
            words = line.split()
            if line.startswith("MOTIF"):
                cur = words[1] if words[1] in ids else None
                if cur:
                    out[cur] = (words[2] if len(words) > 2 else "", [])
            elif cur and len(words) == 4:
                try:
                    out[cur][1].append([float(w) for w in words])
                except ValueError:
                    pass
            elif cur and line.startswith("URL"):
                cur = None
    missing = sorted(set(ids) - set(out))
    if missing:
        sys.exit(f"{path}: missing motifs {missing}")
    return out


class Simulator:
    def __init__(self, motifs, length, rng, np):
        self.np, self.rng, self.length = np, rng, length
        self.ppm = {k: np.array(v[1]) / np.array(v[1]).sum(axis=1, keepdims=True) for k, v in motifs.items()}

    def instance(self, motif_id):
        """One site sampled column by column from the PPM (codes 0-3 = ACGT)."""
        np, ppm = self.np, self.ppm[motif_id]
        u = self.rng.random(len(ppm))
        return np.minimum((u[:, None] > np.cumsum(ppm, axis=1)).sum(axis=1), 3)

    def background(self, n):
        return self.rng.choice(4, size=n, p=BACKGROUND)

    def orient(self, codes):
        return 3 - codes[::-1] if self.rng.random() < 0.5 else codes

    def pair(self, gap):
        np = self.np
        return self.orient(np.concatenate([self.instance(GATA), self.background(gap), self.instance(TAL1)]))

    def sequence(self):
        labels, elements = [0, 0, 0], []
        if self.rng.random() < P_COMPOSITE:
            elements.append(self.pair(COMPOSITE_GAP))
            labels[0] = 1
        if self.rng.random() < P_DECOY:
            kind = self.rng.integers(3)
            if kind == 0:
                elements.append(self.orient(self.instance(GATA)))
            elif kind == 1:
                elements.append(self.orient(self.instance(TAL1)))
            else:
                elements.append(self.pair(int(self.rng.choice(DECOY_GAPS))))
        if self.rng.random() < P_CTCF:
            elements.append(self.orient(self.instance(CTCF)))
            labels[1] = 1
        if self.rng.random() < P_AP1:
            elements.append(self.orient(self.instance(AP1)))
            labels[2] = 1
        seq = self.background(self.length)
        taken = self.np.zeros(self.length, dtype=bool)
        for e in elements:
            for _ in range(1000):
                s = int(self.rng.integers(0, self.length - len(e) + 1))
                # one background base between elements, so no unintended composite forms
                if not taken[max(0, s - 1):s + len(e) + 1].any():
                    seq[s:s + len(e)] = e
                    taken[s:s + len(e)] = True
                    break
            else:
                raise RuntimeError("no room for an element")
        return seq, labels

    def dataset(self, n):
        np = self.np
        x = np.zeros((n, self.length), dtype=np.int8)
        y = np.zeros((n, len(TASKS)), dtype=np.float32)
        for i in range(n):
            x[i], y[i] = self.sequence()
        return x, y


def one_hot(np, codes):
    return np.eye(4, dtype=np.float32)[codes]


def auroc(np, y, score):
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# (filters, kernel, max-pool after) per conv layer; the last pool is global
CONVS = [(16, 15, 4), (16, 5, 2), (16, 3, None)]


def geometry(length):
    """Receptive field of each conv layer and the length of the last conv's output."""
    rf, jump, n, rfs = 1, 1, length, []
    for _, k, pool in CONVS:
        rf += (k - 1) * jump
        rfs.append(rf)
        n = n - k + 1
        if pool:
            rf += (pool - 1) * jump
            jump *= pool
            n //= pool
    return rfs, n


def build_model(keras, length):
    L = keras.layers
    _, out_len = geometry(length)
    model = keras.Sequential(name="neuronmotif_demo")
    model.add(keras.Input(shape=(length, 4), name="dna"))
    for i, (filters, kernel, pool) in enumerate(CONVS, start=1):
        model.add(L.Conv1D(filters, kernel, padding="valid", name=f"conv{i}"))
        model.add(L.BatchNormalization(name=f"bn{i}"))
        model.add(L.Activation("relu", name=f"relu{i}"))
        model.add(L.MaxPooling1D(pool or out_len, name=f"pool{i}"))
    model.add(L.Flatten(name="flatten"))
    model.add(L.Dense(len(TASKS), activation="sigmoid", name="tasks"))
    return model


def main():
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    from tensorflow import keras

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

    motifs = read_meme(args.jaspar, {GATA, TAL1, CTCF, AP1})
    rng = np.random.default_rng(args.seed)
    sim = Simulator(motifs, args.length, rng, np)
    t0 = time.time()
    data = {name: sim.dataset(n) for name, n in [("train", args.n_train), ("valid", args.n_valid), ("test", args.n_test)]}
    sim_s = time.time() - t0

    model = build_model(keras, args.length)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    t1 = time.time()
    hist = model.fit(
        one_hot(np, data["train"][0]), data["train"][1],
        validation_data=(one_hot(np, data["valid"][0]), data["valid"][1]),
        epochs=args.epochs, batch_size=args.batch, callbacks=[stop], verbose=2, shuffle=True,
    )
    train_s = time.time() - t1

    def evaluate(split):
        x, y = data[split]
        p = model.predict(one_hot(np, x), batch_size=512, verbose=0)
        return {
            task: {
                "auroc": round(auroc(np, y[:, k], p[:, k]), 4),
                "accuracy": round(float(((p[:, k] > 0.5) == (y[:, k] == 1)).mean()), 4),
                "positives": int(y[:, k].sum()),
            }
            for k, task in enumerate(TASKS)
        }

    os.makedirs(args.out, exist_ok=True)
    h5 = os.path.join(args.out, "model.h5")
    model.save(h5, include_optimizer=False, save_format="h5")
    params = int(model.count_params())
    metrics = {
        "description": "neuronmotif demo CNN trained on simulated sequences with planted JASPAR 2024 motifs (xtask/python/train_demo.py)",
        "design": {
            "length_bp": args.length,
            "background_acgt": BACKGROUND,
            "motifs": {k: f"{k} {motifs[k][0]}" for k in (GATA, TAL1, CTCF, AP1)},
            "tasks": {
                "gata_tal1": f"{GATA} then {TAL1} starting {COMPOSITE_GAP} bp after {GATA} ends (start-to-start {7 + COMPOSITE_GAP} bp), pair on either strand, p = {P_COMPOSITE}",
                "ctcf": f"{CTCF} on either strand, p = {P_CTCF}",
                "ap1": f"{AP1} on either strand, p = {P_AP1}",
            },
            "decoys": f"p = {P_DECOY}: {GATA} alone, {TAL1} alone, or both at a gap in {DECOY_GAPS[0]}-{DECOY_GAPS[-1]} bp other than {COMPOSITE_GAP - 1}-{COMPOSITE_GAP + 1} (negative for gata_tal1)",
            "sites": "sampled column by column from the JASPAR PPMs; elements at random non-overlapping positions with at least 1 bp between them",
            "sequences": {"train": args.n_train, "valid": args.n_valid, "test": args.n_test},
            "no_motif_fraction_test": round(float((data["test"][1].sum(axis=1) == 0).mean()), 4),
        },
        "model": {
            "architecture": "-".join(
                f"conv({f},{k})-BN-ReLU-" + (f"maxpool{p}" if p else "globalmaxpool") for f, k, p in CONVS
            ) + f"-dense({len(TASKS)})-sigmoid",
            "parameters": params,
            "weights_bytes_f32": params * 4,
            "receptive_fields_bp": geometry(args.length)[0],
        },
        "training": {
            "seed": args.seed,
            "optimizer": "Adam(1e-3), binary cross-entropy",
            "batch": args.batch,
            "max_epochs": args.epochs,
            "epochs_run": len(hist.history["loss"]),
            "early_stopping": "val_loss, patience 3, best weights restored",
            "best_val_loss": round(float(min(hist.history["val_loss"])), 5),
            "simulation_s": round(sim_s, 1),
            "training_s": round(train_s, 1),
            "threads": args.threads,
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        },
        "test": evaluate("test"),
        "valid": evaluate("valid"),
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    if args.parity:
        x = data["test"][0][:4]
        fmap = keras.Model(model.inputs, model.get_layer("bn3").output).predict(one_hot(np, x), verbose=0)
        with open(args.parity, "w") as f:
            json.dump({"codes": x.astype(int).tolist(), "shape": list(fmap.shape), "bn3": [float(v) for v in fmap.ravel()]}, f)
    print(json.dumps({"test": metrics["test"], "training_s": metrics["training"]["training_s"], "parameters": params}))


if __name__ == "__main__":
    main()
