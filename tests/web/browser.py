"""A desk served for real (uvicorn on loopback, in a thread) and Debian's Chromium driven by
Playwright. Skips when Chromium or Playwright is absent (.ci/run installs Chromium)."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from monitor.demo.servers import free_port
from monitor.pipeline import Monitor

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def chromium_path() -> str:
    path = os.environ.get("MONITOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    required = os.environ.get("MONITOR_REQUIRE_BROWSER") == "1"  # set by .ci/run
    if not path:
        if required:
            pytest.fail("Chromium is required (MONITOR_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    return path


@contextmanager
def served(monitor: Monitor) -> Iterator[str]:
    """The desk on a free loopback port, web only; stopped on exit."""
    from monitor.web.serve import serve

    port = free_port()
    ready, stop = threading.Event(), None
    loop_box: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            nonlocal stop
            stop = asyncio.Event()
            loop_box["loop"] = asyncio.get_running_loop()
            started = asyncio.Event()
            task = asyncio.create_task(serve(monitor, "127.0.0.1", port, poll=False, stop=stop, started=started))
            await started.wait()
            ready.set()
            await task
        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(20), "the desk did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop = loop_box["loop"]
        loop.call_soon_threadsafe(stop.set)  # type: ignore[union-attr]
        thread.join(20)


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
