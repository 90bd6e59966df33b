#!/usr/bin/python3
"""Variable-length sequences for examples/masked_gru.sn, made from Fashion-MNIST: each image becomes a
sequence of its first L rows (L drawn at random from 3 to 28, seeded), padded with zeros to 28 rows, and a
mask that is 1 for the L real rows and 0 for the padding. Writes, into the output directory, rows.npy
(f32 [n, 28, 28]), labels.npy and mask.npy (f32 [n, 28]) for the training set, and the same with a test_
prefix for the test set. Needs only NumPy:

    examples/make_masked_rows.py OUT_DIR
    build/tools/sinter train examples/masked_gru.sn -- --input rows=OUT_DIR/rows.npy --input label=OUT_DIR/labels.npy \\
        --input mask=OUT_DIR/mask.npy --test-input rows=OUT_DIR/test_rows.npy ...
"""
import gzip
import os
import struct
import sys

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def write_split(out, prefix, images, labels, seed):
    lengths = np.random.default_rng(seed).integers(3, 29, size=len(images))
    mask = (np.arange(28)[None, :] < lengths[:, None]).astype(np.float32)
    rows = (images.astype(np.float32) / 255) * mask[:, :, None]
    np.save(os.path.join(out, prefix + "rows.npy"), rows)
    np.save(os.path.join(out, prefix + "labels.npy"), labels.astype(np.int32))
    np.save(os.path.join(out, prefix + "mask.npy"), mask)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_masked_rows.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for prefix, name, seed in [("", "train", 1), ("test_", "t10k", 2)]:
        write_split(out, prefix, read_idx(os.path.join(DATA, name + "-images-idx3-ubyte.gz")),
                    read_idx(os.path.join(DATA, name + "-labels-idx1-ubyte.gz")), seed)


if __name__ == "__main__":
    main()
