# Builds and drops large dicts and lists, prints a digest of what it built.
# Run by tests/preload/compare.sh with and without libkmem-malloc.so.
import ctypes
import hashlib
import os
import sys

if os.environ.get("KMEM_EXPECT_PRELOADED"):
    # The preloaded library must be the one answering malloc.
    lib = ctypes.CDLL(None)
    if lib.kmem_stats_fd() < 0 and os.environ.get("KMEM_STATS") != "0":
        sys.exit("dicts.py: kmem is not publishing: not preloaded?")
    lib.malloc.restype = ctypes.c_void_p
    p = lib.malloc(1000)
    lib.kmem_malloc_usable_size.argtypes = [ctypes.c_void_p]
    lib.malloc_usable_size.argtypes = [ctypes.c_void_p]
    if lib.malloc_usable_size(ctypes.c_void_p(p)) != 1024:
        sys.exit("dicts.py: malloc(1000) is not a kmalloc-1k object")
    lib.free.argtypes = [ctypes.c_void_p]
    lib.free(ctypes.c_void_p(p))

h = hashlib.sha256()
for rnd in range(3):
    d = {}
    for i in range(200000):
        d["key-%d-%d" % (rnd, i)] = [i, str(i) * (i % 7), {"n": i}]
    lst = sorted(d.items(), key=lambda kv: (len(kv[1][1]), kv[0]))
    h.update(repr(lst[:1000]).encode())
    h.update(str(sum(v[0] for _, v in lst)).encode())
    big = [bytearray(50000 + j * 100) for j in range(200)]
    h.update(str(sum(len(b) for b in big)).encode())
    del d, lst, big
s = "".join(chr(65 + i % 26) for i in range(100000))
for i in range(50):
    s = s[1:] + s[0]
h.update(s.encode())
print(h.hexdigest())
