"""``TimeTrigger``: firings counted over a window, and a time trigger in ``lute watch``."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading

from lute.triggers import TimeTrigger

from .helpers import fifo_message, write_triggers

GAP = 0.1
WINDOW = 1.5


def test_time_trigger_fires_at_about_its_cadence():
    fired = []
    trigger = TimeTrigger(GAP)
    trigger.observe(fired.extend)
    threading.Event().wait(WINDOW)  # the window being counted, not a synchronisation
    trigger.stop()
    count = len(fired)
    # At most one firing per gap by construction; generously at least half of them.
    assert WINDOW / GAP / 2 <= count <= WINDOW / GAP + 1
    ticks = [event.key for event in fired]
    assert ticks == sorted(set(ticks)), "each tick is a distinct, increasing time"
    assert {event.kind for event in fired} == {"time"}


def test_lute_watch_launches_on_each_tick_and_shows_a_live_line_per_trigger(
    lute_env, work_dir, tmp_path
):
    fifo = tmp_path / "ticks"
    os.mkfifo(fifo)
    triggers = write_triggers(
        tmp_path / "TRIGGERS.yaml",
        [
            {
                "name": "ticker",
                "time": {"every": 0.2},
                "run": {"command": ["sh", "-c", f"echo {{{{ trigger.time }}}} > {fifo}"]},
            }
        ],
    )
    master, terminal = pty.openpty()
    watch = subprocess.Popen(
        [sys.executable, "-m", "lute", "watch", str(triggers)],
        env=lute_env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.DEVNULL,
    )
    os.close(terminal)
    screen = bytearray()
    reader = threading.Thread(target=_drain, args=(master, screen), daemon=True)
    reader.start()
    stamps = [fifo_message(fifo).strip() for _ in range(3)]
    watch.send_signal(signal.SIGTERM)
    assert watch.wait(timeout=60) == 0
    reader.join(timeout=10)

    assert len(set(stamps)) == 3 and all(re.match(r"\d{4}-\d\d-\d\dT", s) for s in stamps)
    text = screen.decode(errors="replace")
    assert re.search(r"ticker  seen \d+  queued \d+  launched [1-9]\d*  running \d  failed 0", text)
    assert "\x1b[1F\x1b[J" in text, "the line is redrawn in place"


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        into.extend(chunk)
    os.close(fd)
