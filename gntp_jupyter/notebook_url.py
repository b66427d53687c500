"""The notebook's own URL: where a click on a notification brings the user back.

A kernel that a Jupyter server started for a notebook knows two things: the notebook's
path, which the server puts in the kernel's environment as ``JPY_SESSION_NAME`` (an
absolute path, or a path relative to the server's root), and the server's process id
(``JPY_PARENT_PID``, or simply the parent process). Every running Jupyter server writes
``jpserver-<pid>.json`` into the Jupyter runtime directory with its URL and root
directory — what ``jupyter_server.serverapp.list_running_servers()`` reads. Together
they give ``<server url>lab/tree/<path>``: JupyterLab's URL for the notebook, also
served by Notebook 7 (which runs on JupyterLab's server extension).

``GNTPNotifier.callback_url`` overrides the result (an empty string: no callback), and
``GNTPNotifier.server_url`` replaces the server's own base URL with the one the user's
browser reaches, e.g. ``http://localhost:9999/`` through an SSH tunnel. The server's
token is never put in the URL: the browser has its own login.
"""

from __future__ import annotations

import functools
import glob
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["callback_target", "notebook_url", "running_servers", "server_for"]


def running_servers(runtime_dir: str | None = None) -> list[dict[str, Any]]:
    """The info of every running Jupyter server (``jpserver-*.json``; dead ones skipped)."""
    if runtime_dir is None:
        try:
            from jupyter_core.paths import jupyter_runtime_dir
        except ImportError:
            return []
        runtime_dir = jupyter_runtime_dir()
    servers = []
    for path in sorted(glob.glob(os.path.join(runtime_dir, "jpserver-*.json"))):
        try:
            with open(path, encoding="utf-8") as fh:
                info = json.load(fh)
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and _alive(info.get("pid")):
            servers.append(info)
    return servers


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    except OSError:
        return False
    return True


def server_for(servers: Iterable[Mapping[str, Any]], environ: Mapping[str, str],
               parent_pid: int | None = None) -> Mapping[str, Any] | None:
    """The server that started this kernel: by process id, else the only one running."""
    servers = list(servers)
    pids = set()
    if environ.get("JPY_PARENT_PID", "").isdigit():
        pids.add(int(environ["JPY_PARENT_PID"]))
    if parent_pid is not None:
        pids.add(parent_pid)
    for info in servers:
        if info.get("pid") in pids:
            return info
    return servers[0] if len(servers) == 1 else None


def _strip_secrets(url: str) -> str:
    """The URL without user info, query or fragment (where a token could hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def notebook_url(environ: Mapping[str, str], server: Mapping[str, Any] | None, *,
                 server_url: str = "") -> str | None:
    """``<base>lab/tree/<notebook path>``, or None when the kernel is not a notebook's."""
    session = environ.get("JPY_SESSION_NAME", "")
    if not session:
        return None
    base = server_url or (server.get("url", "") if server else "")
    if not base or not base.startswith(("http://", "https://")):
        return None
    path = session
    if os.path.isabs(path):
        root = server.get("root_dir") if server else None
        if not root:
            return None
        path = os.path.relpath(os.path.normpath(path), os.path.normpath(root))
        if path == os.curdir or path.startswith(os.pardir):
            return None  # outside the server's root: the browser cannot open it
    path = path.replace(os.sep, "/").lstrip("/")
    return _strip_secrets(base) + "lab/tree/" + quote(path)


@functools.lru_cache(maxsize=8)
def _discovered(session: str, server_url: str) -> str | None:
    # Per process: the server and the notebook path do not change under a kernel.
    server = server_for(running_servers(), os.environ, os.getppid())
    return notebook_url(os.environ, server, server_url=server_url)


def callback_target(config: Any) -> str | None:
    """The callback URL a notification carries with these settings (None: none).

    ``config.callback_url`` wins when set ("" turns callbacks off); otherwise the
    notebook's URL when the kernel runs under a Jupyter server. Never raises.
    """
    if config.callback_url is not None:
        return config.callback_url or None
    session = os.environ.get("JPY_SESSION_NAME", "")
    if not session:
        return None
    try:
        return _discovered(session, config.server_url)
    except Exception:  # a strange runtime directory must not cost a notification
        return None
