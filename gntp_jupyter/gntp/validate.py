"""One validator per value people type: a host, a port, a priority, an icon.

``GNTPNotifier``'s traits, the magics' options, the panel's fields and the protocol's
own values all call these, so one bad value is refused in the same words wherever it
was typed. Each takes the value as given (an int; with ``from_text=True`` also the text
of one, as typed in a magic or an address), returns the value to use, and raises
:class:`GNTPValidationError` whose message names the setting, the rule and the value:
``port must be a whole number from 1 to 65535, not 0``. The icon's validator,
:func:`~.resources.check_icon`, lives with the icon's reader and raises
:class:`GNTPResourceError` (it may read a file).
"""

from __future__ import annotations

from .exceptions import GNTPValidationError
from .headers import parse_int
from .resources import check_icon

__all__ = ["PORTS", "PRIORITIES", "check_host", "check_icon", "check_port", "check_priority"]

#: The ports a GNTP server can listen on.
PORTS = range(1, 65536)
#: GNTP priorities: -2 very low, -1 moderate, 0 normal, 1 high, 2 emergency.
PRIORITIES = range(-2, 3)


def _whole_number(value: object, allowed: range, rule: str, from_text: bool) -> int:
    """``value`` (an int; the text of one if ``from_text``) if it is in ``allowed``;
    else the error ``<rule>, not <value>`` (a number read from text shows as the number,
    so ``--port 0`` and ``port = 0`` read alike)."""
    number = parse_int(value) if from_text and isinstance(value, str) else value
    if isinstance(number, bool) or not isinstance(number, int):
        raise GNTPValidationError(f"{rule}, not {value!r}")
    if number not in allowed:
        raise GNTPValidationError(f"{rule}, not {number}")
    return number


def check_port(value: object, *, name: str = "port", from_text: bool = False) -> int:
    """A TCP port, 1 to 65535 (``name`` starts the message: ``subscriber port``)."""
    return _whole_number(value, PORTS, f"{name} must be a whole number from 1 to 65535",
                         from_text)


def check_priority(value: object, *, from_text: bool = False) -> int:
    """A GNTP priority, -2 (very low) to 2 (emergency)."""
    return _whole_number(
        value, PRIORITIES, "priority must be a whole number from -2 (very low) to 2 (emergency)",
        from_text,
    )


def check_host(value: object) -> str:
    """A host name or IP address, without a port; an IPv6 address may come in brackets
    (``[::1]``, as addresses are printed). Returns it stripped of both."""
    if not isinstance(value, str) or not value.strip():
        raise GNTPValidationError(f"host must be a name or an IP address, not {value!r}")
    host = value.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1].strip()
    if host.count(":") == 1 or (host.startswith("[") and "]:" in host):
        raise GNTPValidationError(
            f"host {value!r} includes a port: give the host alone and the port apart")
    if not host or any(c in "[]/@ " or not c.isprintable() for c in host):
        raise GNTPValidationError(f"host must be a name or an IP address, not {value!r}")
    return host
