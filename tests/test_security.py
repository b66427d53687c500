"""Key hashing and encryption against the protocol doc's vectors (gntp-protocol.md).

The expected values below are the doc's published vectors, not outputs of this code.
"""

from __future__ import annotations

import os
import traceback

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gntp_jupyter.gntp import ClientOptions, GNTPValidationError, Publisher, Security
from gntp_jupyter.gntp.encoding import encode_request
from gntp_jupyter.gntp.parsing import RequestParser, RequestRejected
from gntp_jupyter.gntp.requests import NotifyRequest
from gntp_jupyter.gntp.security import decrypt, derive_key, encrypt, key_hash, verify_key_hash

PASSWORD = "foo"
SALT = bytes.fromhex("0102030405060708")
SHA256_KEY = "EB24C50BB069039CEC9735612856FC839CF11E71FCA8C5FFA02451F71D7BFC8A"
KEY_HASHES = {
    "MD5": "A9DAB07BC1A50BFC95B3A132AE057DF5",
    "SHA1": "2E182EDE6F0D690396EC6B278A5D63D8AB2A011F",
    "SHA256": "92794BAD76F5DCBA35B1A6278CA5A31CAF5A920BC78E638A0E899DF44FEA9AB4",
    "SHA512": (
        "055F784A93649826950AB313394DC1C81FD77F3FDCA0AFC04FC9607973FF25D5"
        "956114AAB274820D2195B69B57B06986E0A77F5435C6119875EFF53ECC5A5A2C"
    ),
}
#: (algorithm, IV, plaintext, ciphertext), all with the SHA256 key above.
CIPHER_VECTORS = [
    (
        "AES",
        bytes(range(16)),
        b"Application-Name: App\r\n",
        "F12915FF381B7B3CB9DA4BC3017425EA5781E93B656299E4623AC019D8729AFA",
    ),
    ("DES", bytes(8), b"x", "8B23A15339C80183"),
    ("3DES", bytes(8), b"x", "DBF3A3EC6AB7F4F7"),
]
SECRET = "hunter2-Zq9!"  # distinctive, so a leak is unmistakable


@pytest.mark.parametrize("algorithm", sorted(KEY_HASHES))
def test_key_hash_vectors(algorithm: str) -> None:
    assert key_hash(PASSWORD, algorithm, SALT).hex().upper() == KEY_HASHES[algorithm]


@pytest.mark.parametrize("algorithm", sorted(KEY_HASHES))
def test_verify_key_hash_accepts_vector_and_rejects_other_password(algorithm: str) -> None:
    received = bytes.fromhex(KEY_HASHES[algorithm])
    assert verify_key_hash(PASSWORD, algorithm, SALT, received)
    assert not verify_key_hash("fop", algorithm, SALT, received)
    assert not verify_key_hash(PASSWORD, algorithm, SALT[::-1], received)


def test_sha256_key_vector() -> None:
    assert derive_key(PASSWORD, "SHA256", SALT).hex().upper() == SHA256_KEY


@pytest.mark.parametrize(("algorithm", "iv", "plaintext", "ciphertext"), CIPHER_VECTORS)
def test_cipher_vectors(algorithm: str, iv: bytes, plaintext: bytes, ciphertext: str) -> None:
    key = bytes.fromhex(SHA256_KEY)
    assert encrypt(algorithm, key, iv, plaintext).hex().upper() == ciphertext
    assert decrypt(algorithm, key, iv, bytes.fromhex(ciphertext)) == plaintext


@pytest.mark.parametrize(("algorithm", "iv", "plaintext", "ciphertext"), CIPHER_VECTORS)
def test_cipher_key_is_a_prefix_of_the_key_not_of_the_key_hash(
    algorithm: str, iv: bytes, plaintext: bytes, ciphertext: str
) -> None:
    # A longer (SHA512) key whose prefix is the SHA256 key gives the same ciphertext.
    key = bytes.fromhex(SHA256_KEY) + bytes(32)
    assert encrypt(algorithm, key, iv, plaintext).hex().upper() == ciphertext
    hashed_key = bytes.fromhex(KEY_HASHES["SHA256"])
    assert encrypt(algorithm, hashed_key, iv, plaintext).hex().upper() != ciphertext


