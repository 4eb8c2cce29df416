"""Serve a Ralph LRS on its file-system backend, for the tests, the benchmark and the demo.

Run by the Ralph venv's python only (``.venv-ralph/bin/python scripts/serve_ralph.py``):
ralph and uvicorn are not in the project's venv. ``lms_emulator.lrs`` starts it with the
settings in the environment (``RALPH_RUNSERVER_BACKEND=fs``, the data directory and the
auth file).

Ralph's file-system backend refuses to write a file that already exists unless the
operation type is APPEND, and no setting changes that: without the patch below, the
second statement batch would answer 500. So the backend's default is patched before
the app is imported.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

import uvicorn  # noqa: E402

PARENT_POLL_SECONDS = 0.5


def exit_with_parent(parent_pid: int) -> None:
    """Stop this process as soon as ``parent_pid`` is no longer its parent (it died)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main() -> None:
    """Parse the arguments and serve Ralph's API until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, default=8100, help="the port to listen on")
    parser.add_argument(
        "--exit-with-parent",
        type=int,
        metavar="PID",
        help="stop when the process PID (this one's parent) ends, so no orphan survives it",
    )
    args = parser.parse_args()
    if args.exit_with_parent is not None:
        exit_with_parent(args.exit_with_parent)
    uvicorn.run("ralph.api:app", host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
