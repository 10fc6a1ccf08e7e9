#!/bin/bash
# test-web-gateway.sh VMBATCH_WEB WEB_DIR - the console gateway (vmbatch-web)
# against a real qemu VNC server (password set over QMP) and a stand-in for
# vmbatchd's console.redeem (python, below: it checks the token and hands
# over a connection to qemu's VNC socket with SCM_RIGHTS, as vmbatchd will).
# A python WebSocket client (python3-websocket) over wss:// gets RFB 3.8,
# only security type None, ServerInit with qemu's framebuffer size and a
# framebuffer update; a malformed token is refused at the upgrade, an unknown
# or reused one in RFB with its reason; plain http gets no page; the page and
# noVNC's rfb.js are served, ../ escapes and folder listings are not; no
# response carries the VNC password. It all runs in a network namespace of
# its own (unshare --net: loopback only, gone with its processes).
set -u
. "$(dirname "$0")/lib.sh"
# Debian's programs, as check-provenance.sh finds them: the python3 with
# python3-websocket, not one a user's PATH puts first (pyenv)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
WEB=$(realpath "${1:?usage: test-web-gateway.sh VMBATCH_WEB WEB_DIR}")
WEB_DIR=$(realpath "${2:?}")
NOVNC=/usr/share/novnc

[ "$(id -u)" -eq 0 ] || skip_all "needs root (a network namespace of its own, the gateway drops to nobody)"
if [ "${VMB_WEB_IN_NETNS:-}" != 1 ]; then
  VMB_WEB_IN_NETNS=1 exec unshare --net -- bash "$0" "$@"
fi
ip link set lo up || skip_all "cannot bring up loopback in a new network namespace"
[ -f "$NOVNC/core/rfb.js" ] || skip_all "noVNC is not installed (package novnc)"
python3 -c 'import websocket' 2>/dev/null || skip_all "python3-websocket is not installed"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed"

tmp=$(mktemp -d /tmp/vmb-web.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${VMBATCH_KEEP_LOGS:-}" ] && { diag "logs kept in $tmp"; return; }
  rm -rf "$tmp"
}
trap cleanup EXIT

PW=Zq7vmbPw
GOOD=0123456789abcdef0123456789abcdef
GOOD2=fedcba9876543210fedcba9876543210
UNKNOWN=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
PORT=8443

# ---- qemu: a VGA framebuffer (640x480 before any guest code runs: -S), VNC
# on a unix socket with a password, QMP to set it and to take a screendump
qemu-system-x86_64 -machine pc,accel=tcg -S -nodefaults -device VGA -display none \
  -vnc "unix:$tmp/vnc.sock,password=on" -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
  >"$tmp/qemu.log" 2>&1 &
pids+=($!)
wait_for 10 test -S "$tmp/qmp.sock" || { ok 1 "qemu started"; tap_done; exit 1; }

cat >"$tmp/qmp.py" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
def cmd(c, **a):
    f.write(json.dumps({"execute": c, "arguments": a}) + "\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if 'return' in m: return m['return']
        if 'error' in m: sys.exit(m['error']['desc'])
f.readline()
cmd("qmp_capabilities")
cmd("set_password", protocol="vnc", password=sys.argv[2])
cmd("screendump", filename=sys.argv[3])
EOF
python3 "$tmp/qmp.py" "$tmp/qmp.sock" "$PW" "$tmp/screen.ppm"
ok $? "qemu's VNC password set over QMP, a screendump taken"
read -r W H < <(sed -n 2p "$tmp/screen.ppm")
diag "qemu's framebuffer: ${W}x${H}"

# ---- the stand-in for vmbatchd's console.redeem: each token once
cat >"$tmp/standin.py" <<'EOF'
import json, os, socket, struct, sys
path, vnc, log = sys.argv[1], sys.argv[2], sys.argv[3]
tokens = {t: (7 + i, "student%d" % i) for i, t in enumerate(sys.argv[5:])}
password = sys.argv[4]
used = set()
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path); os.chmod(path, 0o666); srv.listen(16)
def recv_exact(c, n):
    b = b""
    while len(b) < n:
        k = c.recv(n - len(b))
        if not k: raise EOFError
        b += k
    return b
def send(c, msg, fds=()):
    body = json.dumps(msg).encode()
    socket.send_fds(c, [struct.pack(">I", len(body)) + body], list(fds))
