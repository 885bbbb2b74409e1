"""`python -m report.screenshots`: pictures of the report as a reader sees it, taken by headless
Chromium (Debian's `chromium` package): the first screen of index.html and its model section,
into report/figures/ (build.SCREENSHOTS). The build never writes them, so `--check` ignores them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .build import REPORT_DIR, SCREENSHOTS

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WINDOW = (1280, 900)


def browser() -> str | None:
    """The path of a Chromium binary on PATH, or None."""
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium with a throw-away profile; raises RuntimeError when it fails or is missing."""
    binary = browser()
    if binary is None:
        raise RuntimeError("no Chromium binary on PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="attnlab-chromium-") as profile:
        cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ, HOME=profile))
    if proc.returncode != 0:
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return proc


def _opening_at(page: Path, section: str, folder: Path) -> Path:
    """A copy of `page` whose view opens at `section` (an element id): headless Chromium's
    screenshot does not scroll to a #fragment, so the copy shows the page's header and then
    that section alone, with the page's own styles."""
    hide = f"<style>main > *:not(#{section}) {{ display: none; }}</style></head>"
    copy = folder / page.name
    copy.write_text(page.read_text(encoding="utf-8").replace("</head>", hide, 1), encoding="utf-8")
    return copy


def take(page: Path, out_dir: Path) -> dict[str, Path]:
    """Screenshots of `page` (a file) at WINDOW's size, one per SCREENSHOTS entry (the first
    screen, or the view opened at a section), written atomically under `out_dir`.
    Returns {what: path}. Raises RuntimeError when Chromium is missing or fails."""
    written = {}
    with tempfile.TemporaryDirectory(prefix="attnlab-page-") as folder:
        for what, (file, fragment) in SCREENSHOTS.items():
            shown = _opening_at(page, fragment.lstrip("#"), Path(folder)) if fragment else page
            target = out_dir / file
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp.png")
            chromium(f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=5000", f"--screenshot={tmp}",
                     shown.as_uri())
            os.replace(tmp, target)
            written[what] = target
    return written


def main() -> int:
    try:
        for what, path in take(REPORT_DIR / "index.html", REPORT_DIR).items():
            print(f"{what}: {path.relative_to(REPORT_DIR.parent)}")
    except RuntimeError as e:
        print(f"report.screenshots: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
