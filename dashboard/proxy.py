"""One address in front of several dashboard processes (`prefatlas serve --workers N`).

A Streamlit process runs every session's script under one Python interpreter, so twenty colleagues opening a link
at once queue behind one another even where cores are free. Several processes share the work; this proxy gives them
one address. A browser stays with the process it first reached (a cookie): its session, and the files its download
buttons serve, live in that process. HTTP requests are forwarded as they are; the websocket that carries a session
is relayed frame by frame. The Host check the dashboard makes is made here, where the visitor's Host header is seen
(the processes behind only ever see the proxy's).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import itertools
from collections.abc import Callable

import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

STICKY_COOKIE = "prefatlas_worker"
# hop-by-hop headers (RFC 9110 §7.6.1) and the length, which the response recomputes
_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
_WS_HEADERS = ("cookie", "origin", "user-agent", "authorization", "accept-language")  # what a session reads
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_app(ports: list[int], host_allowed: Callable[[str | None], bool] = lambda _: True) -> Starlette:
    """The proxy for dashboard processes listening on 127.0.0.1 at `ports`."""
    turn = itertools.count()

    def worker(cookies: dict[str, str]) -> int:
        chosen = cookies.get(STICKY_COOKIE, "")
        return int(chosen) if chosen.isdigit() and int(chosen) < len(ports) else next(turn) % len(ports)

    async def forward_http(request: Request) -> Response:
        if not host_allowed(request.headers.get("host")):
            return PlainTextResponse("This server does not answer for this address.", status_code=421)
        k = worker(request.cookies)
        body = await request.body()
        headers = {n: v for n, v in request.headers.items() if n.lower() not in _HOP}
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")

        def send() -> tuple[int, list[tuple[str, str]], bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", ports[k], timeout=600)
            try:
                conn.request(request.method, target, body=body or None, headers=headers)
                answer = conn.getresponse()
                return answer.status, answer.getheaders(), answer.read()
            finally:
                conn.close()

        try:
            status, answer_headers, content = await asyncio.to_thread(send)
        except OSError:
            return PlainTextResponse("The dashboard process did not answer; try again.", status_code=502)
        response = Response(content, status_code=status)
        for name, value in answer_headers:
            if name.lower() not in _HOP and name.lower() not in ("date", "server"):  # the proxy's own are sent
                response.headers.append(name, value)
        if request.cookies.get(STICKY_COOKIE) != str(k):
            response.set_cookie(STICKY_COOKIE, str(k), httponly=True, samesite="lax")
        return response

    async def relay_websocket(client: WebSocket) -> None:
        if not host_allowed(client.headers.get("host")):
            await client.close(code=1008)
            return
        k = worker(client.cookies)
        offered = [p.strip() for p in client.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        url = f"ws://127.0.0.1:{ports[k]}{client.url.path}" + (f"?{client.url.query}" if client.url.query else "")
        headers = [(n, v) for n, v in client.headers.items() if n.lower() in _WS_HEADERS]
        try:
            upstream = await websockets.connect(
                url, subprotocols=offered or None, additional_headers=headers, max_size=None, open_timeout=30
            )
        except (OSError, websockets.WebSocketException):
            await client.close(code=1011)
            return
        await client.accept(subprotocol=upstream.subprotocol)

        async def to_upstream() -> None:
            while True:
                message = await client.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                await upstream.send(data if data is not None else message.get("text", ""))

        async def to_client() -> None:
            async for data in upstream:
                if isinstance(data, bytes):
                    await client.send_bytes(data)
                else:
                    await client.send_text(data)

        tasks = [asyncio.create_task(to_upstream()), asyncio.create_task(to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except (WebSocketDisconnect, websockets.WebSocketException):
            pass
        finally:
            for task in tasks:
                task.cancel()
            await upstream.close()
            with contextlib.suppress(RuntimeError):  # already closed by the browser
                await client.close()

    return Starlette(
        routes=[
            WebSocketRoute("/{path:path}", relay_websocket),
            Route("/{path:path}", forward_http, methods=METHODS),
        ]
    )
