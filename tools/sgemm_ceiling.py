"""Prints this machine's practical float32 ceiling: median GFLOP/s of numpy's 4096² sgemm (its
bundled OpenBLAS) on all cores. Exits non-zero when numpy is missing; `make bench` then uses 169."""
import os
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit(1)

n = 4096
a = np.random.rand(n, n).astype(np.float32)
b = np.random.rand(n, n).astype(np.float32)
a @ b
times = []
for _ in range(5):
    t = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - t)
print(f"{2 * n ** 3 / sorted(times)[2] / 1e9:.1f}")
