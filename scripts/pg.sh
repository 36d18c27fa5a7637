# Sourced by scripts/test.sh and scripts/bench-wrk.sh: starts a throwaway
# PostgreSQL cluster (loopback only, a free port, fsync on) in a temporary
# directory, installing the server with apt-get if its binaries are
# missing, and stops it and removes the directory when the calling script
# exits. It sets $port, and $PG_WHO (the name messages start with).
PG_WHO=${PG_WHO:-pg.sh}

# as_root runs a command as root: directly, or with sudo if there is one.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "$PG_WHO: need root to run: $*" >&2
		return 1
	fi
}

# pg_bindir prints the newest installed PostgreSQL server's bin directory.
pg_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		echo "$d"
	fi
}

bindir=$(pg_bindir)
if [ -z "$bindir" ]; then
	echo "$PG_WHO: PostgreSQL server not found; installing it with apt-get" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	bindir=$(pg_bindir)
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
	echo "$PG_WHO: FATAL: no PostgreSQL server (pg_ctl) under /usr/lib/postgresql/*/bin, even after apt-get install postgresql" >&2
	exit 1
fi
# Tests that start servers of their own (pgtest.Replicated) use the same binaries.
export HULIAN_TEST_PG_BINDIR="$bindir"

# PostgreSQL refuses to run as root: then the cluster belongs to the
# postgres system user.
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
	fi
	pg() { (cd "$tmp" && runuser -u postgres -- "$@"); }
	tmp=$(mktemp -d /tmp/hulian-pg.XXXXXX)
	chown postgres: "$tmp"
else
	pg() { "$@"; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/hulian-pg.XXXXXX")
fi
data=$tmp/data
log=$tmp/postgres.log

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -f "$data/postmaster.pid" ]; then
		pg "$bindir/pg_ctl" stop -D "$data" -m immediate -w >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! pg "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$tmp/initdb.log" 2>&1; then
	cat "$tmp/initdb.log" >&2
	echo "$PG_WHO: FATAL: initdb failed" >&2
	exit 1
fi
mkdir -p "$tmp/socket"
if [ "$(id -u)" -eq 0 ]; then
	chown postgres: "$tmp/socket"
fi

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Pick a free port and start (the last setting in postgresql.conf
# wins, so a retry just appends again); another process may take the port between
# the check and the start, so try a few.
started=
for attempt in 1 2 3 4 5 6 7 8; do
	port=$((20000 + RANDOM % 40000))
	port_free "$port" || continue
	cat >>"$data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		port = $port
		unix_socket_directories = '$tmp/socket'
		fsync = on
		synchronous_commit = on
		max_connections = 200
		log_min_messages = warning
	EOF
	if pg "$bindir/pg_ctl" start -D "$data" -l "$log" -w -t 60 >/dev/null 2>&1; then
		started=1
		break
	fi
done
if [ -z "$started" ]; then
	cat "$log" >&2 || true
	echo "$PG_WHO: FATAL: could not start PostgreSQL" >&2
	exit 1
fi
for _ in $(seq 1 100); do
	if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
		break
	fi
	sleep 0.1
done
if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
	cat "$log" >&2 || true
	echo "$PG_WHO: FATAL: PostgreSQL does not accept connections on 127.0.0.1:$port" >&2
	exit 1
fi
echo "$PG_WHO: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $data"

