"""The whole stack as ``bensys up`` runs it, on free ports in a folder of its own, for the
benchmarks that drive BenSys through its APIs; and the progress line they print."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bensys.embedded import free_port
from bensys.stack import SERVICES, Stack, StackConfig

READY_TIMEOUT_SECONDS = 120.0
_STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


@asynccontextmanager
async def running_stack(name: str) -> AsyncIterator[Stack]:
    """Started, every service ready, and stopped however the measurement ends."""
    with tempfile.TemporaryDirectory(prefix=f"bensys-{name}-bench-") as tmp:
        config = StackConfig(
            data_dir=Path(tmp) / "data",
            kafka_port=free_port(),
            mongo_port=free_port(),
            service_ports={service: free_port() for service in SERVICES},
            # The benches drive hundreds of lookups a second from one token, on purpose.
            extra_env={"BENSYS_LOOKUP_RATE_PER_MINUTE": "1000000", "BENSYS_LOOKUP_BURST": "100000"},
        )
        stack = Stack(config)
        progress(f"starting the stack in {tmp} ...")
        # On this thread: children die with the thread that spawned them (PR_SET_PDEATHSIG).
        stack.start()
        try:
            await wait_until_ready(stack)
            yield stack
        finally:
            progress("stopping the stack ...")
            stack.stop()


async def wait_until_ready(stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=5.0) as client:
        for name in SERVICES:
            while True:
                try:
                    if (await client.get(f"{stack.config.url(name)}/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready after {READY_TIMEOUT_SECONDS:.0f} s")
                await asyncio.sleep(0.2)
