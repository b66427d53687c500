"""What the extension costs: per cell, and at load.

1. ``%%notify_when_done`` on a trivial cell (``x = 1``) with a reachable receiver, against
   the same cell without it; the difference minus one raw GNTP round trip (a registered
   ``Publisher.publish`` to the same receiver) is the extension's own overhead. Target:
   under 1 ms.
2. ``%load_ext gntp_jupyter`` in a fresh interpreter, against ``import IPython`` in a
   fresh interpreter (the baseline every IPython user already pays); several repeats,
   medians. Also the first send after loading, which imports the protocol stack.

3. In a real kernel (ipykernel, where the display hooks exist): a cell without images
   (``x = 1``, and one that displays text) and one that displays a PNG, with the extension
   loaded (display-publisher and displayhook hooks, run-batching handlers; autonotify off)
   against the same cells without it. Target: no measurable difference on the cells
   without images.

Every figure is a ratio to a baseline measured in the same run.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

N_CELLS = 400
WARMUP = 20
REPEATS = 7


def _median_ms(func: Callable[[], object], n: int = N_CELLS) -> float:
    for _ in range(WARMUP):
        func()
    samples = []
    gc.disable()
    try:
        for _ in range(n):
            start = time.perf_counter()
            func()
            samples.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return statistics.median(samples) * 1000


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    c = Config()
    c.HistoryAccessor.enabled = False
    return InteractiveShell(config=c)


def per_cell() -> dict[str, float]:
    import contextlib
    import io

    from gntp_jupyter.gntp import Publisher
    from gntp_jupyter.gntp.receiver import ReceiverThread

    with ReceiverThread() as server:
        plain_shell = _shell()
        shell = _shell()
        shell.run_line_magic("load_ext", "gntp_jupyter")
        shell.run_line_magic("config", f"GNTPNotifier.host = {server.host!r}")
        shell.run_line_magic("config", f"GNTPNotifier.port = {server.port}")
        publisher = Publisher("bench raw", ["done"], host=server.host, port=server.port,
                              timeout=5)
        publisher.register()

        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            figures = {
                "plain cell, no extension": _median_ms(
                    lambda: plain_shell.run_cell("x = 1", store_history=True)),
                "plain cell, extension loaded": _median_ms(
                    lambda: shell.run_cell("x = 1", store_history=True)),
                "%%notify_when_done cell": _median_ms(
                    lambda: shell.run_cell("%%notify_when_done\nx = 1", store_history=True)),
                "raw send (Publisher.publish)": _median_ms(
                    lambda: publisher.publish("done", "raw", "round trip")),
            }
        sent = sum(1 for n in server.notifications if n.application == "Jupyter")
        assert sent == N_CELLS + WARMUP, f"receiver got {sent} cell notifications"
        failures = [e for e in shell_history(shell) if not e.ok]
        assert not failures, failures[:1]
    return figures


def shell_history(shell) -> list:
    import gntp_jupyter

    return gntp_jupyter.get_notifier(shell).history.entries()


_IMPORT_IPYTHON = """
import time
t = time.perf_counter()
import IPython
print(time.perf_counter() - t)
"""

_LOAD_EXT = """
import json, time
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
c = Config(); c.HistoryAccessor.enabled = False
shell = InteractiveShell(config=c)
t = time.perf_counter()
import gntp_jupyter
t_import = time.perf_counter() - t
t = time.perf_counter()
shell.run_line_magic("load_ext", "gntp_jupyter")
t_load = time.perf_counter() - t
shell.run_line_magic("config", "GNTPNotifier.port = PORT")
shell.run_line_magic("config", "GNTPNotifier.host = '127.0.0.1'")
t = time.perf_counter()
shell.run_line_magic("notify", "first")
t_first = time.perf_counter() - t
t = time.perf_counter()
shell.run_line_magic("notify", "second")
t_second = time.perf_counter() - t
print(json.dumps([t_import, t_load, t_first, t_second]))
"""


def _fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return proc.stdout.strip().splitlines()[-1]


def at_load() -> dict[str, float]:
    from gntp_jupyter.gntp.receiver import ReceiverThread

    with ReceiverThread() as server:
        ipython, package, load, first, second = [], [], [], [], []
        for _ in range(REPEATS):
            ipython.append(float(_fresh(_IMPORT_IPYTHON)))
            a, b, c, d = json.loads(_fresh(_LOAD_EXT.replace("PORT", str(server.port))))
            package.append(a)
            load.append(b)
            first.append(c)
            second.append(d)
    med = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    return {
        "import IPython (fresh interpreter)": med(ipython),
        "import gntp_jupyter": med(package),
        "%load_ext gntp_jupyter": med(load),
        "first %notify after loading": med(first),
        "second %notify": med(second),
    }


# Runs inside the kernel: each figure is the median of nested run_cell calls, which fire
# the same pre/post_run_cell events and go through the same display hooks as real cells.
_IN_KERNEL = r"""
import base64, gc, json, statistics, time
from IPython.display import Image, display
ip = get_ipython()
PNG = base64.b64decode(PNG_B64)
ip.user_ns.update(display=display, Image=Image, PNG=PNG)
CELLS = {"x = 1": "x = 1", "display text": "display('x')",
         "display a PNG": "display(Image(PNG))"}
