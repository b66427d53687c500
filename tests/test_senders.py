"""Real GNTP senders from the wild against our receiver, each driven live.

apprise (PyPI, through ``gntp`` 1.0.3) and gntplib run in this process; npm growly (the
client inside node-notifier) and growler run under Node, installed once per session into
``.cache/npm-senders``; Debian's ruby-growl runs under Ruby (tests/senders/ holds the
driver scripts). Each sender quirk is tested twice: the desktop receiver (``lenient``, as
``gntp-receiver`` runs) accepts it, and the strict receiver answers it the way Growl for
Windows does. What the desktop would show is read from a fake Notifications service.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from icon_server import png

from gntp_jupyter.gntp.receiver import ReceiverThread

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "senders"
NPM_CACHE = ROOT / ".cache" / "npm-senders"
NPM_PACKAGES = ("growly@1.3.0", "growler@0.0.1")
PASSWORD = "pässword ✓"
# Icon sizes around the cipher blocks: growler's plaintext Length is ambiguous only when
# it is a whole number of blocks (48 = 3 AES blocks = 6 DES blocks).
ICON_SIZES = (77, 48)

Factory = Callable[..., ReceiverThread]

pytestmark = pytest.mark.senders


def icon(size: int) -> bytes:
    """An icon whose bytes trip naive framing (CRLF CRLF inside)."""
    return (png(f"sender-{size}") + b"\r\n\r\n" * size)[:size]


# -- drivers ---------------------------------------------------------------------------


def run_script(argv: list[str], config: dict, *, env: dict | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*argv, json.dumps(config)], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """growly and growler installed with npm into the worktree's cache (once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for growly and growler (apt-get install nodejs npm)")
    modules = NPM_CACHE / "node_modules"
    if all((modules / p.split("@")[0] / "package.json").exists() for p in NPM_PACKAGES):
        return modules
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix",
             str(NPM_CACHE), *NPM_PACKAGES],
            capture_output=True, text=True, timeout=180,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install growly growler timed out (registry unreachable?)")
    if done.returncode != 0:
        pytest.skip(f"npm install growly growler failed: {done.stderr.strip()[-300:]}")
    return modules


def node(modules: Path, script: str, config: dict) -> list[str]:
    done = run_script(["node", str(SCRIPTS / script)], config,
                      env={"NODE_PATH": str(modules)})
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.fixture(scope="session")
def ruby_growl() -> Callable[[dict], subprocess.CompletedProcess]:
    """``ruby_growl(config)`` runs Debian's ruby-growl (skips when not installed)."""
    if shutil.which("ruby") is None or shutil.which("growl") is None:
        pytest.skip("ruby-growl is not installed (apt-get install ruby-growl)")

    def send(config: dict) -> subprocess.CompletedProcess:
        return run_script(["ruby", str(SCRIPTS / "ruby_growl_send.rb")], config)

    return send


# -- apprise ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apprise():
    """apprise with PyPI gntp, which its growl:// URLs need (both in the test extra)."""
    pytest.importorskip("gntp", reason="apprise's growl:// needs PyPI gntp")
    return pytest.importorskip("apprise")


def apprise_send(apprise, host: str, port: int, *, password: str | None = None,
                 query: str = "", body: str = "body", title: str = "Title",
                 asset=None) -> bool:
    """One notification through apprise's ``growl://`` URL, as its users send it."""
    sender = apprise.Apprise(asset=asset) if asset is not None else apprise.Apprise()
    auth = f"{quote(password, safe='')}@" if password else ""
    assert sender.add(f"growl://{auth}{host}:{port}/" + (f"?{query}" if query else ""))
    return bool(sender.notify(title=title, body=body))


@pytest.fixture
def desktop(receiver_cli, fake_notifications, tmp_path):
    """``gntp-receiver --desktop`` showing on a fake Notifications service: (child, fake)."""
    env = {"DBUS_SESSION_BUS_ADDRESS": fake_notifications.bus.address}
    child = receiver_cli("--desktop", "--icon-cache", str(tmp_path / "icons"), env=env)
    return child, fake_notifications


@pytest.mark.parametrize(
    "body", ["Status: failed\nError: disk full", "first line\nsecond line without a colon"]
)
def test_apprise_multiline_body_is_shown_whole(apprise, desktop, body):
    child, fake = desktop
    assert apprise_send(apprise, child.host, child.port, body=body, title="Build")
    (shown,) = fake.wait_for(1, timeout=10)
    assert (shown.app_name, shown.summary, shown.body) == ("Apprise", "Build", body)


def test_strict_receiver_keeps_only_the_first_line_like_growl_for_windows(apprise, receiver):
    body = "Status: failed\nError: disk full"
    assert apprise_send(apprise, receiver.host, receiver.port, body=body)
    (note,) = receiver.wait_for(1)
    assert note.text == "Status: failed"
    assert note.headers["Error"] == "disk full"  # Windows reads it as an unknown header


