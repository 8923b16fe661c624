#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Simulate bench's `large` shape on a page-granular best-fit heap.

20 slots, 500 replacements of 5-25 MiB blocks (malloc_bench large 500),
one 1 GiB arena, blocks carved from the start of the smallest run of
adjacent free extents that holds them (buddy/huge_cache.c's rule).
Freed blocks stay resident ("kept") unless a policy gives them back.
Prints, per policy, the mean peak of resident heap pages (live + kept)
over eight seeds, in MiB, and the pages faulted in (first touches).

Policies:
  none        nothing given back beyond the landed bound (kept <= 64 MiB
              + live bytes)
  cap X       also: resident bytes at most the peak of live bytes so far
              plus X MiB, the oldest kept extents given back first
  top X       also: after each free, the kept extents above the last live
              block given back once they pass X MiB (glibc's top trim)

With --placement (session 38), the sizes are malloc_bench's own (its
seeded xorshift64* generator, so that seed 42 is the bench's run:
457 MiB and 117,019 pages against the 459 MiB and 117,183 faults
measured) and three placements are compared, nothing given back beyond
the landed bound: best fit from the run's start (landed), address-
ordered first fit, and best fit at the run's end (but in the run that
reaches the arena's untouched end, which is still used from its start).

Usage: large-heap-sim.py [--placement]   (performance.md, "Where kmem
still loses: the pairs rows and large's peak", session 19; "Measured,
not landed (session 38)")
"""
import random
import sys

M64 = (1 << 64) - 1


def bench_sizes(seed, iters, slots=20):
    """malloc_bench large's (slot, pages) sequence (bench/bench.h)."""
    x = (seed + 0x9e3779b97f4a7c15) & M64          # stream 0
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    state = [(x ^ (x >> 31)) or 1]

    def below(n):
        y = state[0]
        y ^= y >> 12
        y = (y ^ (y << 25)) & M64
        y ^= y >> 27
        state[0] = y
        return ((((y * 0x2545f4914f6cdd1d) & M64) >> 32) * n) >> 32
    for _ in range(iters):
        slot = below(slots)
        size = (5 << 20) + below((20 << 20) + 1)
        yield slot, (size + 4095) // 4096

MIB = 256                       # pages of 4 KiB
ARENA = 1 << 18                 # pages in 1 GiB


def run(seed, cap=None, top=None, iters=500, slots=20, placement=None):
    rng = random.Random(seed)
    sizes = bench_sizes(seed, iters, slots) if placement else None
    ext = [[0, ARENA, 'Z', 0]]  # start, pages, state (L/D/Z), freed at
    live_at = [None] * slots
    live = dirty = peak = faults = peak_live = 0

    def index(start):
        return next(i for i, e in enumerate(ext) if e[0] == start)

    def split(i, at):
        e = ext[i]
        if e[0] < at < e[0] + e[1]:
            ext.insert(i + 1, [at, e[0] + e[1] - at, e[2], e[3]])
            e[1] = at - e[0]

    def give_back_oldest():
        nonlocal dirty
        kept = [e for e in ext if e[2] == 'D']
        if not kept:
            return False
        old = min(kept, key=lambda e: e[3])
        old[2] = 'Z'
        dirty -= old[1]
        return True

    for t in range(1, iters + 1):
        if sizes:
            slot, n = next(sizes)
        else:
            slot = rng.randrange(slots)
            n = rng.randint(5 * MIB, 25 * MIB)
        if live_at[slot] is not None:
            start, pages = live_at[slot]
            ext[index(start)][2:4] = ['D', t]
            live -= pages
            dirty += pages
            live_at[slot] = None
            if top is not None and any(e[2] == 'L' for e in ext):
                last = max(i for i, e in enumerate(ext) if e[2] == 'L')
                above = [e for e in ext[last + 1:] if e[2] == 'D']
                if sum(e[1] for e in above) > top * MIB:
                    for e in above:
                        e[2] = 'Z'
                        dirty -= e[1]
        best = None
        i = 0
        while i < len(ext):
            if ext[i][2] == 'L':
                i += 1
                continue
            j, run_pages = i, 0
            while j < len(ext) and ext[j][2] != 'L':
                run_pages += ext[j][1]
                j += 1
            fits = run_pages >= n
            if placement == 'aoff':
                better = best is None
            else:
                better = best is None or run_pages < best[0]
            if fits and better:
                best = (run_pages, i, j)
            i = j
        i = best[1]
        start = ext[i][0]
        if placement == 'end' and best[2] < len(ext):
            start += best[0] - n        # the run's end, not the arena's
            while ext[i][0] + ext[i][1] <= start:
                i += 1
            split(i, start)
            if ext[i][0] < start:
                i += 1
        k, rest = i, n
        while rest:
            if ext[k][1] > rest:
                split(k, ext[k][0] + rest)
            if ext[k][2] == 'D':
                dirty -= ext[k][1]
            else:
                faults += ext[k][1]
            rest -= ext[k][1]
            k += 1
        del ext[i + 1:k]
        ext[i] = [start, n, 'L', 0]
        live += n
        live_at[slot] = (start, n)
        peak_live = max(peak_live, live)
        while dirty > 64 * MIB + live and give_back_oldest():
            pass
        if cap is not None:
            while live + dirty > peak_live + cap * MIB and give_back_oldest():
                pass
        peak = max(peak, live + dirty)
    return peak / MIB, faults


def placements():
    print('seed  iters  start  aoff   end   (peak MiB; first-touch pages)')
    for seed, iters in [(1, 500), (2, 500), (3, 500), (7, 500), (42, 500),
                        (42, 2000)]:
        r = [run(seed, iters=iters, placement=p)
             for p in ('start', 'aoff', 'end')]
        print('%4d  %5d  %s' % (seed, iters, '  '.join(
            '%4.0f (%dk)' % (peak, f // 1000) for peak, f in r)))


def main():
    if sys.argv[1:] == ['--placement']:
        placements()
        return
    print('policy      peak MiB (mean, max of 8 seeds)  faults (mean)')
    for name, kw in [('none', {}), ('cap 80', {'cap': 80}),
                     ('cap 64', {'cap': 64}), ('cap 48', {'cap': 48}),
                     ('cap 32', {'cap': 32}), ('top 64', {'top': 64}),
                     ('top 0', {'top': 0})]:
        runs = [run(seed, **kw) for seed in range(8)]
        peaks = [r[0] for r in runs]
        print('%-10s  %4.0f, %4.0f' % (name, sum(peaks) / 8, max(peaks)),
              '%28.0fk' % (sum(r[1] for r in runs) / 8 / 1000))


if __name__ == '__main__':
    main()