while True:
    c, _ = srv.accept()
    try:
        n, = struct.unpack(">I", recv_exact(c, 4))
        req = json.loads(recv_exact(c, n))
        with open(log, "a") as f: f.write(json.dumps(req) + "\n")
        t = req.get("args", {}).get("token")
        if req.get("op") != "console.redeem" or t not in tokens or t in used:
            send(c, {"ok": False, "error": {"code": "EACCES",
                     "message": "token refused: unknown, used or expired"}})
        else:
            used.add(t)
            v = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); v.connect(vnc)
            inst, user = tokens[t]
            send(c, {"ok": True, "data": {"instance": inst, "user": user, "vm": "labvm",
                                          "vnc_password": password}}, [v.fileno()])
            v.close()
    except Exception as e:
        print("stand-in:", e, file=sys.stderr)
    c.close()
EOF
python3 "$tmp/standin.py" "$tmp/vmbatchd.sock" "$tmp/vnc.sock" "$tmp/redeem.log" "$PW" "$GOOD" "$GOOD2" \
  2>"$tmp/standin.log" &
pids+=($!)
wait_for 10 test -S "$tmp/vmbatchd.sock"

# ---- the gateway: as root it drops to nobody; a self-signed certificate
start_web() {
  "$WEB" --config /dev/null --listen 127.0.0.1:$PORT --path /console --novnc "$NOVNC" --web-dir "$WEB_DIR" \
    --socket "$tmp/vmbatchd.sock" --state "$tmp/state" --user nobody >>"$tmp/web.log" 2>&1 &
  WEB_PID=$!
  pids+=($WEB_PID)
  wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null
}
start_web
ok $? "vmbatch-web listens on 127.0.0.1:$PORT"
[ "$tap_failed" -eq 0 ] || { diag "$(cat "$tmp/web.log")"; tap_done; exit 1; }
[ "$(stat -c %a "$tmp/state/key.pem" 2>/dev/null)" = 600 ] && openssl x509 -in "$tmp/state/cert.pem" -noout -subject | grep -q "CN = $(hostname)"
ok $? "a self-signed certificate (CN = the host name) and its key (0600) were made in the state folder"
uid=$(awk '/^Uid:/ {print $2}' "/proc/$WEB_PID/status")
[ "$uid" = "$(id -u nobody)" ]
ok $? "the gateway runs as the unprivileged account (uid $uid), not root"
fds_before=$(ls "/proc/$WEB_PID/fd" | wc -l)

# ---- the client: every check prints PASS or FAIL NAME (: detail)
cat >"$tmp/client.py" <<'EOF'
import json, os, re, socket, ssl, struct, sys, time
import websocket
port, pw, good, good2, unknown, W, H, novnc = sys.argv[1:9]
port, W, H = int(port), int(W), int(H)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
seen = []  # every byte any response carried
def check(cond, name, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond or not detail else ": " + str(detail)[:300]), flush=True)

def https(path):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 5))
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % (path, port)).encode())
    data = b""
    while True:
        try: k = s.recv(65536)
        except (ssl.SSLError, ConnectionError): break
        if not k: break
        data += k
    s.close(); seen.append(data)
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    status = int(m.group(1)) if m else 0
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = b"", body
        while rest:
            n, _, rest = rest.partition(b"\r\n"); n = int(n, 16)
            if n == 0: break
            out += rest[:n]; rest = rest[n + 2:]
        body = out
    return status, head.decode("latin-1"), body

# plain http to the TLS port: nothing but TLS
s = socket.create_connection(("127.0.0.1", port), 5)
s.sendall(b"GET /console/ HTTP/1.1\r\nHost: x\r\n\r\n"); s.settimeout(5)
try: plain = s.recv(65536)
except (socket.timeout, ConnectionError): plain = b""
seen.append(plain); s.close()
check(b"HTTP/1" not in plain and b"<html" not in plain.lower(), "plain http:// gets no page", plain[:80])

