#!/bin/bash
# test-console-token.sh VMBATCHD VMBATCH STARTER SCRIPTS
# The daemon side of the browser console (issue 13) with a real vmbatchd
# and a real guest in a network namespace this test makes:
#   - `vmbatch console VM` as the student prints a URL with a 32-hex token
#     in its fragment (and `vmapp --vmconsole`, `--json`);
#   - root redeems it over the daemon's socket (a python3 client: 4-byte
#     length + JSON, the fd by SCM_RIGHTS) and gets the instance's VNC
#     password and a socket on which qemu's console VNC server says
#     "RFB 003.008" and accepts that password (SecurityResult OK);
#   - a second redeem, a token past console_token_ttl (3 s here), another
#     student's console.open and a student's redeem are refused;
#   - the audit log has each redeem with the browser's address (from).
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMBATCH=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
VMAPP_BIN=$VMBATCH
begin_node_test console openssl python3
TTL=3
start_node_vmbatchd "console_token_ttl = $TTL" "console_url = https://console.example:8443/console" ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd started in namespace $NS (console_token_ttl = $TTL)"
guest_template doraz "$D" "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.hold=-1" &&
  v doraz --vmadd --name g --base tmpl >/dev/null &&
  v badadmin --uadd --name alex --uid "$(id -u alex)" --ug studs --stordir "/home/alex/vmb-console-$$" >/dev/null
ok $? "setup: a template, doraz's derived vm g, another student alex"
vb() { local u=$1; shift; as "$u" "$VMBATCH" "$@"; }

out=$(VMBATCH_RUN_WAIT=120 v doraz --vmrun --vm g 2>&1); rc=$?
ID=$(vb doraz --json instance list | python3 -c "import json,sys; m=json.load(sys.stdin); print(m[0]['id'] if m else '')")
[ $rc -eq 0 ] && [ -n "$ID" ] && wait_for 90 grep -q "VMB-LEASE" "$T/state/jobs/instance-$ID.serial"
ok $? "doraz's guest runs (instance $ID)" || diag "$out" "$(tail -20 "$T/vmbatchd.log")"
[ -S "$T/state/run/instance-$ID/vnc.sock" ] && [ "$(stat -c %U "$T/state/run/instance-$ID/vnc.sock")" = doraz ]
ok $? "qemu made the console socket in the run folder, as doraz"
pgrep -af "$T/state/run/instance-$ID/" | grep -q -- "-vnc 127.0.0.1:[0-9]*,password=on -vnc unix:$T/state/run/instance-$ID/vnc.sock,id=console,password=on"
ok $? "qemu has both VNC servers: TCP on vnc_listen and the console's unix socket"

# the python3 client of the daemon's socket: one request, the answer, an fd
cat >"$T/client.py" <<'PY'
import array, json, socket, struct, subprocess, sys
def rpc(path, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    body = json.dumps(req).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    buf, fds = b"", []
    def more():
        nonlocal buf
        data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i"); a.frombytes(cdata[:len(cdata) - len(cdata) % 4]); fds.extend(a)
        if not data:
            raise SystemExit("the daemon closed the connection")
        buf += data
    while len(buf) < 4:
        more()
    n = struct.unpack(">I", buf[:4])[0]
    while len(buf) < 4 + n:
        more()
    s.close()
    return json.loads(buf[4:4 + n]), fds
def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise SystemExit("the VNC server closed after %d bytes" % len(b))
        b += d
    return b
def vnc_auth(fd, password):
    c = socket.socket(fileno=fd)
    c.setblocking(True)
    c.settimeout(10)
    version = recv_exact(c, 12)
    print("version", version.decode().strip())
    if version != b"RFB 003.008\n":
        return "bad version"
    c.sendall(b"RFB 003.008\n")
    types = recv_exact(c, recv_exact(c, 1)[0])
    if 2 not in types:
        return "no VNC authentication offered: %s" % list(types)
    c.sendall(bytes([2]))
    challenge = recv_exact(c, 16)
    # VNC's DES key: the password's bytes, each with its bits reversed
    key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password.encode().ljust(8, b"\0")[:8])
    answer = subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-K", key.hex(), "-provider", "legacy",
                             "-provider", "default"], input=challenge, capture_output=True, check=True).stdout
    c.sendall(answer[:16])
    result = struct.unpack(">I", recv_exact(c, 4))[0]
    return "SecurityResult OK" if result == 0 else "SecurityResult failed (%d)" % result
sock, token, frm = sys.argv[1:4]
resp, fds = rpc(sock, {"op": "console.redeem", "args": {"token": token, "from": frm}})
print("fds", len(fds))
if not resp.get("ok"):
    print("error", resp["error"]["code"], resp["error"]["message"])
    sys.exit(0)
d = resp["data"]
print("answer", d["instance"], d["user"], d["vm"], "password" if d.get("vnc_password") else "no-password")
print(vnc_auth(fds[0], d["vnc_password"]) if fds else "no fd")
PY
chmod 0644 "$T/client.py"
redeem() { python3 "$T/client.py" "$VMB_SOCK" "$@"; }

