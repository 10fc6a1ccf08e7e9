# vmbconsole.py - shared by test-browser-console.sh and bench/bench-console.sh:
# headless Chromium driven through its DevTools protocol (python3-websocket),
# opening vmbatch's console page, and a direct RFB 3.8 client (VNC
# authentication) for the same instance's TCP VNC server.
import base64, io, json, os, socket, struct, subprocess, threading, time, urllib.request
import websocket

# Runs in every page before its scripts: the time of each drawImage onto a
# canvas in the document (noVNC's flip of its back buffer onto the visible
# canvas: a frame on the screen) and of each keydown, on the page's clock
# (performance.now(), 0 = the start of the navigation).
HOOK = r"""
window.__vmb = {draws: [], keys: []};
(function () {
  const orig = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...a) {
    const r = orig.apply(this, a);
    if (this.canvas.isConnected) window.__vmb.draws.push(performance.now());
    return r;
  };
  document.addEventListener('keydown', () => window.__vmb.keys.push(performance.now()), true);
})();
"""


class Browser:
    """One page of a Chromium started with --remote-debugging-port=PORT."""

    def __init__(self, port, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                pages = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2))
                pages = [p for p in pages if p.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("no DevTools page on port %d" % port)
            time.sleep(0.2)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        for m in ("Page.enable", "Runtime.enable", "Network.enable"):
            self.call(m)
        self.call("Page.addScriptToEvaluateOnNewDocument", source=HOOK)
        # the page's size: the bar (26 px) and a 720x400 VGA text screen at 1:1
        self.call("Emulation.setDeviceMetricsOverride", width=720, height=426, deviceScaleFactor=1, mobile=False)

    def _recv(self):
        m = json.loads(self.ws.recv())
        if "method" in m:
            self.events.append(m)
        return m

    def call(self, method, **params):
        self.next_id += 1
        i = self.next_id
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            m = self._recv()
            if m.get("id") == i:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("%s: %s" % (expr[:60], r["exceptionDetails"]))
        return r["result"].get("value")

    def pump(self, seconds):
        """Read events for a while (the page runs on without us)."""
        end = time.monotonic() + seconds
        self.ws.settimeout(0.05)
        try:
            while time.monotonic() < end:
                try:
                    self._recv()
                except websocket.WebSocketTimeoutException:
                    pass
        finally:
            self.ws.settimeout(30)

    def goto(self, url):
        """A fresh document: about:blank first (a URL that differs only in its
        #fragment would be a same-document navigation)."""
        self.call("Page.navigate", url="about:blank")
        self.pump(0.1)
        self.events = []
        self.call("Page.navigate", url=url)

    def wait_console(self, timeout=20):
        """Until the page is connected with a frame drawn, or disconnected.
        Returns (state, bar text, ms of the first frame after the start of
        the navigation or None)."""
        end = time.monotonic() + timeout
        while True:
            try:
                st = self.eval("[document.body ? document.body.dataset.state : 'loading',"
                               " document.getElementById('bar') ? document.getElementById('bar').textContent : '',"
                               " window.__vmb ? window.__vmb.draws.length : 0,"
                               " window.__vmb && window.__vmb.draws.length ? window.__vmb.draws[0] : null]")
            except RuntimeError:
                st = ["loading", "", 0, None]
            if st[0] == "disconnected" or (st[0] == "connected" and st[2] > 0):
                return st[0], st[1], st[3]
            if time.monotonic() > end:
                return st[0], st[1], st[3]
            self.pump(0.03)

    def canvas_png(self):
        url = self.eval("window.vmbatchConsole._canvas.toDataURL('image/png')")
        return base64.b64decode(url.split(",", 1)[1])

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def fetched(self):
        """Every response body the page got (HTTP, as far as Chromium keeps
        them) and every WebSocket frame to it, as bytes."""
        out = []
        for e in self.events:
            p = e["params"]
            if e["method"] == "Network.loadingFinished":
                try:
                    r = self.call("Network.getResponseBody", requestId=p["requestId"])
                    out.append(base64.b64decode(r["body"]) if r.get("base64Encoded") else r["body"].encode())
                except RuntimeError:
                    pass
            elif e["method"] == "Network.webSocketFrameReceived":
                r = p["response"]
                out.append(base64.b64decode(r["payloadData"]) if r.get("opcode") == 2 else r["payloadData"].encode())
            elif e["method"] == "Network.responseReceived":
                out.append(json.dumps(p["response"].get("headers", {})).encode())
            elif e["method"] == "Network.webSocketHandshakeResponseReceived":
                out.append(json.dumps(p["response"].get("headers", {})).encode())
        return out

    def key(self, ch):
        """A key press and release of a lower-case letter, as a user types it."""
        vk = ord(ch.upper())
        common = dict(key=ch, code="Key" + ch.upper(), windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)
        self.call("Input.dispatchKeyEvent", type="keyDown", text=ch, unmodifiedText=ch, **common)
        self.call("Input.dispatchKeyEvent", type="keyUp", **common)


def _des(key8, data):
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        c = Cipher(algorithms.TripleDES(key8 * 3), modes.ECB()).encryptor()
        return c.update(data) + c.finalize()
    except ImportError:
        return subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-K", key8.hex(), "-provider", "legacy",
                               "-provider", "default"], input=data, capture_output=True, check=True).stdout[:16]


