"""The CLI's terminal side: progress bars, how search results print, how `captionary app` starts Streamlit."""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, NoReturn

import click

from db.types import RELATED, SearchPage, Understood
from indexer.cli.terminal import json_text, shown
from indexer.models.caption_text import one_line

SCAN_BAR_DELAY = 0.5  # seconds a scan runs before its bar shows: a quick one shows none (it flashed "scanning: 0 files")


class TqdmProgress:
    """Progress bar on a terminal only (done/total, images/s, ETA); silent when piped. No other line is written
    while a bar is on the screen: the scan's is cleared before the model loads, the captioning one is drawn
    after it has loaded."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.bar: Any = None  # tqdm bars, made on first use
        self.count_bar: Any = None

    def scanned(self, files: int) -> None:
        self._count("scanning", files)

    def recognised(self, files: int) -> None:
        self._count("already captioned", files)

    def _count(self, what: str, files: int) -> None:
        """A bar of files counted before the model loads, cleared when it does (or when another count starts)."""
        if not self.enabled or not files:
            return
        if self.count_bar is None or self.count_bar.desc != what:
            from tqdm import tqdm

            self._end_count()
            # Made with its first count: a bar made empty draws "0 files" first.
            self.count_bar = tqdm(desc=what, unit=" files", initial=files, leave=False, file=sys.stderr, delay=SCAN_BAR_DELAY)
        else:
            self.count_bar.update(files)

    def _end_count(self) -> None:
        if self.count_bar is not None:
            self.count_bar.close()  # leave=False: its line is cleared
            self.count_bar = None

    def loading(self, model_id: str) -> None:
        from indexer.models.loading import loading_note

        self._end_count()
        # Always said, even when piped: loading can take a while, and a silent wait looks like a hang.
        click.echo(f"loading model {model_id}{loading_note(model_id)}…", err=True)

    def start(self, total: int) -> None:
        self._end_count()
        if self.enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="captioning", unit=" images", file=sys.stderr, smoothing=0.1)

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        for bar in (self.count_bar, self.bar):
            if bar is not None:
                bar.close()


def understood_json(understood: Understood) -> dict:
    """How the query was read, for --json: what was searched as words, and each reading."""
    readings = []
    for reading in understood.readings:
        row: dict[str, Any] = {
            "words": reading.words,
            "as": reading.kind,
            "shown": reading.shown,
            "also_words": reading.also_words,
        }
        if reading.or_previous:  # another choice beside the reading before it ("paris and rome"); added, not changed
            row["or_previous"] = True
        if reading.span is not None:
            first, last = reading.span.first, reading.span.last
            row.update(
                {"from": first and first.isoformat(), "to": last and last.isoformat(), "months": list(reading.span.months)}
            )
            span = reading.span
            if span.day and not span.last_day:  # that day of those months, any year ("july 4th"); added, not changed
                row["day"] = span.day
            elif span.day:  # from that day of the first month to that of the last ("july 4th to 10th"); added
                row.update({"first_day": span.day, "last_day": span.last_day})
            if span.moving_every_year:  # every year's days of a holiday that moves ("easter")
                row["holiday"] = span.holiday
            if span.or_words:  # or a photo of those years holding these words ("christmas" beside a folder so named)
                row["or_words"] = span.or_words
        elif reading.kind == "not":  # the words no photo found holds ("beach without dogs or people"); added
            row["not"] = list(reading.excluded)
        elif reading.kind == "stars":  # rated at least this many ("4 stars"); added
            row["stars"] = reading.stars
        else:
            row[reading.kind] = reading.name
        readings.append(row)
    return {"text": understood.text, "readings": readings}


def print_search_page(page: SearchPage, as_json: bool) -> None:
    understood = page.understood
    for reading in understood.readings:  # on stderr, so a pipe of paths or JSON stays as it was
        either = " (this or the one above)" if reading.or_previous else ""
        click.echo(f'reading "{reading.words}" as {reading.shown}{either}', err=True)
    if understood.left_out and not understood.text and not understood.readings:  # "the", "photos"
        click.echo(f'no word to search for in "{" ".join(understood.left_out)}": every photo matches', err=True)
    if as_json:
        as_read = understood_json(understood)
        click.echo(
            json_text(
                [
                    {
                        "path": hit.image.path,
                        "caption": hit.image.caption,
                        "score": round(hit.score, 4),
                        "mode": page.mode,
                        "match": hit.match,
                        "id": hit.image.id,
                        "edited": hit.image.edited,
                        "model": hit.image.model,
                        "tags": hit.image.tags,
                        "signals": list(hit.signals),
                        "place": hit.image.place,
                        "taken": hit.image.taken_at.date().isoformat() if hit.image.taken_at else None,
                        "title": hit.image.title,
                        "description": hit.image.description,
                        "text": hit.image.text,
                        "taken_time": hit.image.taken_time,  # the date above, with the time and its zone
                        "pair": hit.image.pair,
                        "camera": hit.image.camera,  # EXIF make and model ("Apple iPhone 12 Pro"), or null; added
                        "rating": hit.image.rating,  # the file's stars, 1 to 5 (-1 rejected), or null; added
                        "understood": as_read,
                    }
                    for hit in page.hits
                ]
            )
        )
        return
    if not page.hits:
        click.echo("no matches", err=True)
    shown_related = False
    for hit in page.hits:
        if hit.match == RELATED and not shown_related:
            click.echo("-- related --")  # photos found by meaning only: after every word match
            shown_related = True
        click.echo(f"{shown(hit.image.path)}  {shown(one_line(hit.image.caption))}")  # the whole caption: --json


def streamlit_command(script: str, host: str, port: int) -> list[str]:
    """How `captionary app` starts Streamlit (the browser test starts it the same way)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        # the printed address is the one given, so Streamlit never looks up this machine's external IP
        "--browser.serverAddress",
        host,
        # a private photo app: no Deploy button, no developer menu
        "--client.toolbarMode",
        "minimal",
        # No re-import of the code while the app runs: an upgrade (or an editable install being edited) swapped
        # modules under the library the session holds, and the next save said its search index was damaged.
        "--server.fileWatcherType",
        "none",
    ]


def listen_problem(host: str, port: int) -> str | None:
    """Why the app could not listen at host:port, said before Streamlit starts: Streamlit's own answer to a busy
    port is a log line (`2026-12-07 12:39:06.995 Port 8620 is not available`) and exit 1. None when it can.

    The probe binds as Streamlit's server does (its starlette_server._bind_socket): IPv6 only for an address with
    a ":", taking IPv4 clients too; a name (`localhost`) as IPv4, whatever order the system lists its addresses in;
    SO_REUSEADDR except on Windows, so a port left in TIME_WAIT by the last app is free."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family=family) as probe:
            if os.name != "nt":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return f"port {port} is in use (another captionary app?): pick another with --port, or stop that one"
        return f"cannot listen at {host}:{port}: {error.strerror or error}"
    return None


def run_streamlit(command: list[str], env: dict[str, str]) -> NoReturn:
    """Become the Streamlit server (exec, same process id): a service manager's `kill PID` (SIGTERM, SIGINT,
    SIGHUP) then reaches the server itself, which frees its port, rather than a parent that would leave
    the server running as an orphan."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(command[0], command, env)
    import subprocess  # Windows has no exec: its os.exec* start a new process and return

    sys.exit(subprocess.call(command, env=env))
