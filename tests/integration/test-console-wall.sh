#!/bin/bash
# test-console-wall.sh VMBATCHD VMBATCH STARTER SCRIPTS VMBATCH_WEB WEB_DIR
# Issue 13's teacher's wall end to end, as test-browser-console.sh does a
# single console: a real vmbatchd (node role) and vmbatch-web (as a web_user
# account of the test) in a network namespace of the test, two students'
# guests each showing their own text on the VGA console, headless Chromium
# (no network but the namespace's loopback) over DevTools (vmbconsole.py):
#   - a student's `vmbatch console --wall` is refused (EPERM), and her own
#     console token on the wall page is refused;
#   - the admin's `vmbatch console --wall --vmgroup lab1` URL shows two
#     tiles, each connected with its student's name, each tile's canvas the
#     same pixels as a direct VNC client's framebuffer of that instance (not
#     the other's); a click shows the tile full size (a bigger canvas);
#   - the wall token is refused on its second use; --group studs works too;
#   - no HTTP response, WebSocket frame or page text holds a VNC password;
#   - the audit log has the wall's open with its 2 instances.
# Its own users (wlteach, wlstud1, wlstud2), namespace and port: it runs
# beside the other tests. Screenshots in $VMBATCH_KEEP_SHOTS (meson:
# BUILD/meson-logs/console-wall), else /tmp/vmbatch-console-wall-shots.
set -u
. "$(dirname "$0")/lib.sh"
browser_test_args "test-console-wall.sh VMBATCHD VMBATCH STARTER SCRIPTS VMBATCH_WEB WEB_DIR" "$@"

