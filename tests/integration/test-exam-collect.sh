#!/bin/bash
# test-exam-collect.sh VMBATCHD VMBATCH STARTER SCRIPTS
# Issue 14's `vmbatch exam collect EXAM DIR`: a real vmbatchd (node role,
# dnsmasq, TCG guests) in a network namespace of the test, a teacher
# (admin_user ecteach) and two students (ecstud1, ecstud2) in a user group,
# an exam whose guests run and write to their discs, ended with exam stop.
#  - a student's collect is refused, and her DIR is not even made (control:
#    the teacher's is taken);
#  - while the exam runs: exit 3, the manifest lists both as running, no file;
#  - once sealed: exit 0, DIR made 0700, each copy's sha256 = the manifest's
#    = exam show's, the teacher's, 0400; manifest.csv parses (python3 csv)
#    to the right rows, manifest.json says the same, --json prints it;
#  - a symlink planted in DIR under a student's file name is not followed
#    (the link's target is unchanged, that member is reported, exit 1;
#    control: a plain cp into the same link writes through it);
#  - a second collect into the same DIR is refused, nothing overwritten;
#  - DIR a link, or writable by others: refused, nothing written in it
#    (control: the same folder 0700 is taken);
#  - a sealed disc that no longer matches its recorded sha256: its copy
#    removed, the member reported as a mismatch, exit 1 (control: the same
#    disc collected fine before it changed);
#  - every collect by the teacher is in the audit log, with its folder;
#  - exam show's console columns (console.activity, the gateway's report):
#    a student's own report refused and nothing changed, root's taken
#    (open, the last input), the close.
set -u
. "$(dirname "$0")/lib.sh"
VMBATCHD=$(realpath "$1"); VMAPP_BIN=$(realpath "$2"); STARTER=$(realpath "$3"); SCRIPTS=$(realpath "$4")
TEACHER=ecteach
STUDENTS=(ecstud1 ecstud2)
EXAM=coll
VMB_TEST_USERS="$TEACHER ${STUDENTS[*]}"
begin_node_test exam-collect python3 sha256sum

vb() { local u=$1; shift; as "$u" "$VMAPP_BIN" "$@"; }
home_of() { echo "/home/$1/vmb-exam-collect-$$"; }

start_node_vmbatchd && wait_for 15 eval 'v $TEACHER --ping >/dev/null 2>&1' ||
  { cat "$T/vmbatchd.log"; echo "Bail out! vmbatchd did not start"; exit 1; }
ok 0 "vmbatchd (node role, dnsmasq) started in namespace $NS"

setup() {
  local u dirs=()
  for u in "${STUDENTS[@]}"; do dirs+=("$u:$(home_of "$u")"); done
  exam_setup $TEACHER ecug 21 "$T/guest/base.qcow2" "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.disk=1 vmb.hold=-1" "${dirs[@]}"
}
setup; ok $? "setup: the teacher $TEACHER (admin_user), group ecug with ${STUDENTS[*]}, template tmpl"
out=$(vb $TEACHER exam create $EXAM --template tmpl --group ecug --start +10 --end +30 --no-selftest 2>&1)
ok $? "exam create: $out"
out=$(vb $TEACHER exam start $EXAM 2>&1); ok $? "exam start: $out"

show_json() { vb $TEACHER --json exam show $EXAM 2>/dev/null; }
member() { show_json | pyj "r=[x for x in m['members'] if x['user']=='$1']; print(r[0]['$2'] if r else '')"; }
# OUT: the teacher's own folder for the collections (DIRs are made in it)
OUT=$T/out
install -d -o $TEACHER -g "$(id -gn $TEACHER)" -m 0700 "$OUT"
collect() { vb $TEACHER exam collect $EXAM "$@"; }

# ---- a student's collect ----
SDIR=$(home_of ecstud1)/mine
expect_fail "a student's collect is refused" "only members of the admin group" -- vb ecstud1 exam collect $EXAM "$SDIR"
[ ! -e "$SDIR" ]; ok $? "and her DIR was not made ($SDIR)"

# ---- while the guests run ----
declare -A INST
maplist() { vb $TEACHER --json instance list 2>/dev/null; }
for u in "${STUDENTS[@]}"; do
  out=$(vb "$u" vm run "exam-$EXAM-$u" --isolate --no-wait 2>&1); ok $? "$u runs exam-$EXAM-$u: $(printf '%s' "$out" | head -1)"
