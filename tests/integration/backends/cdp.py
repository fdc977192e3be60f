#!/usr/bin/python3
"""Headless Chromium driven over the DevTools protocol (CDP), for tests
that look at a page the way a browser runs it.

As a module (import cdp, from the backends directory):
    with cdp.Browser(chromium, profile_dir) as b:   # starts, and kills, it
        page = b.open(url, width=1280, height=900)  # a new tab, attached
        page.wait("document.body.dataset.refreshes >= 2", timeout=20)
        v = page.eval("document.title")            # the value (JSON-able)
        page.screenshot("/tmp/x.png")
        page.problems                               # exceptions, console and
                                                    # log errors (CSP too)
As a command:
    cdp.py --chromium PATH --profile DIR --url URL [--wait JS] [--eval JS]
           [--screenshot FILE] [--width W --height H] [--timeout S]
prints {"value": <eval result>, "problems": [...]} as one JSON line.

Chromium is started with --remote-debugging-port=0 and its port read
from PROFILE/DevToolsActivePort; one websocket to the browser carries
every command (Target.attachToTarget with flatten: the tab's commands
carry its sessionId).  python3-websockets 10 (Debian 12): asyncio API.
"""
import argparse
import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time

import websockets


class CDPError(Exception):
    pass


class _Conn:
    """One websocket to the browser; replies matched by id, events kept."""

    def __init__(self, loop, url):
        self.loop = loop
        self.ws = loop.run_until_complete(websockets.connect(url, max_size=64 << 20, ping_interval=None))
        self.next_id = 0
        self.events = []

    def call(self, method, params=None, session=None, timeout=30):
        return self.loop.run_until_complete(self._call(method, params or {}, session, timeout))

    async def _call(self, method, params, session, timeout):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        await self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("%s: no reply within %ss" % (method, timeout))
            m = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if m.get("id") == mid:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def close(self):
        self.loop.run_until_complete(self.ws.close())


class Page:
    """A tab: evaluate, wait for a condition, screenshot."""

    def __init__(self, conn, session):
        self.conn = conn
        self.session = session

    def call(self, method, params=None, timeout=30):
        return self.conn.call(method, params, self.session, timeout)

    def eval(self, expr, timeout=30):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                      timeout)
        if "exceptionDetails" in r:
            raise CDPError("evaluate %r: %s" % (expr, r["exceptionDetails"].get("exception", {}).get(
                "description", r["exceptionDetails"].get("text"))))
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=20):
        """Poll EXPR (every 100 ms) until it is truthy; False on timeout.
        An exception (the page still loading: no body yet) is "not yet"."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.eval("!!(%s)" % expr):
                    return True
            except CDPError:
                pass
            self.conn.loop.run_until_complete(asyncio.sleep(0.1))
        return False

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    @property
    def problems(self):
        """Uncaught exceptions, console errors, and log errors (a blocked
        request, a Content-Security-Policy violation) seen so far."""
        out = []
        for e in self.conn.events:
            if e.get("sessionId") != self.session:
                continue
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: %s" % d.get("exception", {}).get("description", d.get("text")))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console.error: %s" % " ".join(str(a.get("value", a.get("description")))
                                                          for a in p.get("args", [])))
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                en = p["entry"]
                out.append("log %s: %s %s" % (en.get("source"), en.get("text"), en.get("url", "")))
        return out


class Browser:
    """Headless Chromium in its own process group (killed on exit)."""

    def __init__(self, chromium, profile, timeout=30, extra_args=()):
        self.chromium = chromium
        self.profile = profile
        self.timeout = timeout
        self.extra = list(extra_args)
        self.proc = None
        self.conn = None
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

    def __enter__(self):
        os.makedirs(self.profile, exist_ok=True)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-port=0",
                "--user-data-dir=" + self.profile] + self.extra + ["about:blank"]
        err = open(os.path.join(self.profile, "chromium.err"), "ab")
        self.proc = subprocess.Popen(args, stdout=err, stderr=err, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        lines = []
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CDPError("chromium exited (%s) before its DevTools port" % self.proc.returncode)
            try:
                lines = open(port_file).read().split("\n")
            except OSError:
                lines = []
            if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                break
            time.sleep(0.1)
        else:
            self._kill()
            raise CDPError("no %s within %ss" % (port_file, self.timeout))
        try:
            self.conn = _Conn(self.loop, "ws://127.0.0.1:%s%s" % (lines[0].strip(), lines[1].strip()))
        except BaseException:
            self._kill()
            raise
        return self

    def open(self, url, width=1280, height=900):
        tid = self.conn.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.conn.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        page = Page(self.conn, sid)
        for domain in ("Page", "Runtime", "Log"):
            page.call(domain + ".enable")
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        page.call("Page.navigate", {"url": url})
        return page

    def _kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()
        self.proc = None

    def __exit__(self, *exc):
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:
            pass
        self._kill()
        self.loop.close()
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--wait")
    ap.add_argument("--eval")
    ap.add_argument("--screenshot")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    with Browser(a.chromium, a.profile) as b:
        page = b.open(a.url, a.width, a.height)
        if a.wait and not page.wait(a.wait, a.timeout):
            print(json.dumps({"error": "timeout waiting for %s" % a.wait, "problems": page.problems}))
            return 1
        value = page.eval(a.eval) if a.eval else None
        if a.screenshot:
            page.screenshot(a.screenshot)
        print(json.dumps({"value": value, "problems": page.problems}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
