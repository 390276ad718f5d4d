"""Each script run's server time, for benchmarks: with PREFATLAS_RUN_LOG set to a file, every run of the app (and
every rerun of a fragment alone) appends one JSON line: the page, the seconds from the app's first statement to the
end of the run, how it ended. A run's messages are queued for the browser while it runs, so this is the server's
share of what a visitor waits for; the rest is the network and the browser drawing."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_inside = threading.local()  # a fragment drawn during a full run is part of that run's line, not a line of its own


@contextmanager
def timed_run(page: str | None = None) -> Iterator[dict]:
    """Yields a dict the app may put the page's path in; writes the line when the run ends, however it ends. Around
    the app's body and around a fragment (whose reruns skip the app); nested in another, it writes nothing."""
    path = os.environ.get("PREFATLAS_RUN_LOG")
    nested = getattr(_inside, "run", False)
    _inside.run = True
    run: dict = {"page": page}
    start = time.perf_counter()
    ended = "completed"
    try:
        yield run
    except BaseException as exc:  # st.stop(), a rerun that interrupts this one, an error
        ended = type(exc).__name__
        raise
    finally:
        _inside.run = nested
        if path and not nested:
            line = {"page": run["page"], "seconds": round(time.perf_counter() - start, 4), "ended": ended}
            with open(path, "a", encoding="utf-8") as log:
                log.write(json.dumps(line) + "\n")
