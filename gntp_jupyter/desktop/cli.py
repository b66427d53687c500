"""``gntp-receiver``: show the GNTP notifications that reach this machine on its desktop.

Secure by default: it listens on loopback only (a remote kernel reaches it through
``ssh -R 23053:localhost:23053 server``). Listening on any other address needs a
password, from ``GNTP_PASSWORD``, ``--password-file`` or ``--password-prompt``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import ipaddress
import os
import signal
import socket
import sys
import warnings
from pathlib import Path

from ..gntp.headers import parse_int
from ..gntp.options import DEFAULT_PORT
from ..gntp.receiver import Receiver, ReceiverLimits
from ..gntp.records import Record
from .console import describe
from .icons import IconStore, default_folder

__all__ = ["main"]

PASSWORD_ENV = "GNTP_PASSWORD"
_DESCRIPTOR_RESERVE = 64  # descriptors kept for the display, icon fetches and logs


class _Refused(Exception):
    """A start-up condition the user must fix; the message says how."""


def _whole_number(text: str) -> int:
    value = parse_int(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}")
    return value


def _port(text: str) -> int:
    value = _whole_number(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {value}")
    return value


def _positive(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    defaults = ReceiverLimits()
    parser = argparse.ArgumentParser(
        prog="gntp-receiver",
        description="Receive GNTP (Growl) notifications, e.g. from a Jupyter kernel with "
        "gntp_jupyter, and show them as desktop notifications. It listens on loopback "
        "only unless told otherwise; a remote kernel reaches it through "
        "'ssh -R 23053:localhost:23053 server'.",
    )
    where = parser.add_argument_group("where to listen")
    where.add_argument("--host", default="127.0.0.1",
                       help="address to listen on; beyond loopback a password is required "
                       "(default: %(default)s)")
    where.add_argument("--port", type=_port, default=DEFAULT_PORT,
                       help="0 picks a free port (default: %(default)s)")
    secret = parser.add_argument_group(
        "password", f"senders must know it (key hash verified); read from ${PASSWORD_ENV} "
        "unless one of these is given")
    secret.add_argument("--password-file", type=Path, metavar="FILE",
                        help="read the password from the first line of FILE")
    secret.add_argument("--password-prompt", action="store_true",
                        help="ask for the password on the terminal")
    secret.add_argument("--password", help="the password itself: every local user can see it "
                        "in the process list, so prefer the options above")
    secret.add_argument("--insecure-no-password", action="store_true",
                        help="listen beyond loopback without a password: anyone who can reach "
                        "this machine can then put notifications on your screen")
    show = parser.add_argument_group("how to show notifications").add_mutually_exclusive_group()
    show.add_argument("--desktop", action="store_true",
                      help="require the desktop's notification service (exit if there is none)")
    show.add_argument("--print", action="store_true", dest="print_only",
                      help="only print one line per request, never show on the desktop")
    parser.add_argument("--quiet", action="store_true",
                        help="print nothing per request (start-up and errors still print)")
    parser.add_argument("--icon-cache", type=Path, default=default_folder(), metavar="DIR",
                        help="private folder for icon files, bounded and content-named "
                        "(default: %(default)s)")
    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-request-size", type=_positive, default=defaults.max_request_size,
                        metavar="BYTES", help="bytes of one request (default: %(default)s)")
    limits.add_argument("--max-connections", type=_positive, default=None, metavar="N",
                        help=f"open connections at once (default: {defaults.max_connections}, "
                        "or fewer when the descriptor limit is lower)")
    limits.add_argument("--memory-budget", type=_positive, default=defaults.memory_budget,
                        metavar="BYTES", help="bytes of unfinished requests, all "
                        "connections together (default: %(default)s)")
    return parser.parse_args(argv)


def _is_loopback(host: str) -> bool:
    """True only when every address ``host`` stands for is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses
    )


def _password(args: argparse.Namespace) -> str | None:
    if args.password_file is not None:
        try:
            text = args.password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _Refused(f"cannot read the password file {args.password_file}: {exc}") from None
        password = text.splitlines()[0] if text.splitlines() else ""
        if not password:
            raise _Refused(f"the password file {args.password_file} is empty")
        return password
    if args.password_prompt:
        try:
            with warnings.catch_warnings():
                # No terminal: getpass would warn, then read the password echoed.
                warnings.simplefilter("error", getpass.GetPassWarning)
                password = getpass.getpass("GNTP password for senders: ")
        except (EOFError, getpass.GetPassWarning):
            raise _Refused("--password-prompt: no terminal to type the password on") from None
        if not password:
            raise _Refused("no password was typed")
        return password
    if args.password == "":
        raise _Refused("--password is empty")
    if args.password is not None:
        print("warning: a password on the command line is visible to every local user in "
              f"the process list; prefer ${PASSWORD_ENV} or --password-file", file=sys.stderr)
        return args.password
    return os.environ.get(PASSWORD_ENV) or None


def _max_connections(asked: int | None) -> int:
    """The connection cap: below the descriptor limit, whatever was asked."""
    default = asked if asked is not None else ReceiverLimits().max_connections
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return default
    if soft == resource.RLIM_INFINITY:
        return default
    return min(default, max(8, soft - _DESCRIPTOR_RESERVE))


async def _display(args: argparse.Namespace) -> object | None:
    """The desktop display, or None to print; _Refused when --desktop cannot be had."""
    if args.print_only:
        return None
    from .display import DesktopDisplay, DesktopUnavailable

    try:
        return await DesktopDisplay.open(icons=IconStore(args.icon_cache))
    except DesktopUnavailable as exc:
        if args.desktop:
            raise _Refused(f"--desktop: {exc}") from None
        print(f"no desktop notifications: {exc}; printing them instead", flush=True)
        return None


async def _serve(args: argparse.Namespace, password: str | None) -> int:
    def show(record: Record) -> None:
        print(describe(record), flush=True)

    display = await _display(args)
    limits = ReceiverLimits(
        max_request_size=args.max_request_size,
        max_connections=_max_connections(args.max_connections),
        memory_budget=args.memory_budget,
        history=0,  # the display and the printed lines are the record; keep nothing
    )
    receiver = Receiver(
        args.host, args.port, password=password, display=display,  # type: ignore[arg-type]
        limits=limits, listener=None if args.quiet else show,
        lenient=True,  # show what real senders send (apprise, growler, ruby-growl)
    )
    try:
        await receiver.start()
    except OSError as exc:
        if display is not None:
            await display.close()  # type: ignore[attr-defined]
        print(f"gntp-receiver: cannot listen on {receiver.address}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    how = "on the desktop" if display is not None else "printed here"
    lock = "password required" if password else "no password"
    print(f"listening on {receiver.address} ({lock}; notifications {how}; Ctrl-C stops)",
          flush=True)
    try:
        await stop.wait()  # SIGTERM sets it; Ctrl-C cancels us
    finally:
        await receiver.stop()
        print("stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``gntp-receiver`` command; returns the exit status."""
    args = _arguments(argv)
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        password = _password(args)
        if not password and not args.insecure_no_password and not _is_loopback(args.host):
            raise _Refused(
                f"refusing to listen on {args.host} without a password: anyone who can "
                "reach this machine could put notifications on your screen. Set "
                f"${PASSWORD_ENV}, or use --password-file or --password-prompt (senders "
                "then need the same password); --insecure-no-password overrides this."
            )
        return asyncio.run(_serve(args, password))
    except _Refused as exc:
        print(f"gntp-receiver: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
