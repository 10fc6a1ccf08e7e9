#!/bin/bash
# test-browser-console.sh VMBATCHD VMBATCH STARTER SCRIPTS VMBATCH_WEB WEB_DIR
# Issue 13 end to end: a real vmbatchd (node role) and a real vmbatch-web
# (started as root, running as the web_user account this test makes) on
# 127.0.0.1:PORT in a network namespace of the test, two students' guests
# that each show their own text on the VGA console (test guest vmb.screen=),
# and headless Chromium (no network but that namespace's loopback), driven
# through its DevTools protocol (python3-websocket, tests/integration/vmbconsole.py):
#   - `vmbatch console g` as doraz prints the URL; the page says connected
#     and noVNC's canvas shows doraz's screen: the same pixels as a direct
#     VNC client's framebuffer (127.0.0.1::port, the instance's password) and
#     a vncsnapshot of it taken then, not alex's screen; alex's URL shows hers;
#   - the token is refused on its second use and after console_token_ttl (5 s);
#   - alex cannot get a token for doraz's instance (EPERM);
#   - no response the browser got (HTTP bodies and headers, WebSocket frames)
#     nor the page's DOM holds either VNC password;
#   - console activity (issue 14, vmbatch-web's console.activity): instance
#     show says doraz's console is open, after typing its console_input_at is
#     within the last seconds, after the page closed it is not open within the
#     report interval; doraz's own console.activity is refused (EPERM) and
#     changes nothing, the web user's same call is taken.
# The screenshots (page, canvas, direct, vncsnapshot) stay in
# $VMBATCH_KEEP_SHOTS (meson: BUILD/meson-logs/browser-console), else in
# /tmp/vmbatch-browser-console-shots; the path is printed.
set -u
. "$(dirname "$0")/lib.sh"
browser_test_args "test-browser-console.sh VMBATCHD VMBATCH STARTER SCRIPTS VMBATCH_WEB WEB_DIR" "$@"
begin_node_test bconsole openssl vncsnapshot chromium
TTL=5
PORT=8443
CDP=9222
WEBU=vmbw$$
SHOTS=${VMBATCH_KEEP_SHOTS:-/tmp/vmbatch-browser-console-shots}
mkdir -p "$SHOTS" && rm -f "$SHOTS"/*.png "$SHOTS"/*.jpg
trap end_browser_test EXIT
ensure_user "$WEBU" || skip_all "cannot create user $WEBU"

start_node_vmbatchd "console_token_ttl = $TTL" "console_url = https://127.0.0.1:$PORT/console" "web_user = $WEBU" ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd started in namespace $NS (web_user = $WEBU, console_token_ttl = $TTL)"
TA=DORAZ_SCREEN_0123456789
TB=alex-screen-qwxzkvbjmnop
CMD="console=ttyS0 quiet panic=-1 vmb.net=0 vmb.hold=-1 vmb.screenecho=1 vmb.screen="
guest_template doraz "$D" "${CMD}$TA" &&
  v badadmin --vmadd --name tmplb --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "${CMD}$TB" >/dev/null &&
  v badadmin --permset +d --ug studs --vm tmplb >/dev/null &&
  v badadmin --uadd --name alex --uid "$(id -u alex)" --ug studs --stordir "/home/alex/vmb-bconsole-$$" >/dev/null &&
  v doraz --vmadd --name g --base tmpl >/dev/null && v alex --vmadd --name h --base tmplb >/dev/null
ok $? "setup: doraz's vm g (screen $TA) and alex's vm h (screen $TB)"
vb() { local u=$1; shift; as "$u" "$VMBATCH" "$@"; }

VMBATCH_RUN_WAIT=120 v doraz --vmrun --vm g >"$T/run-g.out" 2>&1
VMBATCH_RUN_WAIT=120 v alex --vmrun --vm h >"$T/run-h.out" 2>&1
map=$(vb badadmin --json map list)
field() { # field USER KEY: of USER's instance
  printf '%s' "$map" | "$PY" -c "import json,sys; m=[i for i in json.load(sys.stdin) if i.get('uid') == $(id -u "$1")]; print(m[0]['$2'] if m else '')"
}
IA=$(field doraz id); IB=$(field alex id); PA=$(field doraz vnc_port); PB=$(field alex vnc_port)
PWA=$(field doraz vnc_password); PWB=$(field alex vnc_password)
[ -n "$IA" ] && [ -n "$IB" ] && wait_for 90 grep -q "VMB-SCREEN-ECHO" "$T/state/jobs/instance-$IA.serial" &&
  wait_for 90 grep -q "VMB-SCREEN-ECHO" "$T/state/jobs/instance-$IB.serial"
ok $? "both guests show their text on the VGA console (doraz: instance $IA, vnc $PA; alex: instance $IB, vnc $PB)" ||
  { diag "$map" "$(cat "$T"/run-*.out)" "$(tail -20 "$T/vmbatchd.log")"; }
[ -n "$PWA" ] && [ -n "$PWB" ] && [ "$PWA" != "$PWB" ]; ok $? "the two instances have their own VNC passwords"

# ---- the gateway: root opens the port and makes its certificate, then runs as $WEBU
start_test_gateway "$WEB" "$WEB_DIR" "$PORT" "$WEBU"
ok $? "vmbatch-web listens on 127.0.0.1:$PORT in $NS, as $WEBU" || diag "$(cat "$T/web.log")"

# ---- the browser: only loopback in the namespace, nothing of Google's; it
# trusts exactly the gateway's self-signed key (its SPKI hash), nothing else
start_test_browser "$CDP"
ok $? "headless Chromium runs in $NS with DevTools on 127.0.0.1:$CDP" || diag "$(tail -20 "$T/chromium.log")"

cat >"$T/scenario.py" <<'PY'
import json, os, subprocess, sys, time
sys.path.insert(0, os.environ["HERE"])
import vmbconsole as vc
E = os.environ
shots = E["SHOTS"]
check, vmbatch_console, direct = vc.check, vc.vmbatch_console, vc.direct_frame
def vncsnapshot(port, pw, out):
    key = bytes.fromhex("e84ad660c4721ae0")
    with open(out + ".pw", "wb") as f:
        f.write(vc._des(key, pw.encode().ljust(8, b"\0")[:8])[:8])
    subprocess.run(["timeout", "30", "vncsnapshot", "-quiet", "-passwd", out + ".pw", "127.0.0.1::" + port, out],
                   capture_output=True)
    os.unlink(out + ".pw")
    return vc.image_rgb(open(out, "rb").read()) if os.path.exists(out) and os.path.getsize(out) else None
def save(name, data):
    vc.save_shot(shots, name, data)

b = vc.Browser(int(E["CDP"]))
seen = []
def page_text():
    return (b.eval("document.documentElement.outerHTML") + "\n" + b.eval("document.body.innerText")).encode()

def show(user, vm, tag, own, other):
    """Open USER's console of VM; the canvas must be OWN's screen, not OTHER's."""
    url, out = vmbatch_console(user, vm)
    check(url is not None and "#token=" in url, "vmbatch console %s (%s) prints the URL" % (vm, user), out)
    if not url:
        return None
    b.goto(url)
    state, bar, first = b.wait_console()
    check(state == "connected" and first is not None,
          "%s's page says connected and noVNC drew a frame on the canvas (%s ms after the navigation)" %
          (user, "%.0f" % first if first is not None else "-"), (state, bar))
    b.pump(1.5)  # let the screen settle: later incremental updates
    canvas = vc.image_rgb(b.canvas_png())
    dA = direct(*own)
    dB = direct(*other)
    snap = vncsnapshot(own[0], own[1], os.path.join(shots, "vncsnapshot-%s.jpg" % tag))
    save("console-page-%s.png" % tag, b.screenshot())
    vc.save_png(os.path.join(shots, "console-canvas-%s.png" % tag), *canvas)
    vc.save_png(os.path.join(shots, "direct-vnc-%s.png" % tag), *dA)
    eq, iou = vc.compare(canvas, dA)
    lit = len(vc.bright(canvas[2]))
    check(lit > 2000, "%s's canvas is %dx%d with the guest's text on it (%d bright pixels)" % (user, canvas[0], canvas[1], lit))
    check(eq >= 0.999 and iou >= 0.98,
          "%s's canvas is the same as the direct VNC framebuffer of the instance (%.4f of the pixels equal, text IoU %.3f)" % (user, eq, iou))
    eq2, iou2 = vc.compare(canvas, dB)
    check(iou2 < 0.5, "and not the other student's screen (text IoU %.3f)" % iou2)
    if snap:
        eq3, iou3 = vc.compare(canvas, snap)
        check(eq3 >= 0.98 and iou3 >= 0.8,
              "%s's canvas matches a vncsnapshot taken then (JPEG: %.4f of the pixels within 32, text IoU %.3f)" % (user, eq3, iou3))
    else:
        check(False, "vncsnapshot of %s's instance" % user)
    seen.extend(b.fetched()); seen.append(page_text())
    return url

urlA = show("doraz", "g", "doraz", (E["PA"], E["PWA"]), (E["PB"], E["PWB"]))

# what vmbatch-web told vmbatchd of this console (console.activity): instance show
def inst_show():
    r = subprocess.run(["runuser", "-u", "doraz", "--", "env", "VMBATCH_SOCKET=" + E["VMB_SOCK"], E["VMBATCH"], "--json",
                        "instance", "show", E["IA"]], capture_output=True, text=True)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stdout + r.stderr}
def poll(cond, seconds):
    end = time.monotonic() + seconds
    while True:
        d = inst_show()
        if cond(d) or time.monotonic() > end:
            return d
        b.pump(0.1)
if urlA:
    d = poll(lambda d: d.get("console_open") is True, 3)
    check(d.get("console_open") is True, "instance show: doraz's console is open (console_open)", d)
    before = d.get("console_input_at")
    b.eval("window.vmbatchConsole.focus()")
    t_key = time.time()
    for ch in "vmb":
        b.key(ch)
    # the gateway tells a burst's last input within its report interval (2 s)
    d = poll(lambda d: (d.get("console_input_at") or 0) >= int(t_key), 4)
    at = d.get("console_input_at") or 0
    check(before is None, "no input before the keys (noVNC's update requests are no input): %s" % before)
    check(d.get("console_open") is True and int(t_key) <= at <= time.time(),
          "after typing: still open, console_input_at %s s after the first key (was %s), %.1f s ago" %
          (at - int(t_key), before, time.time() - at), d)
    t_close = time.monotonic()
    b.call("Page.navigate", url="about:blank")  # the page goes, its WebSocket with it
    d = poll(lambda d: d.get("console_open") is False, 4)
    check(d.get("console_open") is False and time.monotonic() - t_close <= 2.5 and abs((d.get("console_input_at") or 0) - at) <= 1,
          "the page closed: console_open false after %.1f s (report interval 2 s), the last input kept" %
          (time.monotonic() - t_close), d)
urlB = show("alex", "h", "alex", (E["PB"], E["PWB"]), (E["PA"], E["PWA"]))

# the token's limits, through the browser
if urlA:
    b.goto(urlA)
    state, bar, first = b.wait_console()
    check(state == "disconnected" and "already used" in bar and first is None,
          "doraz's URL a second time: refused (%s), nothing drawn" % bar, (state, bar, first))
    save("refused-second-use.png", b.screenshot())
    seen.extend(b.fetched()); seen.append(page_text())
url, out = vmbatch_console("doraz", "g")
ttl = int(E["TTL"])
time.sleep(ttl + 1)
if url:
    b.goto(url)
    state, bar, first = b.wait_console()
    check(state == "disconnected" and "expired" in bar and first is None,
          "a URL opened after console_token_ttl (%d s): refused (%s)" % (ttl, bar), (state, bar, first))
    save("refused-expired.png", b.screenshot())
    seen.extend(b.fetched()); seen.append(page_text())
else:
    check(False, "a second URL for doraz", out)
# a made-up token of the right form
b.goto("https://127.0.0.1:%s/console/#token=%s" % (E["PORT"], "0123456789abcdef" * 2))
state, bar, first = b.wait_console()
check(state == "disconnected" and "unknown" in bar and first is None, "a made-up token: refused (%s)" % bar)
seen.extend(b.fetched()); seen.append(page_text())
b.goto("https://127.0.0.1:%s/console/" % E["PORT"])
state, bar, first = b.wait_console()
check(state == "disconnected" and "no console token" in bar, "the page without a token says so (%s)" % bar)

blob = b"".join(seen)
check(len(blob) > 100000 and E["PWA"].encode() not in blob and E["PWB"].encode() not in blob,
      "no HTTP response, WebSocket frame or page text the browser got holds a VNC password (%d bytes, %d pieces)" %
      (len(blob), len(seen)))
print("DONE", flush=True)
PY
export HERE SHOTS CDP PORT TTL VMB_SOCK VMBATCH PA PB PWA PWB IA
ip netns exec "$NS" "$PY" "$T/scenario.py" >"$T/scenario.out" 2>&1
tap_scenario "$T/scenario.out"

# console.activity is the gateway's: a student reporting her own is refused
# and changes nothing; the web user's same call is taken (then closed again)
act() { rpc_as "$1" console.activity "{\"instance\": $IA, \"conn\": 99, \"open\": $2, \"input_ago_ms\": 0}"; }
ishow() { vb doraz --json instance show "$IA" | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d['console_open'], d['console_input_at'])"; }
before=$(ishow)
out=$(act doraz true)
printf '%s' "$out" | grep -q '"code": *"EPERM"' && [ "$(ishow)" = "$before" ]
ok $? "doraz's own console.activity is refused (EPERM) and changes nothing ($before): $(printf '%s' "$out" | head -c 160)"
out=$(act "$WEBU" true)
printf '%s' "$out" | grep -q '"ok": *true' && [ "$(ishow | cut -d' ' -f1)" = True ]
ok $? "control: the web user's same call is taken (console_open: $(ishow))"
act "$WEBU" false >/dev/null

expect_fail "alex cannot get a console token for doraz's instance: EPERM" "You don't have permission to open this console" -- \
  vb alex console --instance "$IA"
expect_fail "nor by name: alex has no vm g running" "." -- vb alex console g
grep -q "console open: instance $IA (vm g) user doraz from 127.0.0.1:[0-9]*" "$T/web.log" &&
  grep -q "console open: instance $IB (vm h) user alex from 127.0.0.1:[0-9]*" "$T/web.log"
ok $? "the gateway logged each console's open (instance, vm, user, from)" || diag "$(cat "$T/web.log")"
! grep -q -e "$PWA" -e "$PWB" "$T/web.log"; ok $? "the gateway's log holds no VNC password"
! grep -q -e "is unknown to the gateway" -e "activity" "$T/web.log"
ok $? "the gateway told every message noVNC sent apart, and every activity report was taken (no warning)"
audit=$(vb badadmin --json audit list --limit 200)
printf '%s' "$audit" | "$PY" -c "
import json, sys
a = [e for e in json.load(sys.stdin) if e['op'] == 'console.redeem']
d = lambda e: json.loads(e['detail']) if isinstance(e.get('detail'), str) else (e.get('detail') or {})
ok = [e for e in a if d(e).get('result') == 'ok' and d(e).get('from', '').startswith('127.0.0.1:')]
sys.exit(0 if len(ok) >= 2 and any('expired' in d(e).get('result', '') for e in a) else 1)"
ok $? "the audit log has the browser's redeems (from 127.0.0.1:PORT) and the expired one"
diag "screenshots kept in $SHOTS"
[ "$tap_failed" -eq 0 ] || diag "gateway log:" "$(tail -20 "$T/web.log")" "scenario:" "$(tail -20 "$T/scenario.out")"
tap_done
