"""Times argon2-cffi's argon2id hash at the given parameters, as the FastAPI peer's login
and register pay it, and prints the milliseconds per hash as a JSON list.

Usage: python hash_time.py MEMORY_KIB ITERATIONS PARALLELISM COUNT
One untimed warm-up hash first.
"""

import json
import sys
import time

from argon2 import PasswordHasher

m, t, p, count = (int(a) for a in sys.argv[1:5])
hasher = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, hash_len=32, salt_len=16)
hasher.hash("calibration password")
times = []
for _ in range(count):
    start = time.perf_counter()
    hasher.hash("calibration password")
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps([round(x, 3) for x in times]))
