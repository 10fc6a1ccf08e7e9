# bench/lib.sh - shared by the shell benchmarks (source me).

# bench_daemon BUILD DIR: a private vmbatchd with only the control plane
# (node = no), initialised and listening on DIR/s.sock (exported as
# VMBATCH_SOCKET); its pid is in DIR/pid. Its admin is BENCH_ADMIN (the
# system account daemon: admin_user is never root), with DIR/adm as storage;
# root still administers through the socket, but owns no vm: bench_admin CMD...
# runs a command as the admin.
BENCH_ADMIN=daemon
bench_admin() { runuser -u "$BENCH_ADMIN" -- env VMBATCH_SOCKET="$VMBATCH_SOCKET" "$@"; }
bench_daemon() {
  local build=$1 dir=$2
  install -d -o "$BENCH_ADMIN" -m 0755 "$dir/adm"
  printf 'socket = %s/s.sock\ndatabase = %s/db/vm.db\nadmin_user = %s\nadmin_stordir = %s/adm\nnode = no\nlog_level = warning\n' \
    "$dir" "$dir" "$BENCH_ADMIN" "$dir" >"$dir/conf"
  "$build/src/daemon/vmbatchd" -c "$dir/conf" --init >/dev/null
  "$build/src/daemon/vmbatchd" -c "$dir/conf" --pidfile "$dir/pid" &
  for _ in $(seq 50); do [ -S "$dir/s.sock" ] && break; sleep 0.05; done
  export VMBATCH_SOCKET=$dir/s.sock
}
