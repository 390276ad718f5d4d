"""Peak memory of a command and the processes it starts, read from Linux's /proc while it runs.

wait4's ru_maxrss is not the command's own figure: a child forked from a large parent (a benchmark that has just
generated a million pairs) carries the parent's high-water mark through exec. Each process's VmHWM belongs to its
own address space, so it starts afresh at exec; the sum of VmRSS over the tree gives the command's footprint with
its helper processes (the ingest's properties process).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path


def _tree(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # the parent pid is the 2nd field after the command name, which may hold spaces and ')'
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return tree


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeMemory:
    """Samples a running process and its descendants every `every` seconds until stopped: `largest_mb`, the
    highest VmHWM of any one of them; `tree_mb`, the highest sum of their VmRSS at one moment."""

    def __init__(self, proc: subprocess.Popen, every: float = 0.2) -> None:
        self.proc, self.every = proc, every
        self.largest_mb = self.tree_mb = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            pids = _tree(self.proc.pid)
            self.largest_mb = max(self.largest_mb, *(_status_kb(p, "VmHWM") / 1024 for p in pids))
            self.tree_mb = max(self.tree_mb, sum(_status_kb(p, "VmRSS") for p in pids) / 1024)
            if self._done.wait(self.every):
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def run_measured(args: list[str], **popen: object) -> tuple[subprocess.CompletedProcess, TreeMemory]:
    """Run a command to completion (output captured as text) while sampling its memory."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    memory = TreeMemory(proc)
    try:
        out, err = proc.communicate()
    finally:
        memory.stop()
    return subprocess.CompletedProcess(args, proc.returncode, out, err), memory
