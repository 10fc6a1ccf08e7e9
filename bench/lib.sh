# bench/lib.sh - shared by the shell benchmarks (source me).

# bench_daemon BUILD DIR: a private vmbatchd with only the control plane
# (node = no, root its admin, DIR its storage), initialised and listening on
# DIR/s.sock (exported as VMBATCH_SOCKET); its pid is in DIR/pid.
bench_daemon() {
  local build=$1 dir=$2
  printf 'socket = %s/s.sock\ndatabase = %s/db/vm.db\nadmin_user = root\nadmin_stordir = %s\nnode = no\nlog_level = warning\n' \
    "$dir" "$dir" "$dir" >"$dir/conf"
  "$build/src/daemon/vmbatchd" -c "$dir/conf" --init >/dev/null
  "$build/src/daemon/vmbatchd" -c "$dir/conf" --pidfile "$dir/pid" &
  for _ in $(seq 50); do [ -S "$dir/s.sock" ] && break; sleep 0.05; done
  export VMBATCH_SOCKET=$dir/s.sock
}