def _raw_cbc_decrypt(algorithm: str, key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """CBC decryption without unpadding, built from ``cryptography`` directly."""
    if algorithm == "AES":
        cipher = Cipher(algorithms.AES(key[:24]), modes.CBC(iv))
    else:
        key = key[:8] * 3 if algorithm == "DES" else key[:24]
        cipher = Cipher(TripleDES(key), modes.CBC(iv))
    dec = cipher.decryptor()
    return dec.update(ciphertext) + dec.finalize()


def _valid_pkcs7(padded: bytes, block: int) -> bool:
    n = padded[-1]
    return 1 <= n <= block and padded[-n:] == bytes([n]) * n


@pytest.mark.parametrize("algorithm", ["AES", "DES", "3DES"])
def test_decrypt_with_wrong_key_is_a_value_error(algorithm: str) -> None:
    key = bytes.fromhex(SHA256_KEY)
    block = 16 if algorithm == "AES" else 8
    iv = bytes(block)
    ciphertext = encrypt(algorithm, key, iv, b"Notification-Title: hello\r\n")
    # CBC with a wrong key decrypts to noise, which PKCS#7 rejects only most of the time:
    # take the first wrong key (in a fixed order) whose noise certainly has bad padding.
    candidates = (derive_key(f"wrong-{i}", "SHA256", SALT) for i in range(64))
    wrong = next(
        k for k in candidates
        if not _valid_pkcs7(_raw_cbc_decrypt(algorithm, k, iv, ciphertext), block)
    )
    with pytest.raises(ValueError):
        decrypt(algorithm, wrong, iv, ciphertext)


@pytest.mark.parametrize("algorithm", ["AES", "DES", "3DES"])
def test_decrypt_refuses_partial_blocks(algorithm: str) -> None:
    key = bytes.fromhex(SHA256_KEY)
    iv = bytes(16 if algorithm == "AES" else 8)
    with pytest.raises(ValueError, match="whole number of blocks"):
        decrypt(algorithm, key, iv, b"abc")
    with pytest.raises(ValueError, match="whole number of blocks"):
        decrypt(algorithm, key, iv, b"")


@pytest.mark.parametrize("encryption", ["AES", "3DES"])
@pytest.mark.parametrize("hash_algorithm", ["MD5", "SHA1"])
def test_impossible_combinations_are_refused(encryption: str, hash_algorithm: str) -> None:
    with pytest.raises(GNTPValidationError) as info:
        Security(SECRET, hash_algorithm, encryption)
    message = str(info.value)
    assert encryption in message
    assert hash_algorithm in message
    assert "SHA256 or SHA512" in message
    assert SECRET not in message


def test_impossible_combination_is_refused_before_anything_is_sent() -> None:
    # Nothing listens on port 9 here: had anything connected, the error would be "refused".
    with pytest.raises(GNTPValidationError, match="SHA256 or SHA512"):
        Publisher("App", ["done"], port=9, password=SECRET, hash_algorithm="MD5",
                  encryption="AES")


@pytest.mark.parametrize(
    ("hash_algorithm", "encryption"),
    [(h, e) for h in ("MD5", "SHA1", "SHA256", "SHA512") for e in ("DES",)]
    + [(h, e) for h in ("SHA256", "SHA512") for e in ("AES", "3DES")],
)
def test_possible_combinations_are_accepted(hash_algorithm: str, encryption: str) -> None:
    security = Security(SECRET, hash_algorithm, encryption)
    assert (security.hash_algorithm, security.encryption) == (hash_algorithm, encryption)


def test_algorithm_names_are_case_insensitive_and_none_means_no_encryption() -> None:
    security = Security(SECRET, "sha512", "aes")
    assert (security.hash_algorithm, security.encryption) == ("SHA512", "AES")
    assert Security(SECRET, "md5", "none").encryption is None


@pytest.mark.parametrize("name", ["SHA3", "SHA384", "CRC32", "", "MD4"])
def test_unknown_hash_algorithm_is_refused(name: str) -> None:
    with pytest.raises(GNTPValidationError, match="unknown hash algorithm") as info:
        Security(SECRET, name)
    assert "MD5, SHA1, SHA256, SHA512" in str(info.value)


@pytest.mark.parametrize("name", ["BLOWFISH", "AES256", "RC4", "DES3"])
def test_unknown_encryption_is_refused(name: str) -> None:
    with pytest.raises(GNTPValidationError, match="unknown encryption") as info:
        Security(SECRET, "SHA256", name)
    assert "AES, DES, 3DES" in str(info.value)


def test_encryption_needs_a_password() -> None:
    with pytest.raises(GNTPValidationError, match="needs a password"):
        Security(None, "SHA256", "AES")
    with pytest.raises(GNTPValidationError, match="needs a password"):
        Security("", "SHA256", "DES")


def test_no_password_means_no_hash() -> None:
    assert not Security().hashed
    assert not Security("").hashed
    assert Security(SECRET).hashed


def test_password_never_in_repr() -> None:
    security = Security(SECRET, "SHA512", "AES")
    options = ClientOptions.build(password=SECRET, encryption="3DES")
    publisher = Publisher("App", ["done"], password=SECRET, encryption="AES")
    for obj in (security, options, publisher, publisher.options, publisher.client.options):
        assert SECRET not in repr(obj)
        assert SECRET not in str(obj)
    assert "SHA512" in repr(security)  # the repr still says what matters


def test_password_never_in_rejection_message_or_traceback() -> None:
    request = NotifyRequest("App", "done", "title")
    data = encode_request(request, Security("not-" + SECRET, "SHA256"))
    parser = RequestParser(password=SECRET)
    parser.feed(data)
    with pytest.raises(RequestRejected) as info:
        parser.next_request()
    assert info.value.code == 400
    assert SECRET not in str(info.value)
    assert SECRET not in "".join(traceback.format_exception(info.value))


def test_password_never_in_validation_traceback() -> None:
    with pytest.raises(GNTPValidationError) as info:
        Security(SECRET, "SHA1", "3DES")
    assert SECRET not in "".join(traceback.format_exception(info.value))


class CountingRandbytes:
    """A deterministic ``randbytes`` that records each request and never repeats."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.outputs: list[bytes] = []

    def __call__(self, n: int) -> bytes:
        self.calls.append(n)
        counter = len(self.calls)
        out = bytes((counter * 37 + i) % 256 for i in range(n))
        self.outputs.append(out)
        return out


def _salt_of(data: bytes) -> str:
    info = data.split(b"\r\n", 1)[0].decode()
    return info.rsplit(".", 1)[1]


@pytest.mark.parametrize("encryption", [None, "AES", "DES", "3DES"])
def test_fresh_salt_per_message_from_injected_randbytes(encryption: str | None) -> None:
    rand = CountingRandbytes()
    security = Security(SECRET, "SHA256", encryption, randbytes=rand)
    request = NotifyRequest("App", "done", "title", notification_id="1")
    first = encode_request(request, security)
    second = encode_request(request, security)
    draws_per_message = 1 if encryption is None else 2  # salt, then IV
    assert len(rand.calls) == 2 * draws_per_message
    salts = [rand.outputs[0], rand.outputs[draws_per_message]]
    assert 8 <= len(salts[0]) <= 16
    assert _salt_of(first) == salts[0].hex().upper()
    assert _salt_of(second) == salts[1].hex().upper()
    assert salts[0] != salts[1]
    assert first != second


def test_default_randbytes_is_a_csprng() -> None:
    assert Security(SECRET).randbytes is os.urandom
    salts = {Security(SECRET).new_salt() for _ in range(20)}
    assert len(salts) == 20


def test_a_secret_never_shows_and_compares_by_value() -> None:
    from gntp_jupyter.gntp.security import Secret

    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}" + repr([secret])
    assert secret == Secret("hunter2") != Secret("other") and not Secret("")
    assert hash(secret) == hash(Secret("hunter2"))
    assert Security("hunter2").password == secret  # a str is wrapped at once
    assert Security("").password is None
    assert derive_key(secret, "SHA256", b"salt") == derive_key("hunter2", "SHA256", b"salt")


def test_a_password_that_cannot_be_sent_is_refused_without_naming_it() -> None:
    from gntp_jupyter.gntp.security import Secret

    password = "caf\udce9-" + "secret"
    with pytest.raises(GNTPValidationError) as info:
        Secret(password)
    assert "not valid UTF-8" in str(info.value) and info.value.__suppress_context__
    tb, shown = info.value.__traceback__.tb_next, []  # below this test's own frame
    while tb is not None:
        shown += [repr(v) for v in tb.tb_frame.f_locals.values()]
        tb = tb.tb_next
    assert shown and not any("secret" in v for v in shown), shown  # what Verbose prints
