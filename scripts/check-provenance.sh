#!/bin/bash
# check-provenance.sh [-v] - every program in scripts/programs.list must come
# from a Debian package that scripts/install-deps.sh installs.
#
# CI was once green only because its machine had a package (iptables) that
# install-deps.sh never installed. This check makes that impossible: for each
# program it
#   1. finds it on PATH=/usr/sbin:/usr/bin:/sbin:/bin only (never the caller's
#      PATH: /usr/local, ~/.pyenv shims and the like do not count);
#   2. follows its symlinks and /etc/alternatives (readlink -f);
#   3. asks dpkg -S which package owns the path found and the path it resolves
#      to (on a merged-/usr machine under both /usr/sbin/x and /sbin/x names);
#   4. passes when every such package is one install-deps.sh lists, or one in
#      the closure of their Depends/Pre-Depends (as installed), or Essential.
# A program that is not found, or is a file no package installed, fails too.
#
# Prints one line "provenance: ..." per problem and exits 1, or on success
# the single line "provenance: N programs, all from packages install-deps.sh
# installs" and exits 0. -v: also one line per program saying why it passes.
# Needs no root and no network; takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
VERBOSE=0
case "${1:-}" in
  -v | --verbose) VERBOSE=1 ;;
  "") ;;
  *) echo "usage: $0 [-v]" >&2; exit 2 ;;
esac
LIST=scripts/programs.list
PY=/usr/bin/python3   # Debian's (python3-minimal), whatever the caller's PATH had

fail() { echo "provenance: $*"; exit 1; }
[ -r "$LIST" ] || fail "$LIST is missing"
command -v dpkg-query >/dev/null || fail "dpkg-query not found: this check needs a Debian system"
[ -x "$PY" ] || fail "python3 is not installed ($PY missing): run scripts/install-deps.sh (it installs python3)"
packages=$(scripts/install-deps.sh --list) || fail "scripts/install-deps.sh --list failed"

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# On a merged-/usr machine /bin is /usr/bin, and dpkg knows a file under the
# name its package ships it with, which may be either: ask for both.
merged=0
[ /bin -ef /usr/bin ] && [ /sbin -ef /usr/sbin ] && merged=1
names_of() { # names_of PATH: PATH, and its other name on a merged-/usr machine
  echo "$1"
  [ $merged = 1 ] || return 0
  case "$1" in
    /usr/bin/* | /usr/sbin/* | /usr/lib/* | /usr/lib64/*) echo "${1#/usr}" ;;
    /bin/* | /sbin/* | /lib/* | /lib64/*) echo "/usr$1" ;;
  esac
}

# programs: NAME<TAB>FOUND<TAB>RESOLVED (FOUND empty: not found)
n=0
declare -A seen=()
while read -r prog _; do
  [ -n "$prog" ] || continue
  [ -z "${seen[$prog]:-}" ] || continue
  seen[$prog]=1
  n=$((n + 1))
  # type -P: the PATH lookup of command -v, but never a shell builtin
  # (command -v kill says "kill"; the tests run /usr/bin/kill too)
  if [[ $prog == /* ]]; then
    found=; [ -f "$prog" ] && [ -x "$prog" ] && found=$prog
  else
    found=$(type -P -- "$prog" || true)
  fi
  resolved=
  if [ -n "$found" ]; then
    resolved=$(readlink -f -- "$found")
    { names_of "$found"; names_of "$resolved"; } >>"$W/paths"
  fi
  printf '%s\t%s\t%s\n' "$prog" "$found" "$resolved" >>"$W/programs"
done < <(sed -e 's/#.*//' "$LIST")
[ $n -gt 0 ] || fail "$LIST lists no programs"

# one dpkg -S for all paths (it exits 1 when some path is no package's: fine)
touch "$W/paths"
sort -u "$W/paths" -o "$W/paths"
if [ -s "$W/paths" ]; then
  xargs -d '\n' dpkg-query -S <"$W/paths" >"$W/owners" 2>/dev/null || true
fi
touch "$W/owners"
# every package dpkg knows, with what the closure needs
dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Essential}\t${Provides}\t${Pre-Depends}\t${Depends}\n' \
  >"$W/status"
printf '%s\n' "$packages" >"$W/listed"

rc=0
"$PY" - "$W" "$VERBOSE" <<'PY' || rc=$?
import os, sys

W, verbose = sys.argv[1], sys.argv[2] == "1"

def name_of(atom):
    """'libc6:any (>= 2.34)' -> 'libc6': version constraints are dpkg's job
    (every installed package's dependencies are satisfied, or dpkg would say
    so), arch qualifiers (:any, :native, :amd64) name the same package."""
    return atom.strip().split(" ", 1)[0].split("(", 1)[0].split(":", 1)[0]

def groups(field):
    """'a | b (>= 1), c' -> [['a', 'b'], ['c']]"""
    return [[name_of(a) for a in g.split("|") if a.strip()] for g in field.split(",") if g.strip()]

