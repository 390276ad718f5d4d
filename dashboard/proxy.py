"""One address in front of several dashboard processes (`prefatlas serve --workers N`).

A Streamlit process runs every session's script under one Python interpreter, so twenty colleagues opening a link
at once queue behind one another even where cores are free. Several processes share the work; this proxy gives them
one address. Each connection goes to one process, chosen from its first request: a browser that has been here
carries a cookie naming its process (its session, and the files its download buttons serve, live there); a new
one goes to the next process in turn and gets the cookie with the first answer. After that the proxy copies bytes
both ways without reading them (a websocket included), so it costs little of the cores the processes need. The
Host check the dashboard makes is made here, where the visitor's Host header is seen (the processes behind only
ever see the proxy's).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import Callable

STICKY_COOKIE = "prefatlas_worker"
MAX_HEAD = 64 * 1024  # a request or response head larger than this is refused
_COOKIE = re.compile(rb"(?im)^cookie:.*?\b" + STICKY_COOKIE.encode() + rb"=(\d+)")
_HOST = re.compile(rb"(?im)^host:[ \t]*([^\r\n]*)")
REFUSED = (
    b"HTTP/1.1 421 Misdirected Request\r\nContent-Type: text/plain\r\nContent-Length: 45\r\nConnection: close\r\n\r\n"
    b"This server does not answer for this address."
)
UNAVAILABLE = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 44\r\nConnection: close\r\n\r\n"
    b"The dashboard process did not answer; retry."
)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the reader's side ends, then end the writer's side for sending (the answer may still come)."""
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, asyncio.IncompleteReadError, OSError):
        pass


def handler(ports: list[int], host_allowed: Callable[[str | None], bool] = lambda _: True) -> Callable:
    """The connection handler for asyncio.start_server, in front of processes on 127.0.0.1 at `ports`."""
    turn = itertools.count()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            head = await client_reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            client_writer.close()
            return
        host = _HOST.search(head)
        if not host_allowed(host.group(1).decode("latin-1").strip() if host else None):
            client_writer.write(REFUSED)
            with contextlib.suppress(ConnectionError):
                await client_writer.drain()
            client_writer.close()
            return
        sticky = _COOKIE.search(head)
        k = int(sticky.group(1)) if sticky and int(sticky.group(1)) < len(ports) else next(turn) % len(ports)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", ports[k], limit=MAX_HEAD)
        except OSError:
            client_writer.write(UNAVAILABLE)
            client_writer.close()
            return
        upstream_writer.write(head)
        await upstream_writer.drain()
        if sticky is None:  # a new visitor: its first answer names its process
            try:
                answer = await upstream_reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                client_writer.close()
                upstream_writer.close()
                return
            cookie = f"Set-Cookie: {STICKY_COOKIE}={k}; Path=/; HttpOnly; SameSite=Lax\r\n".encode()
            client_writer.write(answer[:-2] + cookie + b"\r\n")
        try:
            await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        finally:
            for writer in (upstream_writer, client_writer):
                with contextlib.suppress(Exception):
                    writer.close()

    return serve


async def run(ports: list[int], host: str, port: int, host_allowed: Callable[[str | None], bool]) -> None:
    server = await asyncio.start_server(handler(ports, host_allowed), host, port, limit=MAX_HEAD)
    async with server:
        await server.serve_forever()
