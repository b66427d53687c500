"""%%notify_when_done in a real ipykernel (started with jupyter_client) against the receiver.

The kernel finds the receiver through GNTP_HOST / GNTP_PORT, as a remote kernel would.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from icon_server import IconServer, png
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager, start_new_kernel

from gntp_jupyter.gntp.receiver import ReceiverThread

pytestmark = pytest.mark.kernel

KERNEL_NAME = "gntp-jupyter-test"
BOUND = 60.0  # generous bound on waits for the kernel (never a timing assertion)


@pytest.fixture(scope="module")
def kernel_name() -> str:
    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        pytest.skip(f"kernelspec {KERNEL_NAME!r} missing: run `make venv`")
    return KERNEL_NAME


def start_kernel(kernel_name: str, **env: str) -> tuple[KernelManager, Any]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GNTP_")}
    km, kc = start_new_kernel(kernel_name=kernel_name, startup_timeout=BOUND,
                              env={**environ, **env})
    return km, kc


@pytest.fixture
def kernel(kernel_name: str, receiver: ReceiverThread) -> Iterator[tuple[KernelManager, Any]]:
    """A fresh kernel pointed at ``receiver`` with the extension loaded."""
    km, kc = start_kernel(kernel_name, GNTP_HOST=receiver.host, GNTP_PORT=str(receiver.port))
    try:
        reply, _ = execute(kc, "%load_ext gntp_jupyter")
        assert reply["content"]["status"] == "ok"
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc: Any, code: str) -> tuple[dict, list[dict]]:
    """Run one cell; return its execute_reply and its iopub messages (up to idle)."""
    msg_id = kc.execute(code)
    reply = wait_reply(kc, msg_id)
    return reply, iopub_until_idle(kc, msg_id)


def wait_reply(kc: Any, msg_id: str) -> dict:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        msg = kc.get_shell_msg(timeout=BOUND)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg
    raise AssertionError(f"no reply to {msg_id}")


def iopub_until_idle(kc: Any, msg_id: str) -> list[dict]:
    out = []
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=BOUND)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
    raise AssertionError(f"{msg_id} never went idle")


def wait_for_stream(kc: Any, msg_id: str, text: str) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=BOUND)
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                and text in msg["content"]["text"]):
            return
    raise AssertionError(f"{text!r} never printed")


def results(messages: list[dict]) -> list[str]:
    return [m["content"]["data"]["text/plain"] for m in messages
            if m["msg_type"] == "execute_result"]


def stderr(messages: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in messages
                   if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")


def test_success(kernel, receiver: ReceiverThread) -> None:
    _, kc = kernel
    reply, messages = execute(kc, "%%notify_when_done\nprint('working')\n6 * 7\n")
    assert reply["content"]["status"] == "ok"
    assert results(messages) == ["42"] and stderr(messages) == ""
    got = receiver.wait_for(1)[0]
    count = reply["content"]["execution_count"]
    assert (got.name, got.title) == ("Cell finished", f"In [{count}] finished")
    assert got.text.endswith("→ 42")


def test_failure_replies_error(kernel, receiver: ReceiverThread) -> None:
    _, kc = kernel
    reply, messages = execute(kc, "%%notify_when_done\nd = {}\nd['k']\n")
    content = reply["content"]
    assert content["status"] == "error"  # Run All and papermill stop here, as without it
    assert (content["ename"], content["evalue"]) == ("KeyError", "'k'")
    assert any(m["msg_type"] == "error" for m in messages)
    got = receiver.wait_for(1)[0]
    assert got.name == "Cell failed"
    assert got.text.splitlines()[:2] == ["KeyError: 'k'", "line 3: d['k']"]


def test_top_level_await(kernel, receiver: ReceiverThread) -> None:
    _, kc = kernel
    reply, messages = execute(
        kc, "%%notify_when_done\nimport asyncio\nawait asyncio.sleep(0.05)\n'awaited'\n"
    )
    assert reply["content"]["status"] == "ok"
    assert results(messages) == ["'awaited'"]
    assert receiver.wait_for(1)[0].text.endswith("→ 'awaited'")


# ipykernel 7.4 delivers SIGINT to an awaiting cell only when its loop next wakes up (the
# sleep's end), with or without this extension: hence a short await. Had the interrupt been
# lost, the awaiting cell would end "ok" and the test would fail.
@pytest.mark.parametrize("wait", ["time.sleep(60)", "await asyncio.sleep(3)"],
                         ids=["sync", "await"])
def test_interrupt(kernel, receiver: ReceiverThread, wait: str) -> None:
    km, kc = kernel
    # stop_on_error=False: under load ipykernel may still be aborting the queue behind the
    # interrupted cell when the next one arrives; that says nothing about this extension.
    msg_id = kc.execute(
        f"%%notify_when_done\nimport asyncio, time\nprint('started', flush=True)\n{wait}\n",
        stop_on_error=False,
    )
    wait_for_stream(kc, msg_id, "started")
    time.sleep(0.2)  # let it reach the sleep
    km.interrupt_kernel()
    reply = wait_reply(kc, msg_id)
    assert reply["content"]["status"] == "error"
    got = receiver.wait_for(1, timeout=BOUND)[0]
    assert got.name == "Cell failed" and got.title.endswith("interrupted")
    assert got.text.startswith("Interrupted after")
    # The kernel carries on.
    after, messages = execute(kc, "'alive'")
    assert after["content"]["status"] == "ok" and results(messages) == ["'alive'"]


def test_run_all_notifies_before_the_next_cell(
    kernel, receiver: ReceiverThread, icon_server: IconServer
) -> None:
    """Cell A notifies; B sleeps 10 s; C follows. Sent at once, as Run All does.

    A's notification (with a URL icon, fetched on the kernel's loop made re-entrant)
    must reach the server before B ends — within 1 s of A's end — and every queued
    cell must still get its reply (nest-asyncio 1.6 dropped them).
    """
    _, kc = kernel
    url = icon_server.url("/kernel/run-all.png")
    ids = [
        kc.execute(f"%%notify_when_done -t A -i {url}\nx = 1\n"),
        kc.execute("import time\ntime.sleep(10)\n'B done'\n"),
        kc.execute("x + 1\n"),
    ]
    replies: dict[str, tuple[dict, float]] = {}
    while ids[0] not in replies:
        msg = kc.get_shell_msg(timeout=BOUND)
        replies[msg["parent_header"]["msg_id"]] = (msg, time.time())
    a_reply, a_received = replies[ids[0]]
    # A's notification is already there, while B is still sleeping.
    assert len(receiver.notifications) == 1
    assert ids[1] not in replies
    got = receiver.notifications[0]
    assert (got.title, got.icon) == ("A", png("/kernel/run-all.png"))
    a_end = a_reply["header"]["date"].timestamp()
    print(f"A's notification arrived {got.received_at - a_end:+.3f} s after A's reply was "
          f"sent ({got.received_at - a_received:+.3f} s vs. the client receiving it)")
    assert got.received_at <= a_end + 1.0
    while len(replies) < 3:
        try:
            msg = kc.get_shell_msg(timeout=BOUND)
        except queue.Empty:
            break
        replies[msg["parent_header"]["msg_id"]] = (msg, time.time())
    assert [replies[i][0]["content"]["status"] for i in ids if i in replies] == ["ok"] * 3
    assert len(receiver.notifications) == 1


def test_url_icon_is_fetched_on_the_kernel_loop(
    kernel, receiver: ReceiverThread, icon_server: IconServer
) -> None:
    """While the icon downloads, the kernel's loop keeps running its other tasks."""
    _, kc = kernel
    reply, _ = execute(kc, (
        "import asyncio\n"
        "ticks = 0\n"
        "async def _tick():\n"
        "    global ticks\n"
        "    while True:\n"
        "        ticks += 1\n"
        "        await asyncio.sleep(0.01)\n"
        "_ticker = asyncio.get_running_loop().create_task(_tick())\n"
    ))
    assert reply["content"]["status"] == "ok"
    url = icon_server.url("/slow/0.5/kernel.png")
    reply, messages = execute(kc, (
        f"before = ticks\n%notify -i {url} icon from a slow host\nduring = ticks - before\n"
        "during\n"
    ))
    assert reply["content"]["status"] == "ok", reply["content"]
    assert stderr(messages) == ""
    # A sync cell holds the loop: only a fetch run on that loop lets the ticker advance.
    assert int(results(messages)[0]) > 0
    assert receiver.wait_for(1)[0].icon == png("/slow/0.5/kernel.png")


