"""``python -m lms_emulator``: serve the demo LMS and print how to register it in the tool."""

from __future__ import annotations

import argparse
import shlex
import threading

from lms_emulator.platform import Institution
from lms_emulator.server import start_emulator


def platform_add_command(institution: Institution) -> str:
    """Return the ``l2i platform add`` command line that registers ``institution``."""
    reg = institution.registration()
    options = [
        ("--issuer", reg["issuer"]),
        ("--client-id", reg["client_id"]),
        ("--auth-login-url", reg["auth_login_url"]),
        ("--auth-token-url", reg["auth_token_url"]),
        ("--key-set-url", reg["key_set_url"]),
        ("--deployment-id", reg["deployment_id"]),
        ("--name", reg["name"]),
    ]
    return "l2i platform add " + " ".join(f"{flag} {shlex.quote(value)}" for flag, value in options)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, start the emulator and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m lms_emulator", description=__doc__)
    parser.add_argument("--tool-url", default="http://127.0.0.1:5000", help="the tool's base URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--institutions", type=int, default=1, choices=(1, 2))
    args = parser.parse_args(argv)
    running = start_emulator(args.tool_url, host=args.host, port=args.port, institutions=args.institutions)
    print(f"Demo LMS on {running.base_url}/ (tool: {running.config.tool_base_url})")
    for institution in running.config.institutions:
        print(platform_add_command(institution))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":
    main()
