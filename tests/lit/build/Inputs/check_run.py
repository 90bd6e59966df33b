"""Checks `sinter run` against the training run that wrote its weights (tests/lit/build/run.test).

check_run.py TRAIN_OUTPUT RUN_OUTPUT PREDICTIONS_NPY LIMIT: the run measures the loss and accuracy training printed
for the same test samples (both go through the driver's readers and metrics code, at the same batch), well
above chance; the predictions file holds one softmax row per sample, in the test set's order, whose argmax
gives that accuracy against the IDX labels.
"""
import gzip
import re
import sys

import numpy as np

train_text, run_text = open(sys.argv[1]).read(), open(sys.argv[2]).read()
predictions, limit = np.load(sys.argv[3]), int(sys.argv[4])

test_loss, test_acc = re.search(r"test_loss ([0-9.]+)  test_acc ([0-9.]+)%", train_text).groups()
loss = re.search(r"^loss +([0-9.]+)$", run_text, re.M).group(1)
acc, correct = re.search(r"^accuracy +([0-9.]+)% \(([0-9]+) of", run_text, re.M).groups()
assert (loss, acc) == (test_loss, test_acc), f"run: loss {loss} accuracy {acc}%, training: {test_loss} {test_acc}%"
assert float(acc) > 50, f"accuracy {acc}% is barely above chance (10%)"

assert predictions.dtype == np.float32 and predictions.shape == (limit, 10), (predictions.dtype, predictions.shape)
assert np.allclose(predictions.sum(axis=1), 1, atol=1e-4), "rows of 'probs' are not a softmax"
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:limit]
agree = int((predictions.argmax(axis=1) == labels).sum())
assert agree == int(correct), f"the predictions get {agree} right, the run counted {correct}"
print(f"ok: loss {loss}, accuracy {acc}% as in training; predictions {predictions.shape} agree")
