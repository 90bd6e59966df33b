"""The Linear model of ../embed-cmake/ from Python, through the `sinter` package: trained on the same batches
as that example's program, it prints the same line of predictions. The library comes from
`sinter build ../embed-cmake/linear.sn --emit shared -o liblinear.so`.
    python3 linear.py liblinear.so"""
import sys

import numpy as np
import sinter


def make_batch(seed, n):
    """As makeBatch in ../embed-cmake/main.cpp: the same generator and the same float32 arithmetic."""
    x = np.empty((n, 4), np.float32)
    s = seed
    for i in range(n):
        for j in range(4):
            s = (s * 1664525 + 1013904223) % 2**32
            x[i, j] = np.float32((s >> 8) & 0xFFFF) / np.float32(65535) * np.float32(2) - np.float32(1)
    a, b, c = x[:, 0] + x[:, 1], x[:, 2] - x[:, 0], x[:, 3] - x[:, 1]
    return x, np.where(a > b, np.where(a > c, 0, 2), np.where(b > c, 1, 2)).astype(np.int32)


def main():
    model = sinter.Model(sys.argv[1])
    for step in range(300):
        model.train_step(*make_batch(step + 10, 32))
    x, y = make_batch(3, 64)
    probs = model.forward(x=x, y=y)["probs"]
    predicted = probs.argmax(axis=1)  # the first of equal ones, as the C programs pick
    print("Linear predictions:", " ".join(str(p) for p in predicted))
    return 0 if (predicted == y).mean() >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
