#!/usr/bin/env python3
"""Runs the commands of docs/tour.md, so that the tour never rots and its pictures are made by a script.

The tour's conventions, which this script relies on:
  - a ```sh block is run as one bash script from the repository root, with build/tools on PATH;
  - a ```text block right after it is that block's output;
  - every file a command writes goes under /tmp/tour;
  - a picture is ![caption](tour/NAME.svg), drawn by a command of the tour as /tmp/tour/NAME.svg.

--check (the test, tests/e2e): runs every block on a small slice of Fashion-MNIST (each `sinter train` gets
`--limit-train`, `--limit-test` and `--epochs 2` after its own flags) in a scratch directory standing for
/tmp/tour; an output without `sinter train` must be printed exactly as the tour shows it (those are the
deterministic ones: dumps, gradient checks, counts); for training, every `epoch` line the tour shows must
name the same figures as the run's last epoch line. Every picture the tour shows must be drawn by one of its
commands and be in docs/tour/.

--figures: runs the tour for real (the whole data set, the tour's epochs) and copies its pictures into
docs/tour/. Takes a few minutes.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOUR_DIR = "/tmp/tour"
TRAIN_SLICE = ["--limit-train", "2000", "--limit-test", "500", "--epochs", "2"]


def blocks(markdown):
    """(line, commands, expected output or None) of each ```sh block of the tour."""
    fence = re.compile(r"^```(\w*)\s*$")
    found, lines, i = [], markdown.split("\n"), 0
    while i < len(lines):
        m = fence.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        start, kind, body = i + 1, m.group(1), []
        i += 1
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        i += 1
        if kind == "text" and found and found[-1][2] is None and found[-1][3] == start - 2:
            found[-1] = (found[-1][0], found[-1][1], "\n".join(body), found[-1][3])
        elif kind == "sh":
            found.append((start, "\n".join(body), None, i - 1))
    return [(line, cmds, out) for line, cmds, out, _ in found]


def slice_training(script):
    """Each `sinter train` line gets the small slice's flags after its own (the driver keeps the last)."""
    out = []
    for line in script.split("\n"):
        if re.search(r"\bsinter train\b", line):
            line += " " + " ".join(TRAIN_SLICE) if " -- " in line else " -- " + " ".join(TRAIN_SLICE)
        out.append(line)
    return "\n".join(out)


def epoch_keys(line):
    """The names of the figures of an `epoch N/M` line: train_loss, train_acc, ..."""
    return [w for w, v in zip(line.split(), line.split()[1:]) if re.fullmatch(r"[a-z_]+", w) and
            re.fullmatch(r"[-0-9.e%]+", v)]


def check_output(where, script, shown, printed):
    if re.search(r"\bsinter train\b", script):
        shown_epochs = [l for l in shown.split("\n") if l.startswith("epoch ")]
        printed_epochs = [l for l in printed.split("\n") if l.startswith("epoch ")]
        if not printed_epochs:
            return f"{where}: the training printed no epoch line:\n{printed}"
        for l in shown_epochs:
            if epoch_keys(l) != epoch_keys(printed_epochs[-1]):
                return (f"{where}: the tour shows the figures {epoch_keys(l)}, the run printed "
                        f"{epoch_keys(printed_epochs[-1])}")
        return None
    norm = lambda s: "\n".join(l.rstrip() for l in s.strip("\n").split("\n"))
    if norm(shown) != norm(printed):
        return f"{where}: the output differs from the tour's.\n--- tour\n{norm(shown)}\n--- printed\n{norm(printed)}"
    return None


def run(args):
    source = os.path.abspath(args.source)
    tour_md = os.path.join(source, "docs", "tour.md")
    markdown = open(tour_md).read()
    work = TOUR_DIR if args.figures else tempfile.mkdtemp(prefix="sinter-tour-")
    if args.figures:
        shutil.rmtree(work, ignore_errors=True)
    env = dict(os.environ)
    sinter_dir = os.path.dirname(os.path.abspath(args.sinter))
    env["PATH"] = sinter_dir + os.pathsep + env["PATH"]
    failures = []
    for line, script, shown in blocks(markdown):
        where = f"docs/tour.md:{line}"
        # The tour puts build/tools on PATH; the sinter under test goes there instead.
        body = script.replace(TOUR_DIR, work).replace("$PWD/build/tools", sinter_dir)
        if not args.figures:
            body = slice_training(body)
        print(f"== {where}\n{script}", flush=True)
        proc = subprocess.run(["bash", "-c", "set -eo pipefail\n" + body], cwd=source, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
        printed = proc.stdout.replace(work, TOUR_DIR)
        if args.figures or args.verbose:
            print(printed, flush=True)
        if proc.returncode != 0:
            failures.append(f"{where}: exit status {proc.returncode}:\n{printed}")
            continue
        if shown is not None and not args.figures:
            problem = check_output(where, script, shown, printed)
            if problem:
                failures.append(problem)
    for name in re.findall(r"!\[[^\]]*\]\(tour/([\w.-]+\.svg)\)", markdown):
        drawn = os.path.join(work, name)
        if not os.path.exists(drawn):
            failures.append(f"docs/tour.md shows tour/{name}, which no command of the tour draws as {TOUR_DIR}/{name}")
        elif args.figures:
            shutil.copy(drawn, os.path.join(source, "docs", "tour", name))
            print(f"copied {name} into docs/tour/")
        elif not os.path.exists(os.path.join(source, "docs", "tour", name)):
            failures.append(f"docs/tour/{name} is missing: run tools/tour.py --figures")
    if not args.figures:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="run the tour on a small slice and compare outputs")
    mode.add_argument("--figures", action="store_true", help="run the tour for real and copy its pictures")
    p.add_argument("--verbose", action="store_true", help="print what each block prints")
    p.add_argument("--sinter", default="build/tools/sinter", help="the sinter executable")
    p.add_argument("--source", default=os.path.join(os.path.dirname(__file__), ".."), help="the repository")
    sys.exit(run(p.parse_args()))


if __name__ == "__main__":
    main()
