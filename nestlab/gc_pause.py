"""The cyclic garbage collector, paused for work that builds much and frees little.

A lab load and a collection allocate hundreds of thousands of objects that all live on (the lab,
the evidence), and none of them form garbage cycles. Each pass of CPython's cyclic collector
rescans what is alive; its own triggers (gen0 every 700 allocations, gen1 every 10 of those,
gen2 when a quarter more has survived) make it scan such a build three times, and a full pass
scans the whole heap: at 10,000 VMs that was a quarter to a third of a diagnosis, and the reason
its time grew faster than the lab (issue 17).

So the collector is paused while the work runs, and what the work built is then frozen
(`gc.freeze()`: moved to the permanent generation, which the collector never scans). Frozen
objects are still freed by reference counting the moment they are dropped — so what a pause
builds must hold no reference cycles, or a dropped copy would stay for the life of the process.
`model.Lab` holds none (its graph makes networkx's edge views per call: tests/test_gc_pause.py
fails if a dropped lab or evidence is left behind).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic-GC pass inside; what was built inside frozen on the way out. A pause inside a
    pause, or one entered while the collector is off (the caller's choice), changes nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()
