"""A pause of the cyclic garbage collector around work that allocates many objects and leaves no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Run the body with the cyclic GC off, then restore it as it was (a caller that had it off keeps it off).

    Each collection of the oldest generation walks every tracked object in the process, Dagster's included, so
    work that only adds long-lived or acyclic objects pays for rescans that find nothing. Reference counting
    still frees everything acyclic meanwhile.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
