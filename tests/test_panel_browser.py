"""The panel end to end: JupyterLab 4 and Notebook 7 on loopback, Debian's chromium.

For each front end, runs ``notebooks/panel.ipynb`` in the ``gntp-jupyter-test`` kernel
(``make venv`` registers it), fills the form, clicks Send, and checks that our receiver
got the notification and that the panel's history says OK. Both front ends are built
from the same JupyterLab components, so one scenario drives both through the app object
(``window.jupyterapp``); only the server, the notebook's URL and the screenshot names
differ. Screenshots of the panel in the light and dark themes go to ``artifacts/``
(gitignored) for people to look at.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import free_port

from gntp_jupyter.config import DEFAULT_ICON

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "panel.ipynb"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
KERNEL = "gntp-jupyter-test"
# Bounds on waits, not expectations: a cold Jupyter server start takes a few seconds.
START_TIMEOUT = 90.0
UI_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class FrontEnd:
    """A Jupyter front end: how to start its server and where it opens a notebook."""

    id: str
    module: str  # ``python -m <module>`` starts its server; also the package to install
    app_name: str  # window.jupyterapp.name: the page really is this front end
    notebook_path: str  # URL path of a notebook, ``{name}`` its file name
    shot_prefix: str  # screenshots are artifacts/<prefix>[-invalid][-dark].png


FRONT_ENDS = [
    FrontEnd("jupyterlab4", "jupyterlab", "JupyterLab", "lab/tree/{name}", "panel"),
    FrontEnd("notebook7", "notebook", "Jupyter Notebook", "notebooks/{name}", "panel-notebook7"),
]


def _missing(front: FrontEnd) -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (apt-get install chromium; .ci/run does)"
    for module in ("playwright.sync_api", front.module):
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test,browser]')"
    return None


@dataclass
class Server:
    front: FrontEnd
    url: str
    token: str
    root: Path
    log: Path

    def page_url(self, path: str) -> str:
        return f"{self.url}/{path}?token={self.token}"

    def notebook_url(self, name: str) -> str:
        return self.page_url(self.front.notebook_path.format(name=name))


def _wait_until_up(server: Server, process: subprocess.Popen) -> None:
    name = server.front.module
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{server.log.read_text()}")
        status = f"{server.url}/api/status?token={server.token}"
        with contextlib.suppress(OSError), urllib.request.urlopen(status, timeout=2):
            return
        time.sleep(0.2)
    pytest.fail(f"{name} did not answer within {START_TIMEOUT}s:\n{server.log.read_text()}")


@pytest.fixture(params=FRONT_ENDS, ids=lambda front: front.id)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A front end's server on 127.0.0.1 serving a temp dir holding a copy of the notebook."""
    front: FrontEnd = request.param
    reason = _missing(front)
    if reason:
        pytest.skip(reason)
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings = tmp_path / "settings"
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    # No "receive Jupyter news?" toast over the panel, and no network look-up for it.
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = free_port()
    server = Server(front, f"http://127.0.0.1:{port}", secrets.token_hex(16), root,
                    tmp_path / "server.log")
    config = tmp_path / "config"
    config.mkdir()
    # Nothing from the user's own Jupyter set-up, and nothing fetched from the internet.
    # Notebook 7's server loads JupyterLab's extension too: both sections apply there.
    shared = {
        "user_settings_dir": str(settings),
        "workspaces_dir": str(tmp_path / "workspaces"),
        "expose_app_in_browser": True,  # window.jupyterapp: the run and theme commands
    }
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "LabApp": {
            **shared,
            "news_url": None,
            "extension_manager": "readonly",
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        },
        "JupyterNotebookApp": shared,
    }))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GNTP_")}
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    command = [
        sys.executable, "-m", front.module,
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={server.token}", "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    with server.log.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until_up(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


@pytest.fixture
def browser_page():
    """A chromium page (Debian's chromium, never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def run_notebook(page, server: Server, name: str):
    """Open ``name``, run all cells once its kernel is ready; return the panel's locator.

    JupyterLab and Notebook 7 share the notebook widget, its commands and the app object,
    so this waits on the widget rather than on either front end's page layout.
    """
    page.goto(server.notebook_url(name))
    page.wait_for_function(
        """(name) => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            return w && w.context && w.context.path === name && w.sessionContext;
        }""",
        arg=name,
    )
    # Not, say, a redirect to the other front end: both would pass the rest unnoticed.
    assert page.evaluate("window.jupyterapp.name") == server.front.app_name, page.url
    # Resolves once the notebook is loaded and its kernel answers: run-all then cannot
    # race the kernel's start-up.
    page.evaluate(
        """async () => {
            const w = window.jupyterapp.shell.currentWidget;
            await w.context.ready;
            await w.sessionContext.ready;
            await w.sessionContext.session.kernel.info;
            await window.jupyterapp.commands.execute('notebook:run-all-cells');
        }"""
    )
    panel = page.locator(".gntp-panel")
    try:
        panel.wait_for()
    except Exception:
        outputs = page.locator(".jp-OutputArea").all_inner_texts()
        pytest.fail(
            f"the panel did not appear; cell outputs: {outputs}\n{server.log.read_text()}"
        )
    return panel


def set_theme(page, theme: str, light: bool) -> None:
    page.evaluate(
        "(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme
    )
    page.wait_for_selector(f"body[data-jp-theme-light='{str(light).lower()}']", state="attached")
    page.wait_for_timeout(500)  # let the theme's stylesheet apply before the screenshot


def shoot(page, panel, name: str) -> Path:
    """Screenshot the cell output holding the panel into artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    output = page.locator(".jp-OutputArea-output", has=panel)
    output.scroll_into_view_if_needed()
    output.screenshot(path=str(path))
    return path


@pytest.mark.timeout(300)  # a cold first start of chromium and a Jupyter server can be slow
def test_panel_sends_from_a_real_browser(server, browser_page, receiver):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # a bound for each wait below, not an expectation
    page = browser_page
    panel = run_notebook(page, server, NOTEBOOK.name)
    prefix = server.front.shot_prefix
    send = panel.locator("button.gntp-send")
    reason = panel.locator(".gntp-reason")

    # A fresh form cannot be sent, and says why.
    expect(send).to_be_disabled()
    expect(reason).to_contain_text("title")

    panel.locator(".gntp-host input").fill(receiver.host)
    port = panel.locator(".gntp-port input")
    port.fill(str(receiver.port))
    port.press("Tab")
    panel.locator(".gntp-title input").fill("Hello from the browser")
    panel.locator(".gntp-message textarea").fill("sent by tests/test_panel_browser.py")
    # An icon uploaded from the browser travels to the kernel and on as binary data.
    with page.expect_file_chooser() as chooser:
        panel.locator("button.gntp-upload").click()
    chooser.value.set_files(DEFAULT_ICON)
    expect(panel.locator(".gntp-note", has_text=Path(DEFAULT_ICON).name)).to_be_visible()
    expect(send).to_be_enabled()
    send.click()

    [note] = receiver.wait_for(1, timeout=30)
    assert note.title == "Hello from the browser"
    assert note.text == "sent by tests/test_panel_browser.py"
    assert note.icon == Path(DEFAULT_ICON).read_bytes()

    row = panel.locator(".gntp-history tr.gntp-row").first
    expect(row.locator(".gntp-cell-outcome .gntp-outcome")).to_have_text("OK")
    expect(row.locator(".gntp-cell-target")).to_have_text(receiver.address)
    expect(row.locator(".gntp-cell-title")).to_have_text(note.title)
    expect(panel.locator(".gntp-status")).to_contain_text("Sent")
    expect(send).to_have_text("Send")

    set_theme(page, "JupyterLab Light", light=True)
    light = shoot(page, panel, f"{prefix}.png")
    set_theme(page, "JupyterLab Dark", light=False)
    dark = shoot(page, panel, f"{prefix}-dark.png")

    # Inline validation in the page: a bad port and an empty title are explained, and
    # Send says why it is disabled.
    port.fill("0")
    port.press("Tab")
    panel.locator(".gntp-title input").fill("")
    expect(panel.locator(".gntp-note", has_text="port")).to_be_visible()
    expect(panel.locator(".gntp-note", has_text="title")).to_be_visible()
    expect(send).to_be_disabled()
    expect(send).to_have_attribute("title", re.compile("port"))
    expect(reason).to_contain_text("title")
    invalid_dark = shoot(page, panel, f"{prefix}-invalid-dark.png")
    set_theme(page, "JupyterLab Light", light=True)
    invalid = shoot(page, panel, f"{prefix}-invalid.png")
    for shot in (light, dark, invalid, invalid_dark):
        assert shot.stat().st_size > 0

    port.fill(str(receiver.port))
    port.press("Tab")
    panel.locator(".gntp-title input").fill("again")
    expect(send).to_be_enabled()
