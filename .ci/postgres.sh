# A throwaway PostgreSQL 15 server for the test suite, with pgvector (sourced by .ci/run).
# The recipe of /work/shared/notes/dependencies.md §6: Debian's postgresql-15, pgvector built from
# Debian trixie's source package (bookworm has no binary). The server runs from a temporary
# directory on its own port (never the development server's 55432) and is stopped by ci_pg_stop.
# Data is thrown away at the end, so durability is off (fsync, synchronous_commit): faster tests.

CI_PG_PORT=${CI_PG_PORT:-55433}
CI_PG_BIN=/usr/lib/postgresql/15/bin
CI_PG_ROOT=""

ci_pg_install() {
  # Only what is missing: on a machine that has it all this changes nothing.
  local need=""
  [ -x "$CI_PG_BIN/initdb" ] || need=1
  if [ ! -f /usr/lib/postgresql/15/lib/vector.so ]; then
    dpkg -s postgresql-server-dev-15 dpkg-dev >/dev/null 2>&1 || need=1
  fi
  if [ -n "$need" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql-15 postgresql-server-dev-15 dpkg-dev >/dev/null
  fi
  if [ ! -f /usr/lib/postgresql/15/lib/vector.so ]; then
    local a mirror o
    a=$(mktemp -d); mkdir -p "$a/lists/partial" "$a/src"
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)   # the machine's own mirror
    printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" > "$a/src.sources"
    o="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$a -o Dir::State::Lists=$a/lists"
    # shellcheck disable=SC2086
    apt-get $o update -qq
    # shellcheck disable=SC2086
    (cd "$a/src" && apt-get $o source --download-only pgvector 2>/dev/null && tar xzf pgvector_*.orig.tar.gz)
    make -s -C "$a"/src/pgvector-*/ -j2 OPTFLAGS="" >/dev/null 2>&1
    make -s -C "$a"/src/pgvector-*/ install >/dev/null 2>&1
    rm -rf "$a"
  fi
}

_ci_pg_as() {  # initdb and pg_ctl refuse to run as root: run them as the postgres user then
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ci_pg_start() {
  CI_PG_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/swarmstore-ci-pg.XXXXXX")
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$CI_PG_ROOT"; fi
  _ci_pg_as "$CI_PG_BIN/initdb" -D "$CI_PG_ROOT/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  _ci_pg_as "$CI_PG_BIN/pg_ctl" -D "$CI_PG_ROOT/data" -l "$CI_PG_ROOT/server.log" -w \
    -o "-p $CI_PG_PORT -k $CI_PG_ROOT -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  psql -h 127.0.0.1 -p "$CI_PG_PORT" -U postgres -qAtc "CREATE DATABASE swarmstore_test"
  psql -h 127.0.0.1 -p "$CI_PG_PORT" -U postgres -d swarmstore_test -qAtc "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
  export SWARMSTORE_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$CI_PG_PORT/swarmstore_test"
}

ci_pg_stop() {
  if [ -n "$CI_PG_ROOT" ] && [ -d "$CI_PG_ROOT/data" ]; then
    _ci_pg_as "$CI_PG_BIN/pg_ctl" -D "$CI_PG_ROOT/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "$CI_PG_ROOT" ]; then rm -rf "$CI_PG_ROOT"; fi
  CI_PG_ROOT=""
}