st, head, body = https("/console/")
check(st == 200 and b"console.js" in body and b"VM console" in body, "GET /console/ returns the console page", (st, body[:120]))
check("content-security-policy" in head.lower() and "no-store" in head.lower(), "the page comes with a CSP and no-store", head)
st, head, body = https("/console/console.js")
check(st == 200 and b"novnc/core/rfb.js" in body and b"replaceState" in body, "GET /console/console.js returns the page's script", st)
st, head, body = https("/console/novnc/core/rfb.js")
want = open(os.path.join(novnc, "core/rfb.js"), "rb").read()
check(st == 200 and body == want, "GET /console/novnc/core/rfb.js returns noVNC's file", (st, len(body), len(want)))
check(re.search(r"content-type: *(application|text)/javascript", head.lower()) is not None, "rfb.js is served as JavaScript (ES module)", head)
for path in ["/console/novnc/../../etc/passwd", "/console/novnc/../../../../../../etc/passwd",
             "/console/novnc/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/console/novnc/..%2f..%2f..%2fetc/passwd",
             "/console/../../etc/passwd"]:
    st, head, body = https(path)
    check(b"root:" not in body, "GET %s does not escape (status %d)" % (path, st), body[:80])
st, head, body = https("/console/novnc/core/")
check(b"rfb.js" not in body and b"websock.js" not in body, "no folder listing of noVNC (status %d)" % st, body[:120])
st, head, body = https("/console/ws")
check(st != 200 or b"RFB" not in body, "a plain GET of the WebSocket path is no console (status %d)" % st)

def ws_open(token, path="/console/ws"):
    return websocket.create_connection("wss://127.0.0.1:%d%s?token=%s" % (port, path, token),
                                       sslopt={"cert_reqs": ssl.CERT_NONE, "check_hostname": False},
                                       subprotocols=["binary"], timeout=10)

class Rfb:
    def __init__(self, ws): self.ws, self.buf = ws, b""
    def read(self, n):
        while len(self.buf) < n:
            op, data = self.ws.recv_data(control_frame=True)
            seen.append(data)
            if op == websocket.ABNF.OPCODE_CLOSE:
                code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else 0
                raise EOFError("closed %d %s" % (code, data[2:].decode(errors="replace")))
            if op in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_CONT): self.buf += data
        b, self.buf = self.buf[:n], self.buf[n:]
        return b
    def send(self, b): self.ws.send_binary(b)

# malformed tokens: no WebSocket at all
for bad in ["short", good.upper(), good + "0", ""]:
    try:
        ws_open(bad).close(); refused, why = False, "opened"
    except websocket.WebSocketBadStatusException as e:
        refused, why = True, e.status_code
    except Exception as e:
        refused, why = True, e
    check(refused, "a malformed token (%r) is refused at the upgrade (%s)" % (bad[:8], why))
try:
    ws_open(good, "/console/other").close(); refused = False
except Exception:
    refused = True
check(refused, "a WebSocket on another path is refused")

# an unknown token: RFB says why, then the WebSocket closes with the reason
ws = ws_open(unknown); r = Rfb(ws)
v = r.read(12); r.send(b"RFB 003.008\n")
# the refusal is told where RFB 3.8 allows it: as 0 security types when it
# came before the browser's version, else as a failed SecurityResult
n = r.read(1)[0]
if n == 0:
    form = "0 security types"
else:
    types = r.read(n); r.send(b"\x01"); res = struct.unpack(">I", r.read(4))[0]
    form = "SecurityResult %d after types %r" % (res, list(types))
    if res == 0: form = "accepted"
reason = r.read(struct.unpack(">I", r.read(4))[0]).decode() if form != "accepted" else ""
check(v == b"RFB 003.008\n" and form != "accepted" and "token refused" in reason,
      "an unknown token: refused in RFB (%s) with the daemon's reason" % form, (v, form, reason))
try:
    r.read(1); closed = ""
except EOFError as e:
    closed = str(e)
except Exception as e:
    closed = "error " + str(e)
check("closed 1008" in closed and "token refused" in closed, "then a close with the reason", closed)
ws.close()

