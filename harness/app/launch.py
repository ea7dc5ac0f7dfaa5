"""The ``streamlit run`` command line behind ``harness app``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from harness.app.upload import MAX_MB

PAGE = Path(__file__).with_name("page.py")


def streamlit_command(
    runs: Sequence[str | Path], port: int = 8501, address: str = "localhost"
) -> list[str]:
    """``python -m streamlit run page.py`` headless on ``address:port``, run folders after ``--``."""
    flags = {
        "server.headless": "true",
        "server.port": str(port),
        "server.address": address,
        "server.fileWatcherType": "none",
        "server.maxUploadSize": str(MAX_MB),  # the app's own cap, one number
        "browser.gatherUsageStats": "false",
        "client.toolbarMode": "minimal",  # no Deploy button or developer menu: a viewer's page
    }
    options = [arg for key, value in flags.items() for arg in (f"--{key}", value)]
    return [sys.executable, "-m", "streamlit", "run", str(PAGE), *options, "--", *map(str, runs)]