def test_black_holed_host_in_a_kernel(kernel_name: str,
                                      receiver_factory) -> None:
    hole = receiver_factory(mode="silent")
    km, kc = start_kernel(kernel_name, GNTP_HOST=hole.host, GNTP_PORT=str(hole.port),
                          GNTP_TIMEOUT="0.5")
    try:
        execute(kc, "%load_ext gntp_jupyter")
        reply, messages = execute(kc, "%%notify_when_done\nprint('kept')\n'value'\n")
        assert reply["content"]["status"] == "ok"
        assert results(messages) == ["'value'"]
        streams = [m["content"]["text"] for m in messages if m["msg_type"] == "stream"]
        assert streams[0] == "kept\n"
        warning = stderr(messages).splitlines()
        assert len(warning) == 1 and "no answer" in warning[0]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.gol
def test_growl_for_linux_from_a_kernel(kernel_name: str, gol, gol_app_name: str) -> None:
    km, kc = start_kernel(kernel_name, GNTP_HOST="127.0.0.1", GNTP_PORT="23053",
                          GNTP_TIMEOUT="8", GNTP_APP_NAME=gol_app_name)
    try:
        execute(kc, "%load_ext gntp_jupyter")
        ok, ok_msgs = execute(kc, "%%notify_when_done -t 'kernel gol {status}'\n'fine'\n")
        bad, _ = execute(kc, "%%notify_when_done -t 'kernel gol {status}'\n1 / 0\n")
        assert ok["content"]["status"] == "ok" and bad["content"]["status"] == "error"
        assert stderr(ok_msgs) == ""
        rows = {r["title"]: r["text"] for r in gol.notifications()}
        assert rows["kernel gol finished"].endswith("→ 'fine'")
        assert rows["kernel gol failed"].startswith("ZeroDivisionError: division by zero")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_typing_a_cell_magic_header_is_incomplete_like_timeit(kernel) -> None:
    _, kc = kernel
    answers = {}
    for code in ("%%notify_when_done\n", "%%timeit\n", "%%notify_when_done\nx = 1\n\n"):
        msg_id = kc.is_complete(code)
        answers[code] = wait_reply(kc, msg_id)["content"]["status"]
    assert answers == {"%%notify_when_done\n": "incomplete", "%%timeit\n": "incomplete",
                       "%%notify_when_done\nx = 1\n\n": "complete"}


