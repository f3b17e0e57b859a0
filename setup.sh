#!/usr/bin/env bash
# zbuild's first command on a fresh Debian 12 machine (as root): installs what
# is needed, builds zbuild into /usr/local/bin, makes a busybox base image
# offline from Debian's busybox-static, then builds and runs the example.
set -euo pipefail
cd "$(dirname "$0")"
export PATH=/usr/local/go/bin:$PATH
bash scripts/deps.sh
echo "== building zbuild"
go build -o bin/zbuild ./cmd/zbuild
install -m 0755 bin/zbuild /usr/local/bin/zbuild
echo "== making the base image localhost/busybox:latest (offline, from /bin/busybox)"
go run ./internal/testenv/cmd/mkbase -store "${ZBUILD_ROOT:-/var/lib/zbuild}" -tag localhost/busybox:latest
echo "== building examples/hello"
zbuild build --progress plain -t hello:latest examples/hello
echo "== running hello:latest"
zbuild run hello:latest
