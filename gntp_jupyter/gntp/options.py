"""Where to send and how long to wait: one value shared by the sync and async clients."""

from __future__ import annotations

from dataclasses import dataclass, field

from .exceptions import GNTPValidationError
from .security import Secret, Security
from .validate import check_host, check_port

__all__ = [
    "DEFAULT_PORT",
    "ClientOptions",
    "Timeout",
    "format_address",
    "format_seconds",
    "split_address",
]

DEFAULT_PORT = 23053


def format_address(host: str, port: int) -> str:
    """``host:port``, with IPv6 literals bracketed."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_seconds(seconds: float) -> str:
    """Seconds as people write them in a message: ``3 s``, ``1.5 s``, ``0.25 s``.

    Two decimals at most, no float noise: a deadline cut to 2.99998 s reads ``3 s``.
    """
    return f"{round(seconds, 2):g} s"


def split_address(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 literal ->
    (host, port or None): every form :func:`format_address` prints is read back.

    Raises GNTPValidationError (a ValueError) for an empty host or a bad port.
    """
    text = text.strip()
    port_text = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise GNTPValidationError(f"cannot read the address {text!r}: use [v6] or [v6]:port")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host = text  # a name, an IPv4 address or a bare IPv6 literal
    if not host.strip():
        raise GNTPValidationError(f"no host in the address {text!r}")
    if port_text is None:
        return host, None
    try:
        return host, check_port(port_text, from_text=True)
    except GNTPValidationError as exc:
        raise GNTPValidationError(f"{exc} in {text!r}") from None


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait; nothing ever waits without a bound.

    ``response``: the most one request may take, from connecting to the end of the reply
    (so ``timeout=5`` means a call returns or fails within about 5 s). ``connect``: the
    most the TCP connect alone may take, within that. ``callback``: how long a socket
    callback is awaited after ``-OK`` (in the background).
    """

    connect: float = 5.0
    response: float = 10.0
    callback: float = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "response", "callback"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise GNTPValidationError(f"timeout {name} must be positive, got {value!r}")

    @property
    def connect_limit(self) -> float:
        """The connect timeout, never more than the whole request may take."""
        return min(self.connect, self.response)

    @classmethod
    def coerce(cls, value: Timeout | float | None) -> Timeout:
        """A number sets connect and response; None keeps the defaults."""
        if value is None:
            return cls()
        if isinstance(value, Timeout):
            return value
        return cls(connect=value, response=value)


@dataclass(frozen=True)
class ClientOptions:
    """Target address, credentials and timeouts; the password stays out of the repr."""

    host: str = "localhost"
    port: int = DEFAULT_PORT
    security: Security = field(default_factory=Security)
    timeout: Timeout = field(default_factory=Timeout)

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", check_host(self.host))
        check_port(self.port)

    @classmethod
    def build(
        cls, *, host: str = "localhost", port: int = DEFAULT_PORT,
        password: Secret | str | None = None,
        hash_algorithm: str = "SHA256", encryption: str | None = None,
        timeout: Timeout | float | None = None,
    ) -> ClientOptions:
        return cls(
            host=host, port=port,
            security=Security(password, hash_algorithm, encryption),
            timeout=Timeout.coerce(timeout),
        )

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)
