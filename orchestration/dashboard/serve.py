"""How `campaigns dashboard` starts the page: `streamlit run` on 127.0.0.1, headless (no
browser opened, no e-mail prompt), no usage statistics sent, no file watcher (a served page,
not a development session)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
HOST = "127.0.0.1"
DEFAULT_PORT = 8501


def streamlit_command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", HOST, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--server.runOnSave", "false",
            "--client.toolbarMode", "viewer"]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False