# the good token: the whole handshake
t0 = time.monotonic()
ws = ws_open(good); r = Rfb(ws)
t_open = time.monotonic()
v = r.read(12)
check(v == b"RFB 003.008\n", "the browser gets RFB 003.008", v)
r.send(b"RFB 003.008\n")
n = r.read(1)[0]; types = list(r.read(n))
check(types == [1], "only security type 1 (None) is offered", types)
r.send(b"\x01")
res = struct.unpack(">I", r.read(4))[0]
check(res == 0, "SecurityResult OK: the gateway did the VNC authentication", res)
r.send(b"\x01")  # ClientInit, shared
si = r.read(24); w, h = struct.unpack(">HH", si[:4]); name = r.read(struct.unpack(">I", si[20:24])[0])
t_init = time.monotonic()
check((w, h) == (W, H), "ServerInit: %dx%d as qemu says (%r)" % (w, h, name), (w, h, W, H))
# SetEncodings (Raw) and a full FramebufferUpdateRequest
r.send(struct.pack(">BxHi", 2, 1, 0))
r.send(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
mt = r.read(1)[0]
while mt != 0:  # skip anything else qemu sends first (bell, cut text)
    mt = r.read(1)[0]
nrect, = struct.unpack(">xH", r.read(3))
got = 0
for i in range(nrect):
    x, y, rw, rh, enc = struct.unpack(">HHHHi", r.read(12))
    if enc == 0:
        r.read(rw * rh * 4); got += rw * rh
t_fb = time.monotonic()
check(nrect >= 1 and got > 0, "a framebuffer update came (%d rects, %d pixels)" % (nrect, got))
print("FIGURE ws_open_ms %.1f serverinit_after_open_ms %.1f first_update_after_open_ms %.1f" %
      ((t_open - t0) * 1000, (t_init - t_open) * 1000, (t_fb - t_open) * 1000), flush=True)
ws.close()

# the same token again: refused (the stand-in holds it once, as vmbatchd will)
ws = ws_open(good); r = Rfb(ws); r.read(12); r.send(b"RFB 003.008\n")
try:
    n = r.read(1)[0]
    if n: r.read(n); r.send(b"\x01"); n = struct.unpack(">I", r.read(4))[0] == 0
    refused = not n
except EOFError:
    refused = True
check(refused, "the used token is refused")
ws.close()

# a second good token while a browser is slow: its handshake still completes
slow = ws_open(unknown)  # never sends its version
ws = ws_open(good2); r = Rfb(ws); r.read(12); r.send(b"RFB 003.008\n"); r.read(2); r.send(b"\x01")
check(struct.unpack(">I", r.read(4))[0] == 0, "a console completes while another browser stalls its handshake")
ws.close(); slow.close()

blob = b"".join(seen)
check(pw.encode() not in blob, "no HTTP response or WebSocket byte carries the VNC password (%d bytes seen)" % len(blob))
EOF
python3 "$tmp/client.py" "$PORT" "$PW" "$GOOD" "$GOOD2" "$UNKNOWN" "$W" "$H" "$NOVNC" >"$tmp/client.out" 2>&1
while read -r verdict rest; do
  case $verdict in
    PASS) ok 0 "$rest" ;;
    FAIL) ok 1 "$rest" ;;
    FIGURE) diag "$rest" ;;
    *) diag "$verdict $rest" ;;
  esac
done <"$tmp/client.out"
grep -q 'PASS no HTTP response' "$tmp/client.out"
ok $? "the client ran to its end"

# what the gateway told vmbatchd, and what it logged
grep -q '"from": "127.0.0.1:[0-9]\+"' "$tmp/redeem.log"
ok $? "console.redeem names the browser's ADDR:PORT as from"
grep -q "console open: instance 7 (vm labvm) user student0 from 127.0.0.1:[0-9]*, handshake" "$tmp/web.log"
ok $? "the gateway logs the console's open (instance, user, from)"
grep -Eq "console closed: instance 7 .* [0-9]+ bytes to the browser, [0-9]+ from it, [0-9.]+ s" "$tmp/web.log"
ok $? "and its close (bytes each way, duration)"
grep -q "console refused: from 127.0.0.1:[0-9]*.*token refused" "$tmp/web.log"
ok $? "a refused token is logged with the reason"
! grep -q "$PW" "$tmp/web.log"
ok $? "the log holds no VNC password"
sleep 0.5
fds_after=$(ls "/proc/$WEB_PID/fd" | wc -l)
[ "$fds_after" -le "$fds_before" ]
ok $? "no fd left open after the consoles ended ($fds_before before, $fds_after after)"

# a restart reuses the certificate
fp1=$(openssl x509 -in "$tmp/state/cert.pem" -noout -fingerprint -sha256)
kill "$WEB_PID"; wait "$WEB_PID" 2>/dev/null
start_web
fp2=$(openssl x509 -in "$tmp/state/cert.pem" -noout -fingerprint -sha256)
served=$(openssl s_client -connect 127.0.0.1:$PORT </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256)
[ "$fp1" = "$fp2" ] && [ "$served" = "$fp1" ]
ok $? "after a restart the same self-signed certificate is served"

[ "$tap_failed" -eq 0 ] || { diag "gateway log:"; diag "$(tail -30 "$tmp/web.log")"; diag "$(cat "$tmp/standin.log")"; }
tap_done
