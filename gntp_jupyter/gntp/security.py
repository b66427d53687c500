"""Password key hashing and message encryption, exactly as GNTP/1.0 defines them.

::

    key      = H(utf8(password) + salt)       # salt: fresh CSPRNG bytes per message
    keyHash  = H(key)                         # sent as ALG:HEX(keyHash).HEX(salt)
    cipher   = first N bytes of key, CBC, PKCS#7, IV sent in the info line

AES means AES-192 and 3DES a 24-byte key, so both need a 32- or 64-byte key: SHA256
or SHA512. Such impossible combinations are refused before anything is sent.

The password travels as a :class:`Secret` down to :func:`derive_key`, the one place its
bytes are used: its repr and str are masked, so a traceback that prints local variables
(IPython's ``%xmode Verbose``, saved in the notebook) never shows it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .exceptions import GNTPValidationError

__all__ = [
    "ENCRYPTION_ALGORITHMS",
    "HASH_ALGORITHMS",
    "Secret",
    "Security",
    "decrypt",
    "derive_key",
    "encrypt",
    "key_hash",
]

RandBytes = Callable[[int], bytes]

#: name -> hashlib constructor name.
HASH_ALGORITHMS = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
#: name -> (key length, IV/block length).
ENCRYPTION_ALGORITHMS = {"AES": (24, 16), "DES": (8, 8), "3DES": (24, 8)}
_SALT_LENGTH = 16


class Secret:
    """A password that never shows: ``repr`` and ``str`` are masked.

    ``Secret("...")`` checks at once that the text can be sent (UTF-8), with a message
    that names no character of it. Equal secrets compare equal (in constant time), so
    settings holding one can be compared and used as keys.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value._value
        if not isinstance(value, str):
            raise GNTPValidationError(f"a password must be text, not {type(value).__name__}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = ""  # a traceback that prints this frame's locals must not show it
            raise GNTPValidationError(
                "the password is not valid UTF-8 text (it holds an undecodable byte): "
                "set it again"
            ) from None
        self._value = value

    def __repr__(self) -> str:
        return "Secret('********')"

    def __str__(self) -> str:
        return "********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._utf8(), other._utf8())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __add__(self, suffix: str) -> Secret:
        """The password a server forwards with: its own plus a Subscriber-ID."""
        return Secret(self._value + suffix)

    def __reduce__(self) -> tuple:
        raise TypeError("a Secret is not pickled")

    def _utf8(self) -> bytes:
        return self._value.encode("utf-8")


def _hash(algorithm: str, data: bytes) -> bytes:
    return hashlib.new(HASH_ALGORITHMS[algorithm], data, usedforsecurity=True).digest()


def derive_key(password: Secret | str, algorithm: str, salt: bytes) -> bytes:
    """``H(password + salt)``: the secret both sides compute; ciphers use its prefix.

    The one place the password's bytes are used (never bound to a name here).
    """
    return _hash(algorithm, Secret(password)._utf8() + salt)


def key_hash(password: Secret | str, algorithm: str, salt: bytes) -> bytes:
    """``H(H(password + salt))``: what travels in the info line."""
    return _hash(algorithm, derive_key(password, algorithm, salt))


def _cipher(algorithm: str, key: bytes, iv: bytes) -> Cipher:
    key_len, _ = ENCRYPTION_ALGORITHMS[algorithm]
    if len(key) < key_len:
        raise GNTPValidationError(
            f"{algorithm} needs a {key_len}-byte key: use SHA256 or SHA512 as the hash"
        )
    key = key[:key_len]
    if algorithm == "AES":
        return Cipher(algorithms.AES(key), modes.CBC(iv))
    if algorithm == "DES":
        key = key * 3  # single DES is TripleDES with K1 = K2 = K3
    return Cipher(TripleDES(key), modes.CBC(iv))


def encrypt(algorithm: str, key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """CBC with PKCS#7 padding."""
    _, block = ENCRYPTION_ALGORITHMS[algorithm]
    padder = padding.PKCS7(block * 8).padder()
    enc = _cipher(algorithm, key, iv).encryptor()
    return enc.update(padder.update(plaintext) + padder.finalize()) + enc.finalize()


def decrypt(algorithm: str, key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of :func:`encrypt`; raises ValueError on a wrong key or bad padding."""
    _, block = ENCRYPTION_ALGORITHMS[algorithm]
    if len(ciphertext) % block or not ciphertext:
        raise ValueError("ciphertext is not a whole number of blocks")
    dec = _cipher(algorithm, key, iv).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = padding.PKCS7(block * 8).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def verify_key_hash(
    password: Secret | str, algorithm: str, salt: bytes, received: bytes
) -> bool:
    """Constant-time check of a key hash a peer sent."""
    return hmac.compare_digest(key_hash(password, algorithm, salt), received)


@dataclass(frozen=True)
class Security:
    """Password, hash and cipher for one target; the password (a :class:`Secret`, also
    when given as a str) never shows in a repr.

    ``randbytes`` is injectable so tests can fix the salt and IV.
    """

    password: Secret | None = field(default=None, repr=False)
    hash_algorithm: str = "SHA256"
    encryption: str | None = None
    randbytes: RandBytes = field(default=os.urandom, repr=False, compare=False)

    def __post_init__(self) -> None:
        alg = (self.hash_algorithm or "").upper()
        if alg not in HASH_ALGORITHMS:
            raise GNTPValidationError(
                f"unknown hash algorithm {self.hash_algorithm!r}; "
                f"choose one of {', '.join(HASH_ALGORITHMS)}"
            )
        object.__setattr__(self, "hash_algorithm", alg)
        enc = self.encryption.upper() if self.encryption else None
        if enc == "NONE":
            enc = None
        if enc is not None and enc not in ENCRYPTION_ALGORITHMS:
            raise GNTPValidationError(
                f"unknown encryption {self.encryption!r}; choose one of "
                f"{', '.join(ENCRYPTION_ALGORITHMS)} or None"
            )
        object.__setattr__(self, "encryption", enc)
        if self.password is not None and not isinstance(self.password, (str, Secret)):
            raise GNTPValidationError("password must be a string")
        # A str is wrapped at once; an empty password is no password.
        object.__setattr__(self, "password", Secret(self.password) if self.password else None)
        if enc is not None and not self.password:
            raise GNTPValidationError(f"{enc} encryption needs a password")
        if enc is not None:
            key_len, _ = ENCRYPTION_ALGORITHMS[enc]
            digest_len = hashlib.new(HASH_ALGORITHMS[alg]).digest_size
            if digest_len < key_len:
                raise GNTPValidationError(
                    f"{enc} needs a {key_len}-byte key but {alg} gives {digest_len} bytes: "
                    "use SHA256 or SHA512 with it"
                )

    @property
    def hashed(self) -> bool:
        """Only send a key hash when a password is configured: servers always verify one."""
        return bool(self.password)

    def new_salt(self) -> bytes:
        return self.randbytes(_SALT_LENGTH)

    def new_iv(self) -> bytes:
        assert self.encryption is not None
        return self.randbytes(ENCRYPTION_ALGORITHMS[self.encryption][1])


NO_SECURITY = Security()