done
for u in "${STUDENTS[@]}"; do
  vm=$(member "$u" vm)
  wait_for 120 eval '[ "$(maplist | pyj "print([i[\"state\"] for i in m if i[\"vm\"]=='"$vm"'][0])")" = running ]'
  ok $? "$u's instance is running"
  INST[$u]=$(maplist | pyj "print([i['id'] for i in m if i['vm']==$vm][0])")
  wait_for 120 grep -q VMB-DISK-WRITTEN "$T/state/jobs/instance-${INST[$u]}.serial"
  ok $? "$u's guest wrote to its disc (VMB-DISK-WRITTEN)"
done
# ---- console activity in exam show (what vmbatch-web reports: console.activity) ----
# act USER OPEN [, "input_ago_ms": N]: a report of connection 7 of ecstud1's instance
act() { rpc_as "$1" console.activity "{\"instance\": ${INST[ecstud1]}, \"conn\": 7, \"open\": $2${3:-}}"; }
out=$(act ecstud1 true ', "input_ago_ms": 0')
printf '%s' "$out" | pyj "sys.exit(0 if m['ok'] is False and m['error']['code']=='EPERM' else 1)"
ok $? "a student's own console.activity is refused: $(printf '%s' "$out" | head -c 200)"
[ "$(member ecstud1 console_open)" = False ] && [ "$(member ecstud1 console_input_at)" = None ]
ok $? "... and changes nothing: exam show has no console, no input for ecstud1"
t0=$(date +%s)
out=$(act root true ', "input_ago_ms": 0')
printf '%s' "$out" | pyj "sys.exit(0 if m['ok'] is True else 1)"; ok $? "control: root's (the gateway's) same report is taken"
at=$(member ecstud1 console_input_at)
[ "$(member ecstud1 console_open)" = True ] && [ "$at" -ge $((t0 - 1)) ] 2>/dev/null && [ "$at" -le $((t0 + 2)) ]
ok $? "exam show: ecstud1's console open, last input $((at - t0)) s from the report"
[ "$(member ecstud2 console_open)" = False ]; ok $? "ecstud2's console is not open"
vb $TEACHER exam show $EXAM | grep -P "^ecstud1\t.*\topen, input [0-9-]+ [0-9:]+\t" >/dev/null
ok $? "the text view shows it: $(vb $TEACHER exam show $EXAM | grep '^ecstud1' | tr -s ' ' | cut -c1-120)"
vb $TEACHER --json instance show "${INST[ecstud1]}" | pyj "sys.exit(0 if m['console_open'] is True and m['console_input_at']==$at else 1)"
ok $? "instance show --json says the same"
act root false >/dev/null
[ "$(member ecstud1 console_open)" = False ] && [ "$(member ecstud1 console_input_at)" = "$at" ]
ok $? "closed: not open, the last input kept"

out=$(collect "$OUT/early" 2>&1); rc=$?
[ $rc -eq 3 ]; ok $? "a collect while the exam runs exits 3 (incomplete): rc=$rc, $(printf '%s' "$out" | tail -1)"
python3 - "$OUT/early" <<'PY'
import csv, json, os, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/manifest.csv", newline="")))
j = json.load(open(d + "/manifest.json"))
ok = sorted(os.listdir(d)) == ["manifest.csv", "manifest.json"] and len(rows) == 2 and \
     all(r["state"] == "running" and r["file"] == "" and r["sha256"] == "" for r in rows) and \
     all(m["file"] is None and m["state"] == "running" for m in j["members"])
sys.exit(0 if ok else 1)
PY
ok $? "its manifest lists both students as running, with no file, and DIR holds nothing else"

# ---- the end ----
out=$(vb $TEACHER exam stop $EXAM 2>&1); ok $? "exam stop: $out"
for u in "${STUDENTS[@]}"; do
  wait_for 120 eval '[ "$(member '"$u"' state)" = sealed ]'; ok $? "$u's hand-in is sealed"
done

