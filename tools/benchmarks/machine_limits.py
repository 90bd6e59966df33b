"""The machine's ceilings, measured in the same run as what is compared with them: the f32 FMA peak
(fma_peak.c) at each thread count, and the read bandwidth of L2, L3 and DRAM (bandwidth.c). tools/bench
measures them at the start and the end of every round and keeps the best sample of all: other processes only
ever slow a probe down, and the ceiling is the machine's, not the moment's.

Which level a working set streams from: the smallest whose capacity holds it, L2 counted per core (lscpu
gives the total of its instances) and times the thread count, L3 shared."""
import json
import os
import re
import subprocess

LEVELS = ("L2", "L3", "DRAM")


def cache_sizes(lscpu_text):
    """Bytes of L2 per core and of L3 in all, from `lscpu` ("L2 cache: 2 MiB (2 instances)")."""
    units = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "K": 1 << 10, "M": 1 << 20}
    sizes = {}
    for level, key in (("L2", "L2 cache"), ("L3", "L3 cache")):
        m = re.search(rf"^{key}:\s+([\d.]+)\s*([KMG]?i?B?)(?:\s+\((\d+) instances?\))?", lscpu_text, re.M)
        if not m:
            raise RuntimeError(f"lscpu reports no {key}: cannot size the bandwidth probes")
        total = float(m.group(1)) * units.get(m.group(2) or "B", 1)
        instances = int(m.group(3) or 1)
        sizes[level] = int(total / instances) if level == "L2" else int(total)
    return sizes


def cache_sizes_getconf(getconf_text):
    """Bytes of L2 per core and of L3 from `getconf -a` (LEVEL2_CACHE_SIZE, glibc's reading of CPUID), for
    machines whose lscpu shows no cache lines (some hypervisors hide /sys/devices/system/cpu/*/cache). CPUID's
    L3 may be the whole package's, shared with cores this machine does not have."""
    sizes = {}
    for level in ("L2", "L3"):
        m = re.search(rf"^LEVEL{level[1]}_CACHE_SIZE\s+(\d+)\s*$", getconf_text, re.M)
        if not m or int(m.group(1)) == 0:
            raise RuntimeError(f"neither lscpu nor getconf reports the {level} cache: cannot size the bandwidth probes")
        sizes[level] = int(m.group(1))
    return sizes


def machine_cache_sizes():
    """lscpu's cache sizes, else getconf's; and which of the two gave them."""
    try:
        return cache_sizes(subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout), "lscpu"
    except RuntimeError:
        text = subprocess.run(["getconf", "-a"], capture_output=True, text=True, check=True).stdout
        return cache_sizes_getconf(text), "getconf"


def probe_bytes(sizes, threads):
    """The working set of each level's probe: half of what the level holds (the rest is code, stack and the
    other data of a real call), L3's above what the cores' L2s hold, DRAM's 8 times L3."""
    return {"L2": sizes["L2"] * threads // 2,
            "L3": max(sizes["L3"] // 4, 4 * sizes["L2"] * threads),
            "DRAM": 8 * sizes["L3"]}


def level_of(nbytes, sizes, threads):
    """The level a working set of nbytes streams from when it is read again and again."""
    if nbytes <= sizes["L2"] * threads:
        return "L2"
    return "L3" if nbytes <= sizes["L3"] else "DRAM"


class Limits:
    """Builds the probes, measures them on demand, and answers with the best sample so far."""

    def __init__(self, work, benchmarks, threads, max_samples, seconds, env, bandwidth=True):
        self.threads, self.max_samples, self.seconds, self.env = threads, max_samples, seconds, env
        flags = ["cc", "-O2", "-std=c11", "-march=native", "-fopenmp"]
        self.peak_exe = os.path.join(work, "fma_peak")
        # -ffp-contract=fast: -std=c11 turns GCC's contraction off, and then acc * m + a is a multiply and an add.
        subprocess.run(flags + ["-ffp-contract=fast", os.path.join(benchmarks, "fma_peak.c"), "-o", self.peak_exe],
                       check=True)
        self.bw_exe = None
        if bandwidth:
            self.bw_exe = os.path.join(work, "bandwidth")
            subprocess.run(flags + [os.path.join(benchmarks, "bandwidth.c"), "-o", self.bw_exe], check=True)
            self.sizes, self.sizes_from = machine_cache_sizes()
        self.peaks = {}  # threads -> [GFLOP/s per measurement]
        self.bandwidths = {}  # (level, threads) -> [GB/s per measurement]
        self.info = {}

    def _lines(self, cmd):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=self.env).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def measure(self):
        for line in self._lines([self.peak_exe, str(self.max_samples), str(self.seconds)] +
                                [str(t) for t in self.threads]):
            self.peaks.setdefault(line["threads"], []).append(line["gflops"])
            self.info.update(vector_bits=line["vector_bits"], chains=line["chains"])
        if self.bw_exe:
            probes = [(level, t, probe_bytes(self.sizes, t)[level]) for t in self.threads for level in LEVELS]
            lines = self._lines([self.bw_exe, str(self.max_samples), str(self.seconds)] +
                                [f"{b}:{t}" for _, t, b in probes])
            for (level, t, _), line in zip(probes, lines):
                self.bandwidths.setdefault((level, t), []).append(line["gbps"])

    def peak(self, threads):
        return max(self.peaks[threads])

    def bandwidth(self, level, threads):
        return max(self.bandwidths[(level, threads)])

    def summary(self):
        """What the JSON report keeps: the best of every probe, and every measurement."""
        out = {"fma_peak": [dict(self.info, threads=t, gflops=self.peak(t), rounds_gflops=self.peaks[t])
                            for t in self.threads]}
        if self.bw_exe:
            out["cache_bytes"] = dict(self.sizes, source=self.sizes_from)
            out["bandwidth"] = [{"level": level, "threads": t, "bytes": probe_bytes(self.sizes, t)[level],
                                 "gbps": self.bandwidth(level, t), "rounds_gbps": self.bandwidths[(level, t)]}
                                for t in self.threads for level in LEVELS]
        return out
