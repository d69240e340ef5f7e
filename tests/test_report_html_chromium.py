"""The HTML report in a real browser (Debian's chromium, headless; .ci/chromium.sh installs it).

The page must load with no console message at all (it has no script, so any message is a
blocked fetch, a CSP violation or a broken resource), and a screenshot must show the drawing:
the level tints of the L1 and L2 boxes and the red outline of the findings' subjects, in the
topology's place at the top of the page. A control page with an outside image proves the
console check sees what it is meant to see.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.report_html import CSP, report_page
from nestlab.lab.session import SimSession
from nestlab.simulator import faults, labfile

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium on this machine (.ci/chromium.sh installs Debian's)")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0")
L1_FILL, L2_FILL, ERROR_RED = (0xE9, 0xF6, 0xEC), (0xFD, 0xF5, 0xE1), (0xC6, 0x28, 0x28)


def open_in_chromium(page: Path, tmp_path: Path, size: str = "1300,900") -> tuple[list[str], Path]:
    """Load a file in headless chromium: (the console messages it logged, its screenshot)."""
    profile = tmp_path / f"profile-{page.stem}"
    profile.mkdir()
    shot = tmp_path / f"{page.stem}.png"
    done = subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
                           f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.is_file(), done.stderr[-2000:]
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line], shot


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB(A) non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw, stride, rows, prev, i = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp), 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def pixels_like(shot: Path, color: tuple[int, int, int], tolerance: int = 8) -> list[tuple[int, int]]:
    width, _, bpp, rows = decode_png(shot.read_bytes())
    return [(x, y) for y, row in enumerate(rows) for x in range(width)
            if all(abs(row[x * bpp + k] - color[k]) <= tolerance for k in range(3))]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    lab = labfile.load("builtin:reference")
    for fault_id in ("nat-prefix-mismatch", "vhd-parent-missing"):
        faults.get(fault_id).inject(lab)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(report_page(diagnose_session(SimSession(lab), target="builtin:reference")), encoding="utf-8")
    return path


def test_the_report_loads_without_a_console_message_and_shows_the_drawing(report_file, tmp_path):
    console, shot = open_in_chromium(report_file, tmp_path)
    assert console == []
    l1, l2, red = (pixels_like(shot, color) for color in (L1_FILL, L2_FILL, ERROR_RED))
    assert len(l1) > 20_000 and len(l2) > 5_000, (len(l1), len(l2))  # the L1 box, and the L2 boxes inside it
    assert len(red) > 300, len(red)  # the outlines of the two subjects (and the error badges)
    box_rows = sorted(y for y, n in Counter(y for _, y in l1).items() if n > 300)  # L1's box, not the legend's swatch
    top, bottom = box_rows[0], box_rows[-1]
    l2_rows = sorted(y for y, n in Counter(y for _, y in l2).items() if n > 150)
    assert l2_rows and top < l2_rows[0] and l2_rows[-1] < bottom  # the L2 boxes are drawn inside L1's
    assert 150 < top  # below the heading and the legend


def test_the_console_check_sees_a_blocked_outside_fetch(tmp_path):
    control = tmp_path / "control.html"
    control.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="{CSP}">'
                       '</head><body><img src="http://127.0.0.1:9/logo.png"></body></html>', encoding="utf-8")
    console, _ = open_in_chromium(control, tmp_path, size="400,300")
    assert any("Content Security Policy" in line for line in console), console