# ---- the collection ----
DIR=$OUT/final
out=$(collect "$DIR" 2>&1); rc=$?
[ $rc -eq 0 ]; ok $? "exam collect $EXAM $DIR: rc=$rc"
diag "$out"
[ "$(stat -c '%U %a' "$DIR" 2>/dev/null)" = "$TEACHER 700" ]; ok $? "DIR was made, the teacher's, 0700 ($(stat -c '%U %a' "$DIR" 2>/dev/null))"
for u in "${STUDENTS[@]}"; do
  f=$DIR/$u.qcow2 sha=$(member "$u" sha256)
  [ -n "$sha" ] && [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$sha" ]; ok $? "$u.qcow2's sha256 is exam show's ($sha)"
  [ "$(stat -c '%U %a' "$f")" = "$TEACHER 400" ]; ok $? "$u.qcow2 is the teacher's, 0400 ($(stat -c '%U %a' "$f"))"
  cmp -s "$f" "$(member "$u" sealed_path)"; ok $? "$u.qcow2 is the sealed disc, byte for byte"
done
show_json >"$T/show.json"
python3 - "$DIR" "$T/show.json" <<'PY'
import csv, datetime, json, sys
d, show = sys.argv[1], json.load(open(sys.argv[2]))
raw = open(d + "/manifest.csv", newline="").read()
rows = list(csv.reader(raw.splitlines(keepends=True)))
cols = ["student", "uid", "vm", "file", "sha256", "sealed_at", "late_minutes", "extra_minutes", "state", "error"]
bad = []
if rows[0] != cols: bad.append("header %r" % rows[0])
if not raw.endswith("\r\n"): bad.append("not CRLF")
got = {r[0]: dict(zip(cols, r)) for r in rows[1:]}
j = {m["student"]: m for m in json.load(open(d + "/manifest.json"))["members"]}
if len(rows) != 3 or len(got) != 2: bad.append("%d rows" % (len(rows) - 1))
for m in show["members"]:
    r = got.get(m["user"], {})
    at = datetime.datetime.fromtimestamp(m["sealed_at"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    want = {"student": m["user"], "uid": str(m["uid"]), "vm": m["vm_name"], "file": m["user"] + ".qcow2",
            "sha256": m["sha256"], "sealed_at": at, "late_minutes": str(m["late_minutes"]),
            "extra_minutes": str(m["extra_minutes"]), "state": "sealed", "error": ""}
    if r != want: bad.append("csv %s: %r != %r" % (m["user"], r, want))
    jw = dict(want, uid=m["uid"], late_minutes=m["late_minutes"], extra_minutes=m["extra_minutes"], error=None)
    if j.get(m["user"]) != jw: bad.append("json %s: %r" % (m["user"], j.get(m["user"])))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
ok $? "manifest.csv (python3 csv, CRLF) and manifest.json have one right row per student (exam show's values)"

# on a terminal, the progress of a large copy (16 MiB and more) on stderr
size1=$(stat -c %s "$(member ecstud1 sealed_path)")
diag "sealed discs: $size1 and $(stat -c %s "$(member ecstud2 sealed_path)") bytes"
if [ "$size1" -ge $((16 << 20)) ] && command -v script >/dev/null; then
  as $TEACHER script -qec "$VMAPP_BIN exam collect $EXAM $OUT/tty" /dev/null >"$T/tty.out" 2>&1
  grep -q "ecstud1.qcow2: [0-9]* of [0-9]* MiB (100%)" "$T/tty.out"
  ok $? "on a terminal (script(1)) the copy's progress is shown: $(tr '\r' '\n' <"$T/tty.out" | grep -m1 MiB)"
  collect "$OUT/notty" 2>&1 | grep -q "MiB"; [ $? -ne 0 ]; ok $? "control: not on a terminal, no progress"
else
  tap_n=$((tap_n + 1)); echo "ok $tap_n - progress on a terminal # SKIP the sealed disc is under 16 MiB ($size1 bytes) or script(1) is missing"
fi

# --json prints the manifest
out=$(collect "$OUT/j" --json 2>/dev/null); rc=$?
[ $rc -eq 0 ] && printf '%s' "$out" | pyj "
f=json.load(open('$OUT/j/manifest.json'))
sys.exit(0 if m==f and len(m['members'])==2 and m['exam']=='$EXAM' else 1)"
ok $? "collect --json prints the manifest (manifest.json's content, rc=$rc)"

# ---- a second collect into the same DIR ----
before=$(cd "$DIR" && stat -c '%n %s %Y %i' * | sort)
expect_fail "a second collect into the same DIR is refused" "already holds manifest.json" -- collect "$DIR"
[ "$(cd "$DIR" && stat -c '%n %s %Y %i' * | sort)" = "$before" ]; ok $? "and nothing in DIR changed"

# ---- a link planted under a student's file name ----
sealed1=$(member ecstud1 sealed_path)
plant() { # plant DIR: DIR (the teacher's, 0700) with ecstud1.qcow2 -> $OUT/target
  as $TEACHER mkdir -m 0700 "$1" && as $TEACHER ln -s "$OUT/target" "$1/ecstud1.qcow2" &&
    as $TEACHER sh -c "echo untouched >'$OUT/target'"
}
plant "$OUT/ctl"
as $TEACHER cp "$sealed1" "$OUT/ctl/ecstud1.qcow2" 2>/dev/null
[ "$(sha256sum <"$OUT/target" | cut -d' ' -f1)" = "$(member ecstud1 sha256)" ]
ok $? "control: a plain cp onto the planted link writes the sealed disc through it into its target"
rm -f "$OUT/target"
plant "$OUT/planted"
out=$(collect "$OUT/planted" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "ecstud1.*not collected.*a file (or a link) of that name is in the folder"
ok $? "collect into a folder with the planted link: ecstud1 not collected, rc=$rc"
diag "$out"
[ "$(cat "$OUT/target")" = untouched ] && [ -L "$OUT/planted/ecstud1.qcow2" ]
ok $? "the link was not followed: its target is untouched, the link still a link"
[ "$(sha256sum <"$OUT/planted/ecstud2.qcow2" | cut -d' ' -f1)" = "$(member ecstud2 sha256)" ] &&
  python3 -c "import csv,sys; r={x['student']:x for x in csv.DictReader(open(sys.argv[1],newline=''))}
sys.exit(0 if r['ecstud1']['file']=='' and 'link' in r['ecstud1']['error'] and r['ecstud2']['file']=='ecstud2.qcow2' else 1)" \
  "$OUT/planted/manifest.csv"
ok $? "ecstud2 is collected all the same; the manifest gives ecstud1 no file and the reason"

# ---- DIR itself ----
as $TEACHER ln -s "$OUT/final" "$OUT/alias"
expect_fail "DIR a link: refused" "not a folder \(or a link\)" -- collect "$OUT/alias"
as $TEACHER mkdir -m 0700 "$OUT/open" && chmod 0777 "$OUT/open"
expect_fail "DIR writable by others: refused" "writable by others" -- collect "$OUT/open"
[ -z "$(ls -A "$OUT/open")" ]; ok $? "nothing was written in it"
chmod 0700 "$OUT/open"
out=$(collect "$OUT/open" 2>&1); ok $? "control: the same folder 0700 is taken"

# ---- a sealed disc that changed ----
sealed2=$(member ecstud2 sealed_path)
printf 'tampered' >>"$sealed2"
out=$(collect "$OUT/tampered" 2>&1); rc=$?
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "ecstud2.*sha256 mismatch"; ok $? "a sealed disc that changed: reported as a mismatch, rc=$rc"
diag "$(printf '%s' "$out" | grep ecstud2)"
[ ! -e "$OUT/tampered/ecstud2.qcow2" ] && [ -f "$OUT/tampered/ecstud1.qcow2" ]
ok $? "its copy was removed, the other student's is there"
python3 -c "import json,sys; r={x['student']:x for x in json.load(open(sys.argv[1]))['members']}
sys.exit(0 if r['ecstud2']['file'] is None and 'mismatch' in r['ecstud2']['error'] and r['ecstud2']['state']=='sealed' else 1)" \
  "$OUT/tampered/manifest.json"
ok $? "manifest.json: ecstud2 sealed, no file, the mismatch as the error"

# ---- the audit log ----
n=$(vb $TEACHER --json audit list --limit 200 | pyj "
print(sum(1 for a in m if a.get('op')=='exam.collect' and a.get('object','').endswith(' $EXAM')
          and (a.get('detail') or {}).get('dir','').startswith('$OUT/')))")
want=9; [ -e "$OUT/tty" ] && want=11
[ "$n" = $want ]; ok $? "the audit log has the teacher's $want collect requests (the refused ones too), each with its folder ($n)"
n=$(vb $TEACHER --json audit list --limit 200 | pyj "print(sum(1 for a in m if a.get('op')=='exam.collect' and a.get('uid')==$(id -u ecstud1)))")
[ "$n" = 0 ]; ok $? "and none of the student's refused one ($n)"
tap_done
