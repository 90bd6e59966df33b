"""tools/benchmarks/machine_limits.py's arithmetic, with no measurement: cache sizes read off lscpu's text (or
getconf's), the probes' working sets, and which level a working set of weights streams from.

  test_machine_limits.py SOURCE_DIR"""
import os
import sys

sys.path.insert(0, os.path.join(sys.argv[1], "tools", "benchmarks"))
import machine_limits as ml  # noqa: E402

LSCPU = """Model name:                              AMD EPYC 9B45
L1d cache:                               96 KiB (2 instances)
L2 cache:                                2 MiB (2 instances)
L3 cache:                                32 MiB (1 instance)
"""

sizes = ml.cache_sizes(LSCPU)
assert sizes == {"L2": 1 << 20, "L3": 32 << 20}, sizes  # L2 per core: the total over its instances
assert ml.cache_sizes("L2 cache: 512 KiB\nL3 cache: 8 MiB\n") == {"L2": 512 << 10, "L3": 8 << 20}
assert ml.probe_bytes(sizes, 1) == {"L2": 512 << 10, "L3": 8 << 20, "DRAM": 256 << 20}
assert ml.probe_bytes(sizes, 2)["L2"] == 1 << 20  # each thread reads half of it from its own L2
# The MLP's 919 KiB of weights fit one core's L2; 1.5 MiB fit two cores' L2s, not one; 40 MiB fit no cache.
assert ml.level_of(940584, sizes, 1) == "L2"
assert ml.level_of(3 << 19, sizes, 1) == "L3" and ml.level_of(3 << 19, sizes, 2) == "L2"
assert ml.level_of(40 << 20, sizes, 2) == "DRAM"
try:
    ml.cache_sizes("L1d cache: 48 KiB\n")
    raise AssertionError("a missing L2 line must be an error")
except RuntimeError as e:
    assert "L2 cache" in str(e)
# Without lscpu's cache lines: getconf's (bytes), as glibc reads them from CPUID.
GETCONF = "LEVEL1_DCACHE_SIZE                 49152\nLEVEL2_CACHE_SIZE                  1048576\nLEVEL3_CACHE_SIZE  33554432\n"
assert ml.cache_sizes_getconf(GETCONF) == {"L2": 1 << 20, "L3": 32 << 20}
try:
    ml.cache_sizes_getconf("LEVEL2_CACHE_SIZE                  0\nLEVEL3_CACHE_SIZE                  \n")
    raise AssertionError("an empty L2 size must be an error")
except RuntimeError as e:
    assert "L2 cache" in str(e)
print("machine_limits: ok")