@pytest.mark.parametrize(
    ("query", "urgency", "expire"),
    [("priority=emergency&sticky=yes", 2, 0), ("priority=low&sticky=no", 0, -1)],
)
def test_apprise_priority_and_sticky_arrive(apprise, desktop, query, urgency, expire):
    child, fake = desktop
    assert apprise_send(apprise, child.host, child.port, query=query)
    (shown,) = fake.wait_for(1, timeout=10)
    assert (shown.hints["urgency"], shown.expire_timeout) == (urgency, expire)


def test_apprise_url_icon_is_shown(apprise, desktop, icon_server):
    child, fake = desktop
    asset = apprise.AppriseAsset(image_url_mask=icon_server.url("/apprise/{TYPE}-{XY}.png"))
    assert apprise_send(apprise, child.host, child.port, asset=asset)
    (shown,) = fake.wait_for(1, timeout=10)
    path = Path(shown.app_icon.removeprefix("file://"))
    assert path.read_bytes() == png("/apprise/info-72x72.png")


def test_apprise_icon_nothing_can_fetch_is_skipped(apprise, desktop, closed_port):
    child, fake = desktop
    mask = f"http://127.0.0.1:{closed_port}/{{TYPE}}-{{XY}}.png"
    asset = apprise.AppriseAsset(image_url_mask=mask)
    assert apprise_send(apprise, child.host, child.port, asset=asset)
    (shown,) = fake.wait_for(1, timeout=15)
    assert (shown.summary, shown.app_icon) == ("Title", "")


def test_apprise_password(apprise, receiver_cli):
    child = receiver_cli("--print", env={"GNTP_PASSWORD": PASSWORD})
    assert apprise_send(apprise, child.host, child.port, password=PASSWORD, title="hashed")
    assert "hashed" in child.wait_for_line("NOTIFY")
    # apprise reports success whatever gntp answers; the receiver's record says otherwise.
    apprise_send(apprise, child.host, child.port, password="wrong", title="refused")
    for _ in ("REGISTER", "NOTIFY"):
        assert "with 400: the key hash does not match" in child.wait_for_line("REJECTED")


@pytest.mark.parametrize("algorithm", ["MD5", "SHA1", "SHA256", "SHA512"])
def test_each_hash_of_the_gntp_library_under_apprise(apprise, receiver_factory, algorithm):
    # apprise itself always hashes with gntp's default, MD5 (its URL has no choice);
    # the library it sends through offers these four.
    import gntp.notifier

    server = receiver_factory(password=PASSWORD, lenient=True)
    sender = gntp.notifier.GrowlNotifier(
        "Hashes", ["done"], hostname=server.host, port=server.port, password=PASSWORD
    )
    sender.passwordHash = algorithm
    assert sender.register() is True
    assert sender.notify("done", "t", "line one\nline two") is True
    assert {r.hash_algorithm for r in server.requests} == {algorithm}
    assert server.notifications[0].text == "line one\nline two"


# -- socket callbacks: never in the same write as -OK --------------------------------
# gntplib and growly read only the first message of a chunk. A real click comes long
# after the -OK; the scripted display clicks 50 ms later. The same-chunk receiver shows
# what these readers lose when a server writes both at once.

CALLBACKS = 10


def gntplib_clicks(server: ReceiverThread) -> int:
    import gntplib

    clicks = []
    publisher = gntplib.Publisher("Callbacks", ["done"], host=server.host, port=server.port,
                                  timeout=10)
    publisher.register()
    for i in range(CALLBACKS):
        # A lost callback: the server closed with nothing more for gntplib to read.
        with contextlib.suppress(gntplib.exceptions.GNTPError):
            publisher.publish("done", f"note {i}", context=f"ctx-{i}", context_type="string",
                              on_click=lambda response, i=i: clicks.append(i))
    return len(clicks)


def test_gntplib_gets_every_callback(receiver_factory: Factory):
    server = receiver_factory(lenient=True, callback="CLICKED", callback_delay=0.05)
    assert gntplib_clicks(server) == CALLBACKS


def test_gntplib_loses_callbacks_that_share_the_ok_write(receiver_factory: Factory):
    server = receiver_factory(callback="CLICKED", callback_same_chunk=True)
    assert gntplib_clicks(server) < CALLBACKS


def growly_clicks(node_modules: Path, server: ReceiverThread, folder: Path) -> list[str]:
    path = folder / "icon.png"
    path.write_bytes(icon(77))
    lines = node(node_modules, "growly_send.js", {
        "port": server.port, "count": CALLBACKS, "icon": str(path), "title": "note",
        "text": "a\nb",
    })
    assert lines[0] == "registered", lines
    return sorted(line for line in lines if line.startswith("callback"))


def test_growly_gets_every_callback(node_modules, receiver_factory: Factory, tmp_path):
    server = receiver_factory(lenient=True, callback="CLICKED", callback_delay=0.05)
    clicks = growly_clicks(node_modules, server, tmp_path)
    assert clicks == sorted(f"callback {i} clicked" for i in range(CALLBACKS))
    note = server.notifications[0]
    assert (note.text, note.sticky, note.priority) == ("a\nb", True, 1)
    assert server.registrations["Growly Test"].icon == icon(77)