class Rfb:
    """A direct VNC client: RFB 3.8, VNC authentication, 32 bpp raw pixels."""

    def __init__(self, host, port, password, timeout=10):
        self.t_connect = time.monotonic()
        self.s = socket.create_connection((host, port), timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.read(12) != b"RFB 003.008\n":
            raise RuntimeError("not RFB 3.8")
        self.s.sendall(b"RFB 003.008\n")
        types = self.read(self.read(1)[0])
        if 2 not in types:
            raise RuntimeError("no VNC authentication: %r" % list(types))
        self.s.sendall(b"\x02")
        key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password.encode().ljust(8, b"\0")[:8])
        self.s.sendall(_des(key, self.read(16)))
        if struct.unpack(">I", self.read(4))[0] != 0:
            raise RuntimeError("VNC authentication failed")
        self.s.sendall(b"\x01")
        si = self.read(24)
        self.w, self.h = struct.unpack(">HH", si[:4])
        self.name = self.read(struct.unpack(">I", si[20:24])[0])
        # 32 bpp, little endian, true colour, red at 16, green 8, blue 0: BGRX bytes
        self.s.sendall(struct.pack(">BxxxBBBBHHHBBBxxx", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        self.s.sendall(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: Raw
        self.fb = bytearray(self.w * self.h * 4)
        self.updates = []  # monotonic time of each complete FramebufferUpdate
        self.lock = threading.Condition()
        self.thread = None

    def read(self, n):
        b = b""
        while len(b) < n:
            # ACK at once: qemu writes an update in pieces, and with Nagle on its
            # side a delayed ACK here would hold each further piece for 40 ms
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            k = self.s.recv(n - len(b))
            if not k:
                raise EOFError("the VNC server closed")
            b += k
        return b

    def request(self, incremental):
        self.s.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.w, self.h))

    def one_message(self):
        t = self.read(1)[0]
        if t == 0:
            n = struct.unpack(">xH", self.read(3))[0]
            for _ in range(n):
                x, y, w, h, enc = struct.unpack(">HHHHi", self.read(12))
                if enc == 0:
                    data = self.read(w * h * 4)
                    for row in range(h):
                        o = ((y + row) * self.w + x) * 4
                        self.fb[o:o + w * 4] = data[row * w * 4:(row + 1) * w * 4]
                elif enc == -223:  # DesktopSize
                    self.w, self.h = w, h
                    self.fb = bytearray(w * h * 4)
            return "update"
        if t == 2:
            return "bell"
        if t == 3:
            self.read(3)
            self.read(struct.unpack(">I", self.read(4))[0])
            return "cut"
        if t == 1:
            self.read(1)
            self.read(struct.unpack(">H", self.read(2))[0] * 6)
            return "colours"
        raise RuntimeError("unknown RFB message %d" % t)

    def first_frame(self):
        """A full update; returns the ms from before the connect to its end."""
        self.request(False)
        while self.one_message() != "update":
            pass
        return (time.monotonic() - self.t_connect) * 1000

    def follow(self):
        """From now on a thread reads every update and asks for the next one
        (as noVNC does), noting when each arrived."""
        def run():
            try:
                while True:
                    self.request(True)
                    while self.one_message() != "update":
                        pass
                    with self.lock:
                        self.updates.append(time.monotonic())
                        self.lock.notify_all()
            except (OSError, EOFError):
                pass
        self.s.settimeout(None)
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def key(self, keysym):
        self.s.sendall(struct.pack(">BBxxI", 4, 1, keysym) + struct.pack(">BBxxI", 4, 0, keysym))

    def wait_update_after(self, t0, timeout=5):
        with self.lock:
            end = time.monotonic() + timeout
            while not any(u > t0 for u in self.updates):
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)
            return min(u for u in self.updates if u > t0)

    def rgb(self):
        """The framebuffer as RGB bytes."""
        out = bytearray(self.w * self.h * 3)
        out[0::3] = self.fb[2::4]
        out[1::3] = self.fb[1::4]
        out[2::3] = self.fb[0::4]
        return bytes(out)

    def close(self):
        try:
            self.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.s.close()