ADMIN=wlteach; S1=wlstud1; S2=wlstud2
VMB_TEST_USERS="$ADMIN $S1 $S2"
begin_node_test wall openssl chromium
trap end_browser_test EXIT
PORT=8443
CDP=9222
WEBU=vmbww$$
SHOTS=${VMBATCH_KEEP_SHOTS:-/tmp/vmbatch-console-wall-shots}
mkdir -p "$SHOTS" && rm -f "$SHOTS"/*.png
ensure_user "$WEBU" || skip_all "cannot create user $WEBU"

start_node_vmbatchd "console_url = https://127.0.0.1:$PORT/console" "web_user = $WEBU" ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd started in namespace $NS (admin $ADMIN, web_user $WEBU)"
TA=WLSTUD1_SCREEN_0123456789
TB=wlstud2-screen-qwxzkvbjmnop
CMD="console=ttyS0 quiet panic=-1 vmb.net=0 vmb.hold=-1 vmb.screenecho=1 vmb.screen="
guest_template "$S1" "$D" "${CMD}$TA" &&
  v "$ADMIN" --vmadd --name tmplb --vmg lab1 --usediscs "$T/guest/base.qcow2" --derivable --mem 128M \
    --kernel "$T/guest/vmlinuz" --initrd "$T/guest/initrd.img" --cmdline "${CMD}$TB" >/dev/null &&
  v "$ADMIN" --permset +d --ug studs --vm tmplb >/dev/null &&
  v "$ADMIN" --uadd --name "$S2" --uid "$(id -u "$S2")" --ug studs --stordir "/home/$S2/vmb-wall-$$" >/dev/null &&
  v "$S1" --vmadd --name g --base tmpl >/dev/null && v "$S2" --vmadd --name h --base tmplb >/dev/null
ok $? "setup: $S1's vm g (screen $TA) and $S2's vm h (screen $TB) in vm group lab1, both in user group studs"
vb() { local u=$1; shift; as "$u" "$VMBATCH" "$@"; }

VMBATCH_RUN_WAIT=120 v "$S1" --vmrun --vm g >"$T/run-g.out" 2>&1
VMBATCH_RUN_WAIT=120 v "$S2" --vmrun --vm h >"$T/run-h.out" 2>&1
map=$(vb "$ADMIN" --json map list)
field() { # field USER KEY: of USER's instance
  printf '%s' "$map" | "$PY" -c "import json,sys; m=[i for i in json.load(sys.stdin) if i.get('uid') == $(id -u "$1")]; print(m[0]['$2'] if m else '')"
}
IA=$(field "$S1" id); IB=$(field "$S2" id); PA=$(field "$S1" vnc_port); PB=$(field "$S2" vnc_port)
PWA=$(field "$S1" vnc_password); PWB=$(field "$S2" vnc_password)
[ -n "$IA" ] && [ -n "$IB" ] && wait_for 90 grep -q "VMB-SCREEN-ECHO" "$T/state/jobs/instance-$IA.serial" &&
  wait_for 90 grep -q "VMB-SCREEN-ECHO" "$T/state/jobs/instance-$IB.serial"
ok $? "both guests show their text on the VGA console ($S1: instance $IA; $S2: instance $IB)" ||
  diag "$map" "$(cat "$T"/run-*.out)" "$(tail -20 "$T/vmbatchd.log")"

start_test_gateway "$WEB" "$WEB_DIR" "$PORT" "$WEBU"
ok $? "vmbatch-web listens on 127.0.0.1:$PORT in $NS, as $WEBU" || diag "$(cat "$T/web.log")"

# the browser: as test-browser-console.sh's (only loopback, only the gateway's key)
start_test_browser "$CDP"
ok $? "headless Chromium runs in $NS with DevTools on 127.0.0.1:$CDP" || diag "$(tail -20 "$T/chromium.log")"

expect_fail "a student's 'vmbatch console --wall' is refused: EPERM" "only an admin opens the wall" -- \
  vb "$S1" console --wall
expect_fail "--wall with --instance is refused" "cannot be used" -- vb "$ADMIN" console --wall --instance "$IA"

cat >"$T/scenario.py" <<'PY'
import os, subprocess, sys, time
sys.path.insert(0, os.environ["HERE"])
import vmbconsole as vc
E = os.environ
shots = E["SHOTS"]
check, vmbatch_console, direct = vc.check, vc.vmbatch_console, vc.direct_frame
def save(name, data):
    vc.save_shot(shots, name, data)

b = vc.Browser(int(E["CDP"]))
seen = []
def page_text():
    return (b.eval("document.documentElement.outerHTML") + "\n" + b.eval("document.body.innerText")).encode()
def collect():
    seen.extend(b.fetched()); seen.append(page_text())
S1, S2 = E["S1"], E["S2"]
screens = {S1: (E["PA"], E["PWA"], E["IA"]), S2: (E["PB"], E["PWB"], E["IB"])}

# a student's own console token is no wall token
url, out = vmbatch_console(S1, "g")
check(url is not None, "%s gets a console URL for her own vm" % S1, out)
if url:
    token = url.split("#token=", 1)[1]
    b.goto("https://127.0.0.1:%s/console/wall.html#token=%s" % (E["PORT"], token))
    state, bar, tiles = vc.wait_wall(b, 1)
    check(state == "refused" and "unknown" in bar and not tiles,
          "her console token on the wall page: refused (%s), no tile" % bar, (state, bar, tiles))
    collect()

# the admin's wall of vm group lab1
url, out = vmbatch_console(E["ADMIN"], "--wall", "--vmgroup", "lab1")
check(url is not None and "/console/wall.html#token=" in url, "the admin's 'vmbatch console --wall --vmgroup lab1' prints the wall's URL", out)
if url:
    b.goto(url)
    state, bar, tiles = vc.wait_wall(b, 2)
    check(state == "ready" and tiles == ["connected", "connected"],
          "the wall is ready with two tiles, both connected (%s)" % bar, (state, bar, tiles))
    b.pump(2.0)  # the first frames, then the text settles
    names = b.eval("window.vmbatchWall.tiles.map(t => t.user)")
    labels = b.eval("window.vmbatchWall.tiles.map(t => t.el.querySelector('.name').textContent)")
    insts = b.eval("window.vmbatchWall.tiles.map(t => String(t.instance))")
    check(sorted(names or []) == sorted([S1, S2]) and all(any(n in l for l in labels) for n in (S1, S2)),
          "the tiles are named %s and %s" % (S1, S2), labels)
    save("wall.png", b.screenshot())
    # the teacher watching is not the students' activity (console.activity
    # reports only a console opened by the instance's own user)
    def open_of(user, inst):
        r = subprocess.run(["runuser", "-u", user, "--", "env", "VMBATCH_SOCKET=" + E["VMB_SOCK"], E["VMBATCH"],
                            "--json", "instance", "show", inst], capture_output=True, text=True)
        return r.stdout.replace(" ", "").count('"console_open":false')
    check(open_of(S1, E["IA"]) == 1 and open_of(S2, E["IB"]) == 1,
          "with only the wall's thumbnails on them, instance show says neither student's console is open")
    for i, name in enumerate(names or []):
        port, pw, inst = screens[name]
        other = screens[S2 if name == S1 else S1]
        check(insts[i] == inst, "%s's tile is her instance %s" % (name, inst), insts)
        for attempt in range(10):  # a thumbnail may still take its last update
            canvas = vc.image_rgb(vc.wall_canvas_png(b, i))
            own = direct(port, pw)
            eq, iou = vc.compare(canvas, own)
            if eq >= 0.999 and iou >= 0.98:
                break
            b.pump(0.5)
        vc.save_png(os.path.join(shots, "wall-canvas-%s.png" % name), *canvas)
        vc.save_png(os.path.join(shots, "direct-vnc-%s.png" % name), *own)
        lit = len(vc.bright(canvas[2]))
        check(lit > 2000 and eq >= 0.999 and iou >= 0.98,
              "%s's tile shows her screen: the direct VNC framebuffer's pixels (%.4f equal, text IoU %.3f, %d bright)" %
              (name, eq, iou, lit))
        eq2, iou2 = vc.compare(canvas, direct(other[0], other[1]))
        check(iou2 < 0.5, "... and not the other student's (text IoU %.3f)" % iou2)
    # the thumbnail's size, then a click on the first tile: full size
    rect = "(() => { const r = window.vmbatchWall.tiles[%d].rfb._canvas.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
    small = b.eval(rect % 0)
    vc.click(b, small[0] + small[2] / 2, small[1] + small[3] / 2)
    b.pump(1.0)
    big = b.eval(rect % 0)
    full = b.eval("window.vmbatchWall.tiles[0].el.classList.contains('full')")
    check(full and big[2] > small[2] * 1.5 and big[3] > small[3] * 1.5,
          "a click shows %s's tile full size (canvas %.0fx%.0f, the thumbnail %.0fx%.0f)" %
          (names[0], big[2], big[3], small[2], small[3]))
    save("wall-full.png", b.screenshot())
    collect()
    # the wall token's second use
    b.goto(url)
    state, bar, tiles = vc.wait_wall(b, 1)
    check(state == "refused" and "already used" in bar and not tiles,
          "the wall URL a second time: refused (%s)" % bar, (state, bar, tiles))
    collect()

# by user group
url, out = vmbatch_console(E["ADMIN"], "--wall", "--group", "studs")
check(url is not None, "the admin's 'vmbatch console --wall --group studs'", out)
if url:
    b.goto(url)
    state, bar, tiles = vc.wait_wall(b, 2)
    check(state == "ready" and tiles == ["connected", "connected"] and "user group studs" in bar,
          "the wall of user group studs: two tiles connected (%s)" % bar, (state, bar, tiles))
    collect()

blob = b"".join(seen)
check(len(blob) > 100000 and E["PWA"].encode() not in blob and E["PWB"].encode() not in blob,
      "no HTTP response, WebSocket frame or page text the browser got holds a VNC password (%d bytes, %d pieces)" %
      (len(blob), len(seen)))
print("DONE", flush=True)
PY
export HERE SHOTS CDP PORT VMB_SOCK VMBATCH PA PB PWA PWB IA IB S1 S2 ADMIN
ip netns exec "$NS" timeout 150 "$PY" "$T/scenario.py" >"$T/scenario.out" 2>&1
tap_scenario "$T/scenario.out"

grep -q "wall open: vm group lab1 for $ADMIN from 127.0.0.1:[0-9]*: 2 instances" "$T/web.log" &&
  grep -q "console open: instance $IA (vm g) user $S1 from 127.0.0.1:" "$T/web.log" &&
  grep -q "console open: instance $IB (vm h) user $S2 from 127.0.0.1:" "$T/web.log"
ok $? "the gateway logged the wall's open and each thumbnail's console" || diag "$(cat "$T/web.log")"
! grep -q -e "$PWA" -e "$PWB" "$T/web.log"; ok $? "the gateway's log holds no VNC password"
vb "$ADMIN" --json audit list --limit 200 | "$PY" -c "
import json, sys
a = json.load(sys.stdin)
d = lambda e: json.loads(e['detail']) if isinstance(e.get('detail'), str) else (e.get('detail') or {})
w = [e for e in a if e['op'] == 'console.wall_redeem']
ok = [e for e in w if d(e).get('result') == 'ok' and d(e).get('instances') == 2 and d(e).get('from', '').startswith('127.0.0.1:')]
sys.exit(0 if len(ok) == 2 and any('already used' in d(e).get('result', '') for e in w) else 1)"
ok $? "the audit log has both walls' opens (2 instances, from 127.0.0.1:PORT) and the refused second use"
diag "screenshots kept in $SHOTS"
[ "$tap_failed" -eq 0 ] || diag "gateway log:" "$(tail -20 "$T/web.log")" "scenario:" "$(tail -20 "$T/scenario.out")"
tap_done
