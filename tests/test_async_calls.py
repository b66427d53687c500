"""When ``AsyncPublisher.publish()`` / ``register()`` run (the rule in async_gntp's doc).

Every form that uses the result runs lazily and concurrently on the loop, without nesting
and without patching asyncio; a call that is a statement of its own delivers before the
next line; a call dropped unawaited warns. Concurrency is shown by the server, not a clock:
a :class:`PairingReceiver` holds each NOTIFY answer until a second NOTIFY arrives, so a
pair of sends overlapped exactly when the second arrived while the first was held.
Forms that could make asyncio re-entrant run in a fresh interpreter (``fresh_python``).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import warnings

import pytest

from gntp_jupyter.gntp import _nesting
from gntp_jupyter.gntp._call_site import discards_result
from gntp_jupyter.gntp.async_gntp import AsyncPublisher
from gntp_jupyter.gntp.receiver import Receiver, ReceiverThread

pytestmark = pytest.mark.timeout(120)

PATIENCE = 3.0  # seconds a held answer waits for its pair before going out alone


class PairingReceiver(Receiver):
    """Holds each NOTIFY answer until a second one is held too (or PATIENCE passes).

    ``held`` records, per NOTIFY in arrival order, how many answers were held once it
    arrived: ``[1, 2]`` for a pair that overlapped, ``[1, 1]`` for one sent after the other.
    """

    def __init__(self) -> None:
        super().__init__()
        self.held: list[int] = []
        self._waiting = 0
        self._pair: asyncio.Event | None = None

    async def _reply(self, conn, reader, ok, callback) -> None:  # type: ignore[no-untyped-def]
        if b"NOTIFY" in ok:
            if self._pair is None or self._pair.is_set():
                self._pair, self._waiting = asyncio.Event(), 0
            pair = self._pair
            self._waiting += 1
            self.held.append(self._waiting)
            if self._waiting == 2:
                pair.set()
            try:
                await asyncio.wait_for(pair.wait(), PATIENCE)
            except asyncio.TimeoutError:
                pair.set()  # alone: answer anyway
        await super()._reply(conn, reader, ok, callback)


def _asyncio_is_patched() -> bool:
    c_task = getattr(asyncio.tasks, "_CTask", asyncio.Task)
    return hasattr(asyncio, "_nest_patched") or asyncio.Task is not c_task


def every_form() -> dict[str, object]:
    """In a fresh interpreter: each form that uses the result, as a pair of sends."""
    from gntp_jupyter.gntp.async_gntp import AsyncPublisher

    server = ReceiverThread(PairingReceiver()).start()
    publisher = AsyncPublisher("Forms", ["e"], host=server.host, port=server.port)

    class Wrapping(AsyncPublisher):
        def publish(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return super().publish(*args, **kwargs)

    wrapping = Wrapping("Forms", ["e"], host=server.host, port=server.port)
    out: dict[str, object] = {}

    async def awaited(title: str) -> None:
        await publisher.publish("e", title)

    async def main() -> None:
        await publisher.register()
        await asyncio.gather(awaited("await 1"), awaited("await 2"))
        await asyncio.gather(asyncio.wait_for(publisher.publish("e", "wait_for 1"), 30),
                             asyncio.wait_for(publisher.publish("e", "wait_for 2"), 30))
        await asyncio.gather(publisher.publish("e", "gather 1"),
                             publisher.publish("e", "gather 2"))
        first = asyncio.create_task(publisher.publish("e", "create_task 1"))
        second = asyncio.create_task(publisher.publish("e", "create_task 2"))
        await first
        await second
        if sys.version_info >= (3, 11):
            async with asyncio.TaskGroup() as group:
                group.create_task(publisher.publish("e", "TaskGroup 1"))
                group.create_task(publisher.publish("e", "TaskGroup 2"))
        before = len(server.notifications)
        x = publisher.publish("e", "kept 1")
        y = publisher.publish("e", "kept 2")
        await asyncio.sleep(0.2)
        out["kept ran before the await"] = [x.done, y.done, len(server.notifications) - before]
        await asyncio.gather(x, y)
        await asyncio.gather(wrapping.publish("e", "super() 1"),
                             wrapping.publish("e", "super() 2"))

    asyncio.run(main())
    out["held"] = server.receiver.held  # type: ignore[attr-defined]
    out["titles"] = [n.title for n in server.notifications]
    out["nested"] = _nesting.is_applied()
    out["asyncio patched"] = _asyncio_is_patched()
    server.stop()
    return out


FORMS = ["await", "wait_for", "gather", "create_task"] + (
    ["TaskGroup"] if sys.version_info >= (3, 11) else []
) + ["kept", "super()"]


def test_every_form_that_uses_the_result_runs_concurrently_without_nesting(
    fresh_python,
) -> None:
    out = fresh_python(every_form).result
    assert out["kept ran before the await"] == [False, False, 0]
    # Each pair's second send arrived while the first one's answer was held.
    assert out["held"] == [1, 2] * len(FORMS)
    assert [t.rsplit(" ", 1)[0] for t in out["titles"][::2]] == FORMS
    assert out["nested"] is False
    assert out["asyncio patched"] is False


def bare_statements() -> dict[str, object]:
    """In a fresh interpreter: the guide's style, a call as a statement of its own."""
    from gntp_jupyter.gntp import GNTPConnectionRefused
    from gntp_jupyter.gntp.async_gntp import AsyncPublisher

    server = ReceiverThread(Receiver()).start()
    publisher = AsyncPublisher("Bare", ["e"], host=server.host, port=server.port)
    dead = AsyncPublisher("Dead", ["e"], host="127.0.0.1", port=_closed_port())
    out: dict[str, object] = {}

    async def main() -> None:
        out["patched before"] = _asyncio_is_patched()
        publisher.register()
        out["registered by the next line"] = list(server.registrations)
        publisher.publish(
            "e",
            "spread over lines",
        )
        out["delivered by the next line"] = [n.title for n in server.notifications]
        try:
            dead.publish("e", "nobody listens")
        except GNTPConnectionRefused as exc:
            out["error"] = type(exc).__name__

    asyncio.run(main())
    out["nested after"] = _nesting.is_applied()
    server.stop()
    return out


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_statement_of_its_own_delivers_before_the_next_line(fresh_python) -> None:
    assert fresh_python(bare_statements).result == {
        "patched before": False,
        "registered by the next line": ["Bare"],
        "delivered by the next line": ["spread over lines"],
        "error": "GNTPConnectionRefused",
        "nested after": True,  # documented: this path makes the loop re-entrant
    }


