"""`monitor serve`: the desk (uvicorn) and the polling cycle of `monitor run`, in one process
and one event loop. SIGINT/SIGTERM stop both: the checks under way get their grace period."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import uvicorn
from rich.console import Console

from monitor.pipeline import Monitor
from monitor.scheduler import run_forever
from monitor.web.app import create_app


class ServeError(Exception):
    pass


async def serve(monitor: Monitor, host: str, port: int, poll: bool = True,
                stop: asyncio.Event | None = None, started: asyncio.Event | None = None) -> None:
    app = create_app(monitor)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="off"))
    # Our signal handlers stop both the server and the polling.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign, assignment]
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

    async def web() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits when it cannot bind
            raise ServeError(f"cannot listen on {host}:{port} (in use, or not an address of this machine)") from None

    web_task = asyncio.create_task(web())
    poll_task = asyncio.create_task(run_forever(monitor, monitor.settings.tick_seconds, stop=stop)) if poll else None
    while not server.started and not web_task.done():
        await asyncio.sleep(0.02)
    if started is not None and server.started:
        started.set()
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({web_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    server.should_exit = True
    if poll_task is not None:
        await poll_task
    stop_task.cancel()
    await web_task  # raises ServeError if it never started


def serve_forever(monitor: Monitor, host: str, port: int, poll: bool, console: Console) -> None:
    base = monitor.settings.web.base_url or f"http://{host}:{port}"
    console.print(f"desk on {base}/ (" + ("polling feeds every "
                  f"{monitor.settings.tick_seconds} s" if poll else "web only: no polling") + "); Ctrl-C stops",
                  highlight=False)
    try:
        asyncio.run(serve(monitor, host, port, poll))
    except ServeError as e:
        from monitor import cli

        cli.fail(str(e))
