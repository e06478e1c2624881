"""Headless Chromium (Debian's chromium and chromium-driver) through Selenium, a static file
server, and switchboard nodes started from the built binary: what the browser checks share."""
import contextlib
import ctypes
import functools
import http.server
import os
import re
import signal
import subprocess
import threading
import socket
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SWITCHBOARD_CHROMEDRIVER", "/usr/bin/chromedriver")


def chrome():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,700"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(20)
    return driver


def wait_for(predicate, seconds=10.0, step=0.05):
    """Polls `predicate` until it returns something true, or `seconds` pass; returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@contextlib.contextmanager
def static_server(directory):
    """Serves `directory` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent():
    # PR_SET_PDEATHSIG: the node is killed if this script dies first, so nothing is left running.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class Node:
    """`switchboard serve` on a free port, stopped by PID."""

    def __init__(self, binary, *arguments):
        self.port = free_port()
        self.log = open(f"/tmp/switchboard-browser-node-{os.getpid()}-{self.port}.log", "w+")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", str(self.port), *arguments], stdout=self.log, stderr=self.log, preexec_fn=_die_with_parent
        )
        if not wait_for(self.ready, seconds=30):
            output = self.output()
            self.stop()
            raise RuntimeError("the node did not get ready: " + output)

    def ready(self):
        try:
            with urllib.request.urlopen(self.http + "/readyz", timeout=2) as response:
                return response.status == 200
        except Exception:
            return False

    def output(self):
        with open(self.log.name) as log:
            return log.read()

    @property
    def http(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def stream(self):
        return f"ws://127.0.0.1:{self.port}/stream"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self.log.close()
            with contextlib.suppress(OSError):
                os.unlink(self.log.name)