# the student asks for the console
out=$(vb doraz console g 2>&1); rc=$?
TOKEN=$(printf '%s\n' "$out" | sed -n 's|^https://console.example:8443/console/#token=\([0-9a-f]\{32\}\)$|\1|p')
[ $rc -eq 0 ] && [ ${#TOKEN} -eq 32 ] && printf '%s\n' "$out" | grep -q "valid once, for $TTL s"
ok $? "vmbatch console g (doraz): a URL with a 32-hex token in its fragment, valid once" || diag "$out"
r=$(redeem "$TOKEN" "198.51.100.9:40000" 2>&1)
printf '%s\n' "$r" | grep -q "^answer $ID doraz g password$"
ok $? "root redeems it: instance $ID, user doraz, vm g, the VNC password" || diag "$r"
printf '%s\n' "$r" | grep -q "^fds 1$"; ok $? "one fd rides on the answer"
printf '%s\n' "$r" | grep -q "^version RFB 003.008$"; ok $? "the fd is qemu's VNC server: RFB 003.008"
printf '%s\n' "$r" | grep -q "^SecurityResult OK$"; ok $? "VNC authentication with the returned password: OK"
r=$(redeem "$TOKEN" "198.51.100.9:40001" 2>&1)
printf '%s\n' "$r" | grep -q "^error EACCES console token unknown or already used$" && printf '%s\n' "$r" | grep -q "^fds 0$"
ok $? "a second redeem of the same token: EACCES, no fd" || diag "$r"
r=$(redeem 0123456789abcdef0123456789abcdef "198.51.100.9:40002" 2>&1)
printf '%s\n' "$r" | grep -q "^error EACCES console token unknown or already used$"
ok $? "an unknown token: EACCES" || diag "$r"

# the paper's form, --json, and the lifetime
out=$(v doraz --vmconsole --vm g 2>&1)
printf '%s\n' "$out" | grep -Eq "^https://console.example:8443/console/#token=[0-9a-f]{32}$"
ok $? "vmapp --vmconsole --vm g prints the URL" || diag "$out"
json=$(vb doraz --json console --instance "$ID" 2>&1)
TOKEN2=$(printf '%s' "$json" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['instance']==$ID and d['expires_in']==$TTL and 'vnc_password' not in d; print(d['token'])" 2>/dev/null)
[ ${#TOKEN2} -eq 32 ] && [ "$TOKEN2" != "$TOKEN" ]
ok $? "vmbatch --json console --instance $ID: token, url, instance, expires_in (no VNC password)" || diag "$json"
r=$(runuser -u alex -- python3 "$T/client.py" "$VMB_SOCK" "$TOKEN2" "198.51.100.9:40003" 2>&1)
printf '%s\n' "$r" | grep -q "^error EPERM only the console gateway"
ok $? "a student's console.redeem: EPERM" || diag "$r"
sleep $((TTL + 1))
r=$(redeem "$TOKEN2" "198.51.100.9:40004" 2>&1)
printf '%s\n' "$r" | grep -q "^error EACCES console token expired$" && ! printf '%s\n' "$r" | grep -q "$ID"
ok $? "a token older than console_token_ttl ($TTL s): EACCES expired, no instance named" || diag "$r"

# someone else
expect_fail "alex's console.open of doraz's instance: EPERM" "You don't have permission to open this console" -- \
  vb alex console --instance "$ID"
expect_fail "a console for an instance that does not exist" "no such instance" -- vb doraz console --instance 9999

# the audit log
audit=$(vb badadmin --json audit list --limit 200)
printf '%s' "$audit" | python3 -c "
import json, sys
a = json.load(sys.stdin)
def det(e):
    d = e.get('detail')
    return json.loads(d) if isinstance(d, str) else (d or {})
r = [e for e in a if e['op'] == 'console.redeem']
ok = [e for e in r if det(e).get('result') == 'ok' and det(e).get('from') == '198.51.100.9:40000'
      and det(e).get('instance') == $ID and det(e).get('user') == 'doraz']
used = [e for e in r if det(e).get('from') == '198.51.100.9:40001' and 'already used' in det(e).get('result', '')]
exp = [e for e in r if det(e).get('from') == '198.51.100.9:40004' and det(e).get('result') == 'console token expired']
opened = [e for e in a if e['op'] == 'console.open' and e['object'] == 'console token for instance $ID issued to doraz']
sys.exit(0 if ok and used and exp and len(opened) >= 3 else 1)"
ok $? "the audit log: the redeem (doraz, instance $ID, from), the reused and the expired one, each console.open" ||
  diag "$(printf '%s' "$audit" | grep -c console)"

v doraz --vmstop --vm g --force >/dev/null
wait_for 30 eval "! vb doraz --json instance list | grep -q '\"id\": $ID'"
ok $? "the guest is stopped"
tap_done
