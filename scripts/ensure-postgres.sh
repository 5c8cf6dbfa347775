#!/usr/bin/env bash
# The PostgreSQL tests start a throwaway server from Debian's `postgresql` binaries. Install them
# when they are missing and we can (root with apt-get); otherwise say so: those tests then skip.
set -u
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL server binaries (Debian package postgresql) for the tests"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) \
    || echo "could not install postgresql: the PostgreSQL tests will skip"
else
  echo "no PostgreSQL server binaries and no way to install them: the PostgreSQL tests will skip"
fi
exit 0
