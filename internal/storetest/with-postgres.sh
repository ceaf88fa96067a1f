#!/usr/bin/env bash
# with-postgres.sh CMD...
#
# Runs CMD with a PostgreSQL server for the store tests (see storetest):
# exports TEST_DATABASE_URL and REQUIRE_POSTGRES=1, so a missing server is a
# failure rather than a skipped half (Go's storetest and test/e2e's
# cluster.test.mjs, which needs psql, read both). The server is, in order:
#   1. TEST_DATABASE_URL, when already set;
#   2. a server answering on 127.0.0.1:5432 (user postgres, then root, trust
#      auth); TESTPG_SKIP_LOCAL=1 skips this probe;
#   3. a throwaway cluster made with the installed PostgreSQL binaries
#      (/usr/lib/postgresql/*/bin or initdb on PATH) on a free port, stopped
#      and removed when CMD ends;
#   4. as root with apt-get: apt-get install postgresql, then 3.
# With none of these, CI=true (or REQUIRE_POSTGRES=1) exits 1; otherwise CMD
# runs without PostgreSQL and the tests skip that half, loudly.
set -euo pipefail

say() { echo "with-postgres: $*" >&2; }

if [ $# -eq 0 ]; then
	say "usage: with-postgres.sh CMD [ARG...]"
	exit 2
fi

# port_open HOST PORT: something accepts TCP connections there.
port_open() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

run_cmd() {
	export REQUIRE_POSTGRES=1
	"$@"
}

# 1. An explicit server.
if [ -n "${TEST_DATABASE_URL:-}" ]; then
	say "using TEST_DATABASE_URL ($(sed -E 's#(://[^:/@]*):[^@]*@#\1:xxxxx@#' <<<"$TEST_DATABASE_URL"))"
	run_cmd "$@"
	exit
fi

# 2. A local server on the default port.
if [ "${TESTPG_SKIP_LOCAL:-}" != 1 ] && port_open 127.0.0.1 5432; then
	if command -v psql >/dev/null 2>&1; then
		for user in postgres root; do
			url="postgres://$user@127.0.0.1:5432/postgres?sslmode=disable"
			if PGCONNECT_TIMEOUT=5 psql "$url" -Atqc 'SELECT 1' >/dev/null 2>&1; then
				export TEST_DATABASE_URL="$url"
				say "using the server on 127.0.0.1:5432 as $user"
				run_cmd "$@"
				exit
			fi
		done
		say "127.0.0.1:5432 answers but refuses users postgres and root; starting a throwaway cluster"
	else
		# No psql to pick the user with: the tests probe postgres, then root.
		say "using the server on 127.0.0.1:5432 (no psql here; the tests pick user postgres or root)"
		run_cmd "$@"
		exit
	fi
fi

# 3. A throwaway cluster.
find_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return 0
	fi
	return 1
}

bindir=$(find_bindir || true)
if [ -z "$bindir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	say "no PostgreSQL binaries; installing the postgresql package with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
	bindir=$(find_bindir || true)
fi

if [ -z "$bindir" ]; then
	if [ "${CI:-}" = true ] || [ "${REQUIRE_POSTGRES:-}" = 1 ]; then
		say "no PostgreSQL: none on 127.0.0.1:5432, no TEST_DATABASE_URL, no initdb, and cannot install one"
		exit 1
	fi
	say "no PostgreSQL available; running without it, the PostgreSQL halves of the store tests will be SKIPPED"
	"$@"
	exit
fi

# initdb refuses to run as root: run the cluster as an unprivileged user.
pguser=""
if [ "$(id -u)" = 0 ]; then
	if id postgres >/dev/null 2>&1; then
		pguser=postgres
	else
		pguser=companyapi-testpg
		if ! id "$pguser" >/dev/null 2>&1; then
			useradd --system --no-create-home --shell /usr/sbin/nologin "$pguser" >&2
		fi
	fi
fi

as_pg() {
	if [ -z "$pguser" ]; then
		"$@"
	elif command -v runuser >/dev/null 2>&1; then
		runuser -u "$pguser" -- "$@"
	else
		su -s /bin/bash "$pguser" -c "$(printf '%q ' "$@")"
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/companyapi-pg.XXXXXX")
cleanup() {
	local rc=$?
	if [ -f "$tmp/data/postmaster.pid" ]; then
		as_pg "$bindir/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -n "$pguser" ]; then
	chown "$pguser" "$tmp"
fi

if ! as_pg "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1; then
	say "initdb failed:"
	cat "$tmp/initdb.log" >&2
	exit 1
fi

started=""
for _ in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	if port_open 127.0.0.1 "$port"; then
		continue
	fi
	if as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $tmp -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		start >/dev/null; then
		started=$port
		break
	fi
done
if [ -z "$started" ]; then
	say "could not start a throwaway cluster:"
	cat "$tmp/server.log" >&2 || true
	exit 1
fi

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$started/postgres?sslmode=disable"
# The cluster's own client binaries first on PATH: the e2e suite creates its
# database with psql, which /usr/lib/postgresql/*/bin holds but PATH may not.
export PATH="$bindir:$PATH"
say "using a throwaway PostgreSQL $("$bindir/postgres" --version | sed -E "s/.*\(PostgreSQL\) ([^ ]+).*/\1/") cluster on 127.0.0.1:$started (removed on exit)"
set +e
run_cmd "$@"
rc=$?
set -e
exit "$rc"