installed, essential, deps, providers = set(), set(), {}, {}
for line in open(os.path.join(W, "status")):
    f = line.rstrip("\n").split("\t")
    if len(f) < 6:
        continue
    pkg, abbrev, ess, provides, predeps, depends = f[:6]
    if abbrev[1:2] != "i":  # "ii", "hi": installed; "rc", "un", ...: not
        continue
    installed.add(pkg)
    if ess == "yes":
        essential.add(pkg)
    deps.setdefault(pkg, []).extend(groups(predeps) + groups(depends))
    for g in groups(provides):
        for v in g:
            providers.setdefault(v, set()).add(pkg)

def satisfiers(name):
    """The installed packages that are NAME, or provide the virtual NAME."""
    s = set(providers.get(name, ()))
    if name in installed:
        s.add(name)
    return s

listed = [l.strip() for l in open(os.path.join(W, "listed")) if l.strip()]
problems = []
for p in listed:
    if p not in installed:
        problems.append("install-deps.sh lists %s, which is not installed: run scripts/install-deps.sh" % p)

# The closure: the listed packages, and every Essential one (Debian installs
# those on every system, and dpkg never removes them without being forced:
# see Debian Policy 3.8), then what they Depend or Pre-Depend on, recursively.
# In an alternative "a | b" the first one that something installed satisfies
# is followed (the one apt would install on a fresh machine, unless it cannot),
# with every installed package providing it when it is virtual.
why = {}  # package -> who pulls it in (None: listed, or Essential)
todo = []
for p in listed:
    if p in installed and p not in why:
        why[p] = None
        todo.append(p)
for p in sorted(essential):
    if p not in why:
        why[p] = None
        todo.append(p)
while todo:
    p = todo.pop()
    for g in deps.get(p, ()):
        for alt in g:
            s = satisfiers(alt)
            if s:
                for q in sorted(s):
                    if q not in why:
                        why[q] = p
                        todo.append(q)
                break

def chain(p):
    c = [p]
    while why.get(c[-1]) is not None and len(c) < 50:
        c.append(why[c[-1]])
    return c

def reason(p):
    c = chain(p)
    root = c[-1]
    base = "listed in install-deps.sh" if root in listed else "Essential"
    if len(c) == 1:
        return base
    return "pulled in by " + " <- ".join(c[1:]) + " (" + base + ")"

owners = {}
for line in open(os.path.join(W, "owners")):
    line = line.rstrip("\n")
    if line.startswith("diversion by") or line.startswith("local diversion"):
        continue
    i = line.find(": /")
    if i < 0:
        continue
    path = line[i + 2:]
    for p in line[:i].split(","):
        owners.setdefault(path, set()).add(p.strip().split(":", 1)[0])

merged = os.path.samefile("/bin", "/usr/bin") and os.path.samefile("/sbin", "/usr/sbin")
def names(path):
    out = [path]
    if merged:
        for d in ("/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib64/"):
            if path.startswith(d):
                out.append(path[4:])
        for d in ("/bin/", "/sbin/", "/lib/", "/lib64/"):
            if path.startswith(d):
                out.append("/usr" + path)
    return out

def owners_of(path):
    s = set()
    for n in names(path):
        s |= owners.get(n, set())
    return s

n = 0
for line in open(os.path.join(W, "programs")):
    prog, found, resolved = line.rstrip("\n").split("\t")
    n += 1
    if not found:
        elsewhere = [d + "/" + prog for d in ("/usr/local/sbin", "/usr/local/bin")
                     if not prog.startswith("/") and os.access(d + "/" + prog, os.X_OK)]
        problems.append("%s is not installed%s: install the package that has it and add that to "
                        "scripts/install-deps.sh" % (
                            prog, " (only " + elsewhere[0] + ", which no Debian package installs)" if elsewhere
                            else "" if prog.startswith("/") else " (not in /usr/sbin:/usr/bin:/sbin:/bin)"))
        continue
    what = found if resolved == found else "%s (-> %s)" % (found, resolved)
    # the name it is run by, when a package ships that, and the file that runs
    need = []
    for path in dict.fromkeys([found, resolved]):
        o = owners_of(path)
        if o:
            need.append((path, o))
    if not need:
        problems.append("%s is %s, which no Debian package installed (put there by hand?): "
                        "use the program from a Debian package and add that to scripts/install-deps.sh"
                        % (prog, what))
        continue
    for path, o in need:
        ok = sorted(p for p in o if p in why)
        if ok:
            if verbose:
                print("provenance: ok %s is %s from %s, %s" % (prog, what, ok[0], reason(ok[0])))
            continue
        pk = sorted(o)
        problems.append("%s is %s from package %s, which install-deps.sh neither lists nor pulls in: "
                        "add %s to scripts/install-deps.sh" % (prog, what, " or ".join(pk), pk[0]))
        break

for p in problems:
    print("provenance: " + p)
if problems:
    sys.exit(1)
print("provenance: %d programs, all from packages install-deps.sh installs" % n)
PY
exit $rc
