"""What only the blocking transport does: its socket callbacks, against our receiver.

What both transports do (request types, ciphers, callbacks, retries, timeouts, errors,
IPv6, secrets) is tested once for both in test_transports.py. The blocking client hands
a socket awaiting its callback to one selector thread (``gntp-callback``), unless the
``-CALLBACK`` came in the same read as the ``-OK``: then it runs before the call returns.
"""

from __future__ import annotations

import threading

from test_transports import Recorder

from gntp_jupyter.gntp import Event, GNTPClient, NotifyRequest, Publisher, RegisterRequest


def test_many_pending_callbacks_share_one_thread(receiver_factory):
    """A hundred notifications awaiting callbacks cost one thread, not a hundred."""
    server = receiver_factory(callback="CLICKED", callback_delay=1.0)
    p = Publisher("App", ["done"], host=server.host, port=server.port)
    p.register()
    recorders = [Recorder() for _ in range(100)]
    for i, recorder in enumerate(recorders):
        p.publish("done", f"n{i}", callback=recorder.callback())
    waiters = [t for t in threading.enumerate() if t.name.startswith("gntp-callback")]
    assert len(waiters) == 1
    assert all(r.done.wait(20) for r in recorders)
    assert all(r.calls == [("click", "CLICKED"), ("any", "CLICKED")] for r in recorders)


def test_a_callback_that_came_with_the_ok_runs_before_the_call_returns(receiver_factory):
    server = receiver_factory(callback="TIMEDOUT", callback_same_chunk=True)
    client = GNTPClient(host=server.host, port=server.port)
    client.process_request(RegisterRequest("Cb", (Event("e"),)))
    recorder = Recorder()
    request = NotifyRequest("Cb", "e", "click me", callback_context="ctx-1",
                            callback_context_type="string")
    client.process_request(request, recorder.callback())
    assert recorder.calls == [("timeout", "TIMEDOUT"), ("any", "TIMEDOUT")]