def test_the_password_prompt_keeps_it_out_of_history_and_outputs(
    kernel, receiver_factory: Callable[..., ReceiverThread],
) -> None:
    _, kc = kernel
    guarded = receiver_factory(password="typed-" + "secret")
    msg_id = kc.execute("%notify --password-prompt", allow_stdin=True)
    request = kc.get_stdin_msg(timeout=BOUND)
    assert request["msg_type"] == "input_request" and request["content"]["password"]
    kc.input("typed-" + "secret")
    reply = wait_reply(kc, msg_id)
    messages = iopub_until_idle(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    shown = "".join(m["content"].get("text", "") for m in messages)
    assert "password set for this session" in shown and "typed-secret" not in shown
    reply, _ = execute(kc, f"%notify --host {guarded.host} --port {guarded.port} guarded")
    assert guarded.wait_for(1)[0].text == "guarded"
    reply, messages = execute(kc, "print(list(get_ipython().history_manager"
                                  ".get_range(output=False)))")
    assert "typed-secret" not in "".join(m["content"].get("text", "") for m in messages)


def test_the_kernels_own_loop_runner_is_left_alone(kernel) -> None:
    _, kc = kernel
    _, messages = execute(kc, "from IPython.core.interactiveshell import _asyncio_runner\n"
                              "get_ipython().loop_runner is _asyncio_runner")
    assert results(messages) == ["True"]