def median_us(code):
    for _ in range(WARMUP):
        ip.run_cell(code)
    samples = []
    gc.disable()
    for _ in range(N):
        t = time.perf_counter()
        ip.run_cell(code)
        samples.append(time.perf_counter() - t)
    gc.enable()
    return statistics.median(samples) * 1e6
out = {}
for phase in ("without", "with", "without again"):
    if phase == "with":
        ip.run_line_magic("load_ext", "gntp_jupyter")
    elif phase == "without again":
        ip.run_line_magic("unload_ext", "gntp_jupyter")
    out[phase] = {name: median_us(code) for name, code in CELLS.items()}
print("@@" + json.dumps(out))
"""


def in_kernel() -> dict[str, dict[str, float]]:
    """Median microseconds per cell kind, without / with / without again the extension."""
    import base64

    from jupyter_client.manager import start_new_kernel

    from gntp_jupyter.demo import kernel_name
    from gntp_jupyter.plot_icon import thumbnail

    # A real figure-sized PNG (the thumbnail is made only when a notification goes out).
    png = _figure_png()
    assert thumbnail(png) is not None
    code = (_IN_KERNEL.replace("PNG_B64", repr(base64.b64encode(png).decode()))
            .replace("WARMUP", str(WARMUP)).replace("N)", f"{N_CELLS})"))
    km, kc = start_new_kernel(kernel_name=kernel_name(), startup_timeout=60)
    try:
        msg_id = kc.execute(code)
        while True:
            msg = kc.get_iopub_msg(timeout=300)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                    and msg["content"]["text"].startswith("@@")):
                return json.loads(msg["content"]["text"][2:])
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _figure_png() -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(6, 4))
    plt.plot([1, 3, 2, 4])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def main() -> None:
    kernel = in_kernel()
    print(f"in a kernel (median of {N_CELLS} cells each, microseconds):")
    for name in kernel["without"]:
        base = (kernel["without"][name] + kernel["without again"][name]) / 2
        with_ext = kernel["with"][name]
        print(f"  {name:<16} without {base:8.1f}   with the extension {with_ext:8.1f}   "
              f"{with_ext / base:.2f}x")
    cell = per_cell()
    width = max(len(k) for k in cell) + 2
    print(f"per cell (median of {N_CELLS}, receiver on loopback):")
    for name, ms in cell.items():
        print(f"  {name:<{width}} {ms:8.3f} ms")
    plain = cell["plain cell, no extension"]
    magic = cell["%%notify_when_done cell"]
    raw = cell["raw send (Publisher.publish)"]
    added = magic - plain - raw
    print(f"  %%notify_when_done adds {magic - plain:.3f} ms to the plain cell "
          f"({magic / plain:.2f}x); minus one raw round trip: {added:.3f} ms "
          f"(target < 1 ms: {'met' if added < 1 else 'MISSED'})")
    print(f"  a loaded extension adds {cell['plain cell, extension loaded'] - plain:.3f} ms "
          "to cells that do not notify")

    load = at_load()
    base = load["import IPython (fresh interpreter)"]
    print(f"load time (median of {REPEATS} fresh interpreters):")
    width = max(len(k) for k in load) + 2
    for name, ms in load.items():
        ratio = "" if ms == base else f"   {ms / base:.2f}x import IPython"
        print(f"  {name:<{width}} {ms:8.2f} ms{ratio}")


if __name__ == "__main__":
    main()
