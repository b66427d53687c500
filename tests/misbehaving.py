"""Receivers that misbehave on purpose, and a display that always answers the same way.

Test-only: the real receiver never does any of this. They exist so the clients can be
tested against a server that never answers, breaks off, dribbles, or answers a socket
callback in the same write as its ``-OK`` (which some real servers do).
"""

from __future__ import annotations

import asyncio

from gntp_jupyter.gntp.receiver import CALLBACK_RESULTS, Delivery, Receiver

#: "silent" reads and never answers; "close-mid-response" writes half a reply and closes;
#: "trickle" sends its reply one byte every TRICKLE_INTERVAL (a stalled or slow link).
MODES = ("normal", "silent", "close-mid-response", "trickle")
TRICKLE_INTERVAL = 0.1


class ScriptedDisplay:
    """Shows nothing; settles every notification with ``result`` after ``delay`` seconds."""

    def __init__(self, result: str, delay: float = 0.0) -> None:
        if result not in CALLBACK_RESULTS:
            raise ValueError(f"result must be one of {', '.join(CALLBACK_RESULTS)}")
        if delay < 0:
            raise ValueError("delay must be >= 0")
        self.result = result
        self.delay = delay
        self.shown: list[Delivery] = []

    async def show(self, delivery: Delivery) -> None:
        self.shown.append(delivery)
        asyncio.get_running_loop().call_later(self.delay, delivery.settle, self.result)

    async def close(self) -> None:
        pass


class MisbehavingReceiver(Receiver):
    """A :class:`Receiver` whose answers go wrong the way ``mode`` says.

    ``callback_same_chunk`` holds the ``-OK`` until the callback is due and writes both
    in one write, as Growl on macOS may.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, mode: str = "normal",
        callback_same_chunk: bool = False, **receiver_options,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        super().__init__(host, port, **receiver_options)
        self.mode = mode
        self.callback_same_chunk = callback_same_chunk

    async def _misbehave(self, conn, reader, data: bytes) -> bool:
        """Send ``data`` the broken way; False in normal mode (nothing sent)."""
        if self.mode == "silent":
            await self._drain_input(reader)  # hold the socket until the client or stop()
        elif self.mode == "close-mid-response":
            await self._write(conn.writer, data[: len(data) // 2])
        elif self.mode == "trickle":
            for i in range(len(data)):
                await self._write(conn.writer, data[i : i + 1])
                await asyncio.sleep(TRICKLE_INTERVAL)
        return self.mode != "normal"

    async def _reply(self, conn, reader, ok, callback) -> None:
        if await self._misbehave(conn, reader, ok):
            return
        if callback is not None and self.callback_same_chunk:
            await self._write(conn.writer, ok + await callback())
            return
        await super()._reply(conn, reader, ok, callback)

    async def _refuse(self, conn, reader, exc, message_type) -> None:
        if self.mode == "normal":
            await super()._refuse(conn, reader, exc, message_type)
            return
        await self._record_rejection(conn, exc, message_type)
        error = self._answers(conn).error(exc.code, exc.description, message_type)
        await self._misbehave(conn, reader, error)
