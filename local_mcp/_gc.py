"""Keep the garbage collector off the hot path of one-time imports.

Importing the MCP SDK, MSAL or msgraph allocates many objects that live as long as the
process. Collecting while they are created is wasted work, and so is traversing them in
every later full collection. `quiet_gc()` pauses the collector around such a block and
then freezes what exists (gc.freeze), which measurably shortens start-up and the first call.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Pause automatic collection for the block (nesting and threads are counted), then freeze."""
    global _depth
    with _lock:
        _depth += 1
        if _depth == 1:
            gc.disable()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.freeze()
                gc.enable()