def image_rgb(data):
    """PNG/JPEG bytes -> (w, h, RGB bytes) through PIL (python3-pil)."""
    from PIL import Image
    im = Image.open(io.BytesIO(data)).convert("RGB")
    return im.size[0], im.size[1], im.tobytes()


def save_png(path, w, h, rgb):
    from PIL import Image
    Image.frombytes("RGB", (w, h), rgb).save(path)


def bright(rgb):
    """The set of bright pixels (the text on a black screen)."""
    return {i // 3 for i in range(0, len(rgb), 3) if rgb[i] + rgb[i + 1] + rgb[i + 2] > 3 * 96}


def compare(a, b):
    """(fraction of equal pixels within 32 per channel, IoU of the bright
    pixels) of two (w, h, rgb) images of the same size, else (0, 0)."""
    if a[:2] != b[:2]:
        return 0.0, 0.0
    ra, rb = a[2], b[2]
    n = a[0] * a[1]
    eq = sum(1 for i in range(0, len(ra), 3)
             if abs(ra[i] - rb[i]) <= 32 and abs(ra[i + 1] - rb[i + 1]) <= 32 and abs(ra[i + 2] - rb[i + 2]) <= 32)
    ba, bb = bright(ra), bright(rb)
    iou = len(ba & bb) / len(ba | bb) if ba | bb else 1.0
    return eq / n, iou


def wait_wall(b, n, timeout=30):
    """Until the wall page (wall.html) is refused, or has n tiles all
    connected; returns (body state, bar text, [tile states])."""
    end = time.monotonic() + timeout
    while True:
        try:
            st = b.eval("[document.body ? document.body.dataset.state : 'loading',"
                        " document.getElementById('bar') ? document.getElementById('bar').textContent : '',"
                        " window.vmbatchWall ? window.vmbatchWall.tiles.map(t => t.el.dataset.state) : []]")
        except RuntimeError:
            st = ["loading", "", []]
        if st[0] == "refused" or (st[0] == "ready" and len(st[2]) >= n and all(s == "connected" for s in st[2])):
            return st[0], st[1], st[2]
        if time.monotonic() > end:
            return st[0], st[1], st[2]
        b.pump(0.05)


def wall_canvas_png(b, i):
    """The framebuffer of the wall's tile i (its canvas at full resolution,
    whatever size it is shown at)."""
    url = b.eval("window.vmbatchWall.tiles[%d].rfb._canvas.toDataURL('image/png')" % i)
    return base64.b64decode(url.split(",", 1)[1])


def click(b, x, y):
    """A left click at (x, y) of the page, as a mouse makes it."""
    for t in ("mousePressed", "mouseReleased"):
        b.call("Input.dispatchMouseEvent", type=t, x=x, y=y, button="left", clickCount=1)


# ---- a browser test's scenario (test-browser-console.sh, test-console-wall.sh):
# its verdicts as lines that lib.sh's tap_scenario turns into TAP

def check(cond, name, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond or not detail else ": " + str(detail)[:400]), flush=True)


def save_shot(shots, name, data):
    p = os.path.join(shots, name)
    with open(p, "wb") as f:
        f.write(data)
    print("SHOT " + p, flush=True)


def vmbatch_console(user, *args):
    """`vmbatch console ARGS` as USER against $VMB_SOCK: (the URL it printed or
    None, all it said)."""
    r = subprocess.run(["runuser", "-u", user, "--", "env", "VMBATCH_SOCKET=" + os.environ["VMB_SOCK"],
                        os.environ["VMBATCH"], "console"] + list(args), capture_output=True, text=True)
    urls = [l for l in r.stdout.splitlines() if l.startswith("https://")]
    return urls[0] if urls else None, r.stdout + r.stderr


def direct_frame(port, pw):
    """(w, h, RGB) of a direct VNC client's first full frame."""
    c = Rfb("127.0.0.1", int(port), pw)
    c.first_frame()
    img = (c.w, c.h, c.rgb())
    c.close()
    return img