def test_growly_loses_callbacks_that_share_the_ok_write(node_modules, receiver_factory,
                                                         tmp_path):
    server = receiver_factory(callback="CLICKED", callback_same_chunk=True)
    assert growly_clicks(node_modules, server, tmp_path) == []


# -- growler: the plaintext Length of encrypted binary sections --------------------------


def growler(node_modules: Path, server_port: int, *, encryption: str | None,
            size: int = 77, password: str | None = PASSWORD) -> list[str]:
    config = {"port": server_port, "password": password, "hash": "SHA256",
              "encryption": encryption, "icon": icon(size).hex(), "title": "Grüße",
              "text": "from growler"}
    return node(node_modules, "growler_send.js", config)


@pytest.mark.parametrize("size", ICON_SIZES)
@pytest.mark.parametrize("encryption", ["AES", "3DES", None])
def test_growler_icons_arrive(node_modules, receiver_factory: Factory, encryption, size):
    server = receiver_factory(password=PASSWORD, lenient=True)
    assert growler(node_modules, server.port, encryption=encryption, size=size) == [
        "register true", "notify true"
    ]
    (note,) = server.notifications
    assert (note.title, note.text, note.icon) == ("Grüße", "from growler", icon(size))
    assert server.registrations["Growler Test"].icon == icon(size)
    assert {r.encryption for r in server.requests} == {encryption}


@pytest.mark.parametrize("encryption", ["AES", "3DES"])
def test_strict_receiver_refuses_growlers_length_with_300(node_modules, receiver_factory,
                                                          encryption):
    server = receiver_factory(password=PASSWORD)
    assert growler(node_modules, server.port, encryption=encryption) == ["register false 300"]
    assert [r.code for r in server.rejections] == [300]


# -- ruby-growl: no blank line after encrypted headers, replies framed as Growl on macOS --


def ruby_config(port: int, **overrides) -> dict:
    config = {"port": port, "password": PASSWORD, "encrypt": None, "icon": icon(77).hex(),
              "title": "Tïtle", "text": "from ruby", "callback": False}
    return {**config, **overrides}


@pytest.mark.parametrize("encrypt", ["AES", "3DES", None])
def test_ruby_growl_icons_arrive(ruby_growl, receiver_factory: Factory, encrypt):
    server = receiver_factory(password=PASSWORD, lenient=True)
    done = ruby_growl(ruby_config(server.port, encrypt=encrypt))
    assert done.stdout.splitlines() == ["sent"], done.stderr
    (note,) = server.notifications
    assert (note.title, note.text, note.icon) == ("Tïtle", "from ruby", icon(77))
    assert server.registrations["Ruby Test"].event_icons == {"done": icon(77)}
    assert {(r.encryption, r.hash_algorithm) for r in server.requests} == {(encrypt, "SHA512")}


@pytest.mark.parametrize("encrypt", ["AES", "3DES"])
def test_strict_receiver_refuses_ruby_growls_missing_blank_line_with_300(
    ruby_growl, receiver_factory: Factory, encrypt
):
    server = receiver_factory(password=PASSWORD)
    done = ruby_growl(ruby_config(server.port, encrypt=encrypt))
    assert done.stdout.splitlines() == ["error 300"], done.stderr
    assert [r.code for r in server.rejections] == [300]


def test_ruby_growl_gets_its_callback_in_growl_mac_framing(ruby_growl, receiver_factory):
    server = receiver_factory(lenient=True, callback="CLICKED", callback_delay=0.05)
    done = ruby_growl(ruby_config(server.port, password=None, callback=True))
    assert done.stdout.splitlines() == ["callback CLICKED", "sent"], done.stderr


def test_strict_framing_loses_ruby_growls_callback(ruby_growl, receiver_factory: Factory):
    # ruby-growl reads each reply up to CRLF CRLF CRLF: with Windows framing its first
    # read swallows -OK and -CALLBACK together and the second finds nothing.
    server = receiver_factory(callback="CLICKED", callback_delay=0.05)
    done = ruby_growl(ruby_config(server.port, password=None, callback=True))
    assert "callback" not in done.stdout
    assert done.returncode != 0


# -- the command itself is the lenient receiver ----------------------------------------


def test_gntp_receiver_accepts_growler_and_ruby_growl(receiver_cli, node_modules, ruby_growl):
    child = receiver_cli("--print", env={"GNTP_PASSWORD": PASSWORD})
    assert growler(node_modules, child.port, encryption="AES", size=48)[-1] == "notify true"
    assert "Grüße — from growler [icon 48 bytes]" in child.wait_for_line("NOTIFY")
    done = ruby_growl(ruby_config(child.port, encrypt="AES"))
    assert done.stdout.splitlines() == ["sent"], done.stderr
    assert "Tïtle — from ruby [icon 77 bytes]" in child.wait_for_line("NOTIFY")
