#!/usr/bin/env python3
"""test-concurrent-quota.py VMBATCHD - quotas hold under 50 concurrent requests.

A real vmbatchd (control plane only) and 50 client processes, all running as
the unprivileged user 'nobody' and released at the same instant:
  * max_running = 5: 50 concurrent `vm.run --no-start` -> exactly 5 succeed,
    45 fail with EDQUOT, and exactly 5 distinct addresses are held;
  * max_storage fits exactly K derived overlays: 50 concurrent derives ->
    exactly K vms exist afterwards and no disc file is left by the refused ones.
Prints TAP."""
import json, os, pwd, socket, struct, subprocess, sys, tempfile, time, shutil

VMBATCHD = os.path.realpath(sys.argv[1])
n_test = 0
failed = 0

def ok(cond, name):
    global n_test, failed
    n_test += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n_test, name), flush=True)
    if not cond:
        failed += 1

def skip_all(why):
    print("1..0 # SKIP " + why)
    sys.exit(int(os.environ.get("VMBATCH_SKIP_EXIT", "77")))

def rpc(sock_path, op, args=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    b = json.dumps({"op": op, "args": args or {}}).encode()
    s.sendall(struct.pack(">I", len(b)) + b)
    hdr = b""
    while len(hdr) < 4:
        hdr += s.recv(4 - len(hdr))
    n = struct.unpack(">I", hdr)[0]
    data = b""
    while len(data) < n:
        data += s.recv(n - len(data))
    s.close()
    return json.loads(data)

def burst(sock_path, uid, gid, requests):
    """Run each request in its own process as uid, all released together."""
    r, w = os.pipe()
    results = []
    children = []
    for i, (op, args) in enumerate(requests):
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.close(out_r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.read(r, 1)  # EOF when the parent closes: everyone starts at once
            try:
                resp = rpc(sock_path, op, args)
            except Exception as e:  # noqa
                resp = {"ok": False, "error": {"code": "EXC", "message": str(e)}}
            os.write(out_w, json.dumps(resp).encode())
            os._exit(0)
        os.close(out_w)
        children.append((pid, out_r))
    os.close(r)
    time.sleep(0.3)
    os.close(w)
    for pid, fd in children:
        data = b""
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        os.close(fd)
        os.waitpid(pid, 0)
        results.append(json.loads(data))
    return results

if os.geteuid() != 0:
    skip_all("needs root (switches clients to nobody)")
if not shutil.which("qemu-img"):
    skip_all("qemu-img not installed")
nobody = pwd.getpwnam("nobody")
adm = pwd.getpwnam("daemon")  # the admin: a normal account (init refuses root, root owns no vm)
T = tempfile.mkdtemp(prefix="vmbatch-quota-")
os.chmod(T, 0o755)
stor = os.path.join(T, "nobody")
os.mkdir(stor)
os.chown(stor, nobody.pw_uid, nobody.pw_gid)
astor = os.path.join(T, "adm")
os.mkdir(astor)
os.chown(astor, adm.pw_uid, adm.pw_gid)
sock = os.path.join(T, "s.sock")
conf = os.path.join(T, "conf")
with open(conf, "w") as f:
    f.write("socket = %s\ndatabase = %s/db/vm.db\nadmin_user = daemon\nadmin_stordir = %s\nnode = no\n"
            "log_level = warning\n" % (sock, T, astor))
daemon = None
try:
    subprocess.run([VMBATCHD, "-c", conf, "--init"], check=True, stdout=subprocess.DEVNULL)
    daemon = subprocess.Popen([VMBATCHD, "-c", conf])
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    def admin(op, args=None):
        resp = rpc(sock, op, args)
        if not resp["ok"]:
            raise SystemExit("setup %s: %s" % (op, resp))
        return resp["data"]
    def as_admin(op, args):  # what root may not do: own a vm
        resp = burst(sock, adm.pw_uid, adm.pw_gid, [(op, args)])[0]
        if not resp["ok"]:
            raise SystemExit("setup %s as %s: %s" % (op, adm.pw_name, resp))
        return resp["data"]
    admin("ugroup.add", {"name": "studs"})
    admin("user.add", {"name": "nobody", "groups": ["studs"], "stordir": stor, "max_running": 5})
    admin("vmgroup.add", {"name": "exam", "iprange": "10.99.0.1-10.99.0.200"})
    as_admin("vm.add", {"name": "exam", "vmgroup": "exam", "disc_sizes": [1 << 20], "derivable": True})
    admin("perm.set", {"group": "studs", "vm": "exam", "run": True, "derive": True})

    # --- max_running under 50 concurrent runs
    res = burst(sock, nobody.pw_uid, nobody.pw_gid,
                [("vm.run", {"vm": "exam", "no_start": True})] * 50)
    good = [x for x in res if x["ok"]]
    quota = [x for x in res if not x["ok"] and x["error"]["code"] == "EDQUOT"]
    ok(len(good) == 5, "50 concurrent runs with max_running 5: exactly 5 succeed (%d)" % len(good))
    ok(len(quota) == 45, "the other 45 fail with EDQUOT (%d)" % len(quota))
    ips = {x["data"]["ip"] for x in good}
    ok(len(ips) == 5, "5 distinct addresses (%s)" % ", ".join(sorted(ips)))
    held = rpc(sock, "map.list")["data"]
    ok(len(held) == 5, "the mapping table holds exactly 5 instances")
    for x in good:
        admin("instance.release", {"instance": x["data"]["id"]})

    # --- max_storage under 50 concurrent derives
    as_admin("vm.add", {"name": "probe", "base": "exam"})  # measure one overlay
    probe = [v for v in admin("vm.list") if v["name"] == "probe"][0]
    overlay = probe["discs"][0]["allocated"]
    admin("vm.del", {"vm": probe["id"]})
    K = 7
    admin("user.mod", {"user": "nobody", "max_storage": K * overlay + overlay // 2})
    res = burst(sock, nobody.pw_uid, nobody.pw_gid,
                [("vm.add", {"name": "d%02d" % i, "base": "exam"}) for i in range(50)])
    good = [x for x in res if x["ok"]]
    quota = [x for x in res if not x["ok"] and x["error"]["code"] == "EDQUOT"]
    ok(len(good) == K, "50 concurrent derives, quota for %d overlays of %d bytes: exactly %d succeed (%d)"
       % (K, overlay, K, len(good)))
    ok(len(quota) == 50 - K, "the other %d fail with EDQUOT (%d)" % (50 - K, len(quota)))
    users = admin("user.list")
    used = [u for u in users if u["name"] == "nobody"][0]["storage_used"]
    ok(used <= K * overlay + overlay // 2, "storage used %d stays within the quota" % used)
    files = sorted(os.listdir(stor))
    ok(len(files) == K, "exactly %d disc files exist (%d): refused derives left nothing" % (K, len(files)))
    audit = admin("audit.list", {"limit": 1000})
    ok(sum(1 for a in audit if a["op"] == "vm.add" and a["uid"] == nobody.pw_uid) == K,
       "the audit log records exactly the %d successful derives" % K)
finally:
    if daemon:
        daemon.terminate()
        daemon.wait()
    shutil.rmtree(T, ignore_errors=True)
print("1..%d" % n_test)
sys.exit(1 if failed else 0)
