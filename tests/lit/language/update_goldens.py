#!/usr/bin/env python3
"""Regenerates the CHECK lines of the golden tests in this directory from what `sinter` prints now.

Usage: tests/lit/language/update_goldens.py build/tools/sinter [name.sn ...]   (default: every .sn here
that has SUMMARY or GRAPH lines). Each file keeps its first comment line (what it tests) and its model;
the RUN and CHECK lines are rewritten: the `sinter check` summary, then the forward graph with source
locations left out. Read the diff before committing it: a golden test is only as good as its review.
"""
import pathlib
import re
import subprocess
import sys


def regenerate(sinter, path):
    lines = path.read_text().splitlines()
    description = lines[0] if lines and lines[0].startswith("# ") else "# (what this tests)"
    model = [l for l in lines if not l.startswith("# ")]
    check = subprocess.run([sinter, "check", str(path)], capture_output=True, text=True, check=True).stdout
    graph = subprocess.run([sinter, "dump", "--stage=graph", str(path)], capture_output=True, text=True,
                           check=True).stdout
    out = [description, "# RUN: %sinter check %s | FileCheck %s --check-prefix=SUMMARY",
           "# RUN: %sinter dump --stage=graph %s | FileCheck %s --check-prefix=GRAPH"]
    summary = [l for l in check.splitlines() if l.strip()]
    out.append("# SUMMARY: {{.*}} " + summary[0].split(": ", 1)[1])
    out += ["# SUMMARY-NEXT: " + l.rstrip() for l in summary[1:]]
    for l in graph.splitlines():
        l = re.sub(r'\s*loc\("[^"]*":\d+:\d+\)', " {{.*}}", l).rstrip()
        if not l.strip() or l.startswith("//"):
            continue
        out.append(("# GRAPH-LABEL: " if l.startswith("graph @") else "# GRAPH-NEXT: ") + l.strip())
    path.write_text("\n".join(out + model) + "\n")


def main():
    sinter = sys.argv[1]
    here = pathlib.Path(__file__).parent
    names = sys.argv[2:] or [p.name for p in sorted(here.glob("*.sn")) if "GRAPH-LABEL" in p.read_text()]
    for name in names:
        regenerate(sinter, here / name)


if __name__ == "__main__":
    main()
