"""A small TCP proxy that breaks the network on command: delay, reset, black hole.

Put between a service and a server (the service connects to the proxy's port), it forwards
bytes both ways until told otherwise:

- ``delay(seconds)``: every chunk waits that long before it is forwarded (a slow link);
- ``reset()``: every open connection is cut with a TCP RST, and new ones are cut on arrival
  (a server or a firewall that drops connections);
- ``black_hole()``: connections stay open but nothing gets through in either direction, and
  new ones are accepted and then ignored (a cable pulled: the worst case, as nothing fails fast);
- ``heal()``: forwarding as normal again for new connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["pass", "reset", "black_hole"]


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self.mode: Mode = "pass"
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.delay_seconds = 0.0
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._cut_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def delay(self, seconds: float) -> None:
        self.mode, self.delay_seconds = "pass", seconds
        self._flowing.set()

    def reset(self) -> None:
        self.mode = "reset"
        self._flowing.set()
        self._cut_all()

    def black_hole(self) -> None:
        self.mode = "black_hole"
        self._flowing.clear()

    def heal(self) -> None:
        """Normal forwarding for new connections; those black-holed are cut, as a TCP stack
        gives up on them eventually, so that clients reconnect now rather than later."""
        self.mode, self.delay_seconds = "pass", 0.0
        self._cut_all()
        self._flowing.set()

    def _cut_all(self) -> None:
        for link in list(self._links):
            self._cut(link)

    def _cut(self, link: _Link) -> None:
        for writer in (link.client, link.server):
            if writer is not None:
                _reset(writer)
        for task in link.tasks:
            task.cancel()
        self._links.discard(link)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(client=writer)
        if self.mode == "reset":
            _reset(writer)
            return
        self._links.add(link)
        try:
            server_reader, link.server = await asyncio.open_connection(*self._target)
        except OSError:
            self._cut(link)
            return
        link.tasks = [
            asyncio.create_task(self._pump(reader, link.server)),
            asyncio.create_task(self._pump(server_reader, writer)),
        ]

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError, OSError):
            while chunk := await source.read(65536):
                await self._flowing.wait()  # a black hole holds the bytes: nothing gets through
                if self.delay_seconds:
                    await asyncio.sleep(self.delay_seconds)
                sink.write(chunk)
                await sink.drain()
        with contextlib.suppress(OSError, RuntimeError):
            sink.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN, as a dropped connection looks to the peer."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError, RuntimeError):
        writer.close()
