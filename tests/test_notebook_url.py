"""The notebook's URL as the callback target (gntp_jupyter.notebook_url).

The last test starts a real jupyter_server on 127.0.0.1 with a token, opens a notebook
session through its REST API and checks what the kernel's notifications carry.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from jupyter_client.blocking import BlockingKernelClient
from test_batch import installed_kernel
from test_kernel import BOUND, execute

from gntp_jupyter.config import GNTPNotifier
from gntp_jupyter.gntp.receiver import ReceiverThread
from gntp_jupyter.notebook_url import (
    callback_target,
    notebook_url,
    running_servers,
    server_for,
)

SERVER = {"url": "http://127.0.0.1:8888/", "root_dir": "/home/me/work", "pid": 4242}


@pytest.mark.parametrize(("session", "expected"), [
    ("/home/me/work/nb/My Notebook.ipynb", "http://127.0.0.1:8888/lab/tree/nb/My%20Notebook.ipynb"),
    ("analysis.ipynb", "http://127.0.0.1:8888/lab/tree/analysis.ipynb"),
    ("/home/me/elsewhere/x.ipynb", None),  # outside the server's root: not reachable
    ("/home/me/work/../x.ipynb", None),
    ("", None),  # not a notebook's kernel
])
def test_notebook_url(session: str, expected: str | None) -> None:
    assert notebook_url({"JPY_SESSION_NAME": session}, SERVER) == expected


def test_no_token_or_credentials_in_the_url() -> None:
    server = {**SERVER, "url": "http://user:pw@127.0.0.1:8888/base?token=secret#x"}
    url = notebook_url({"JPY_SESSION_NAME": "a.ipynb"}, server)
    assert url == "http://127.0.0.1:8888/base/lab/tree/a.ipynb"


def test_server_url_for_a_tunnel() -> None:
    env = {"JPY_SESSION_NAME": "/home/me/work/a b.ipynb"}
    url = notebook_url(env, SERVER, server_url="http://localhost:9999/jupyter")
    assert url == "http://localhost:9999/jupyter/lab/tree/a%20b.ipynb"
    # Without server info, a relative path and server_url are enough.
    assert notebook_url({"JPY_SESSION_NAME": "a.ipynb"}, None,
                        server_url="https://hub.example/user/me/") == (
        "https://hub.example/user/me/lab/tree/a.ipynb")
    assert notebook_url(env, None, server_url="https://hub.example/") is None


def test_server_for_picks_the_parent() -> None:
    other = {**SERVER, "pid": 1}
    assert server_for([other, SERVER], {"JPY_PARENT_PID": "4242"}) is SERVER
    assert server_for([other, SERVER], {}, parent_pid=4242) is SERVER
    assert server_for([SERVER], {}) is SERVER  # the only one
    assert server_for([other, SERVER], {}) is None  # cannot tell


def test_running_servers_reads_the_runtime_dir(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (tmp_path / "jpserver-1.json").write_text(json.dumps({**SERVER, "pid": os.getpid()}))
    (tmp_path / "jpserver-2.json").write_text(json.dumps({**SERVER, "pid": int(dead.stdout)}))
    (tmp_path / "jpserver-3.json").write_text("{half a fi")
    (tmp_path / "kernel-1.json").write_text("{}")
    assert [s["pid"] for s in running_servers(str(tmp_path))] == [os.getpid()]


def test_callback_url_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    config = GNTPNotifier()
    assert config.callback_url is None and callback_target(config) is None
    config.callback_url = "http://example.org/x"
    assert callback_target(config) == "http://example.org/x"
    config.callback_url = ""
    monkeypatch.setenv("JPY_SESSION_NAME", "a.ipynb")
    assert callback_target(config) is None  # "" turns it off, even under a server


# -- a real Jupyter server ------------------------------------------------------------

TOKEN = "s3cret-token-do-not-leak"


def api(base: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Authorization": f"token {TOKEN}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=BOUND) as response:
        raw = response.read()
        return response.status, (json.loads(raw) if raw.startswith(b"{") else raw)


def wait_for_kernel_info(kc: BlockingKernelClient) -> None:
    """Until the kernel answers kernel_info on shell and its status reaches us on iopub.

    Not wait_for_ready: on a loaded machine its heartbeat check can call a slow-starting
    kernel dead. The iopub half matters: a subscription takes effect a moment after it is
    made, and what the kernel publishes before then (a cell's idle) is lost.
    """
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        kc.kernel_info()
        with contextlib.suppress(queue.Empty):
            while kc.get_shell_msg(timeout=2)["msg_type"] != "kernel_info_reply":
                pass
            kc.get_iopub_msg(timeout=1)
            with contextlib.suppress(queue.Empty):  # the rest of this request's status
                while True:
                    kc.get_iopub_msg(timeout=0.2)
            return
    raise AssertionError(f"the kernel did not answer kernel_info within {BOUND}s")


@pytest.fixture
def jupyter_server(tmp_path: Path, receiver: ReceiverThread) -> Iterator[dict]:
    """A jupyter_server on 127.0.0.1 (token auth) whose kernels reach ``receiver``."""
    installed_kernel()
    root, runtime = tmp_path / "root", tmp_path / "runtime"
    (root / "work").mkdir(parents=True)
    runtime.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GNTP_", "JPY_"))}
    env.update(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               GNTP_HOST=receiver.host, GNTP_PORT=str(receiver.port))
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + BOUND
        while not list(runtime.glob("jpserver-*.json")):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("jupyter_server did not start:\n"
                            + (tmp_path / "server.log").read_text())
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}/"
        while True:  # the info file can appear before the port accepts connections
            try:
                api(base, "GET", "api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyter_server does not answer:\n"
                                + (tmp_path / "server.log").read_text())
                time.sleep(0.1)
        yield {"base": base, "root": root, "runtime": runtime}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_under_a_jupyter_server_the_callback_is_the_notebook(
        jupyter_server: dict, receiver: ReceiverThread) -> None:
    base = jupyter_server["base"]
    (jupyter_server["root"] / "work" / "My Notebook.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    status, session = api(base, "POST", "api/sessions", {
        "path": "work/My Notebook.ipynb", "name": "My Notebook.ipynb", "type": "notebook",
        "kernel": {"name": installed_kernel()}})
    assert status == 201
    kernel_id = session["kernel"]["id"]
    kc = BlockingKernelClient(
        connection_file=str(jupyter_server["runtime"] / f"kernel-{kernel_id}.json"))
    kc.load_connection_file()
    kc.start_channels()
    try:
        wait_for_kernel_info(kc)
        reply, _ = execute(kc, "%load_ext gntp_jupyter\n%notify clicked brings you back")
        assert reply["content"]["status"] == "ok"
        execute(kc, '%config GNTPNotifier.server_url = "http://localhost:9999/"\n'
                    "%notify through a tunnel")
        execute(kc, '%config GNTPNotifier.callback_url = ""\n%notify no callback')
        got = receiver.wait_for(3, timeout=BOUND)
    finally:
        kc.stop_channels()
        api(base, "DELETE", f"api/sessions/{session['id']}")
    expected = f"{base}lab/tree/work/My%20Notebook.ipynb"
    assert [n.callback_target for n in got] == [
        expected, "http://localhost:9999/lab/tree/work/My%20Notebook.ipynb", None]
    assert all(TOKEN not in (n.callback_target or "") for n in got)
    # ... and that URL is the notebook, opened by the server's JupyterLab.
    status, page = api(base, "GET", expected[len(base):])
    assert status == 200 and b"JupyterLab" in page