# --- dropped without being awaited: loud, and nothing sent ------------------------------


@pytest.mark.asyncio
async def test_a_kept_call_dropped_unawaited_warns_and_sends_nothing(receiver) -> None:
    publisher = AsyncPublisher("Dropped", ["e"], host=receiver.host, port=receiver.port)
    never_awaited = r"AsyncPublisher\.publish\(\) was never awaited"
    with pytest.warns(RuntimeWarning, match=never_awaited) as caught:
        line = sys._getframe().f_lineno + 1
        call = publisher.publish("e", "forgotten")
        del call
    (warning,) = [w for w in caught if "never awaited" in str(w.message)]
    assert (warning.filename, warning.lineno) == (__file__, line)
    await asyncio.sleep(0.2)
    assert receiver.requests == []
    assert not _nesting.is_applied()


@pytest.mark.asyncio
async def test_a_call_whose_source_cannot_be_read_is_lazy_and_warns(receiver) -> None:
    publisher = AsyncPublisher("Exec", ["e"], host=receiver.host, port=receiver.port)
    code = compile("publisher.publish('e', 'from exec')", "<no source>", "exec")
    with pytest.warns(RuntimeWarning, match="source cannot be read"):
        exec(code, {"publisher": publisher})
        gc.collect()
    await asyncio.sleep(0.2)
    assert receiver.requests == []  # never a silent block: nothing ran
    assert not _nesting.is_applied()


@pytest.mark.asyncio
async def test_calls_that_ran_warn_about_nothing(receiver) -> None:
    publisher = AsyncPublisher("Quiet", ["e"], host=receiver.host, port=receiver.port)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await publisher.register()
        task = asyncio.create_task(publisher.publish("e", "task"))
        await task
        call = publisher.publish("e", "closed")
        call.close()  # given up on purpose
        del call, task
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
    assert [n.title for n in receiver.notifications] == ["task"]


def test_with_no_loop_the_call_runs_at_once_on_the_private_loop(receiver) -> None:
    publisher = AsyncPublisher("NoLoop", ["e"], host=receiver.host, port=receiver.port)
    kept = publisher.register()
    assert kept.done and kept.result().action == "REGISTER"
    assert list(receiver.registrations) == ["NoLoop"]
    assert not _nesting.is_applied()


def test_a_bad_argument_is_refused_at_the_call_whatever_the_form() -> None:
    publisher = AsyncPublisher("Checked", ["e"])

    async def main() -> None:
        with pytest.raises(ValueError, match="not one of this publisher's events"):
            publisher.publish("typo", "t")  # kept nowhere, sent nowhere

    asyncio.run(main())


# --- the call-site reading itself, on this interpreter ------------------------------------


class Probe:
    def publish(self, *args: object) -> bool | None:
        return discards_result(sys._getframe(1), "publish")


def test_the_call_site_is_read_for_each_form() -> None:
    p = Probe()
    seen: dict[str, bool | None] = {}

    def record(name: str, value: bool | None) -> None:
        seen[name] = value

    # A statement of its own: the probe cannot return its answer, so it stores it.
    class Recording(Probe):
        def publish(self, *args: object) -> None:
            record(str(args[0]), discards_result(sys._getframe(1), "publish"))

    r = Recording()
    r.publish("bare")
    r.publish(
        "bare, spread over lines",
        len("a call in the arguments"),
    )
    r.publish("bare, then another statement"); _ = len("x")  # noqa: E702
    assert seen == {"bare": True, "bare, spread over lines": True,
                    "bare, then another statement": True}

    x = p.publish("kept")
    assert x is False
    assert [p.publish("in a list")] == [False]
    assert (lambda: p.publish("returned"))() is False
    assert str(p.publish("argument")) == "False"


def test_the_call_site_of_exec_code_is_unknown() -> None:
    namespace = {"p": Probe(), "discards_result": discards_result}
    exec(compile("answer = p.publish('exec')", "<no source>", "exec"), namespace)
    assert namespace["answer"] is None
