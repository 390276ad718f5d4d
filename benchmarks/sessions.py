"""Many sessions opening views at once, as a meeting does when everyone opens one link: N websocket clients speak
Streamlit's own protocol to `prefatlas serve` (no browser, so only the server's work is timed), each asking for a
page run and waiting for its `script_finished`. Prints p50 / p95 / max seconds and errors. Usage:

    .venv/bin/python benchmarks/sessions.py --store data/store/prefatlas.duckdb --sessions 1 20 \\
        --view "judges?dataset=llmbar" --view "overview?dataset=pandalm"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import websockets
from streamlit.proto import BackMsg_pb2, ForwardMsg_pb2

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def one_session(port: int, view: str) -> float:
    """Seconds from connecting to the end of the first page run of `view` ('judges?dataset=x')."""
    page, _, query = view.partition("?")
    start = time.perf_counter()
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/_stcore/stream", max_size=None, subprotocols=["streamlit"]
    ) as ws:
        msg = BackMsg_pb2.BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        await ws.send(msg.SerializeToString())
        while True:
            forward = ForwardMsg_pb2.ForwardMsg()
            forward.ParseFromString(await ws.recv())
            if forward.WhichOneof("type") == "script_finished":
                return time.perf_counter() - start


async def wave(port: int, views: list[str], n: int) -> tuple[list[float], int]:
    results = await asyncio.gather(
        *(one_session(port, views[i % len(views)]) for i in range(n)), return_exceptions=True
    )
    times = [r for r in results if isinstance(r, float)]
    return times, len(results) - len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--view", action="append", default=None, help="page?query (repeat)")
    parser.add_argument("--workers", type=int, default=1, help="`prefatlas serve --workers N` (default 1)")
    args = parser.parse_args()
    views = args.view or ["overview?dataset=llmbar"]
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "analytics.cli", "serve", "--no-init", "--store", str(args.store)),
            *("--port", str(port), "--workers", str(args.workers)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        asyncio.run(wave(port, views, 2 * args.workers))  # warm every process: its caches filled, a view computed
        print(f"prefatlas serve --workers {args.workers}")
        print(f"{'sessions':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'errors':>7}  views: {', '.join(views)}")
        for n in args.sessions:
            times, errors = asyncio.run(wave(port, views, n))
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else float("nan")
            print(f"{n:>8} {statistics.median(times):>7.2f} {p95:>7.2f} {max(times):>7.2f} {errors:>7}", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


if __name__ == "__main__":
    main()
