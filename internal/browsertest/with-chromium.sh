#!/usr/bin/env bash
# with-chromium.sh CMD...
#
# Runs CMD with a Chromium for the chat page's browser tests (see
# internal/browsertest), exported as CHROMIUM. The browser is, in order:
#   1. CHROMIUM, when already set to an executable;
#   2. chromium, chromium-browser, google-chrome or google-chrome-stable on
#      PATH;
#   3. as root with apt-get: Debian's chromium package, installed, then 2.
# With none of these, CI=true exits 1; otherwise CMD runs without it and the
# browser tests skip, loudly.
set -euo pipefail

say() { echo "with-chromium: $*" >&2; }

if [ $# -eq 0 ]; then
	say "usage: with-chromium.sh CMD [ARG...]"
	exit 2
fi

find_chromium() {
	if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
		echo "$CHROMIUM"
		return 0
	fi
	local name
	for name in chromium chromium-browser google-chrome google-chrome-stable; do
		if command -v "$name" >/dev/null 2>&1; then
			command -v "$name"
			return 0
		fi
	done
	return 1
}

path=$(find_chromium || true)
if [ -z "$path" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	say "no Chromium; installing Debian's chromium package with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq chromium >&2
	path=$(find_chromium || true)
fi

if [ -z "$path" ]; then
	if [ "${CI:-}" = true ]; then
		say "no Chromium: none on PATH, no CHROMIUM, and cannot install one"
		exit 1
	fi
	say "no Chromium available; the browser tests of the chat page will be SKIPPED"
	exec "$@"
fi

export CHROMIUM="$path"
say "using $("$path" --version 2>/dev/null || echo "$path")"
exec "$@"
