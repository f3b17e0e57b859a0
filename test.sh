#!/usr/bin/env bash
# Runs the whole test suite: formatting, vet, staticcheck, unit and end-to-end
# tests (real crun/runc, overlayfs and registries), and a bounded fuzz run of
# the Dockerfile front-end. Run as root on Debian 12; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")"
export PATH=/usr/local/go/bin:$HOME/go/bin:$PATH
bash scripts/deps.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed on:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
if ! command -v staticcheck >/dev/null 2>&1; then
  GOFLAGS= go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
staticcheck ./...

echo "== fuzz (bounded)"
go test ./frontend/dockerfile -run '^$' -fuzz '^FuzzConvert$' -fuzztime "${FUZZTIME:-30s}"

echo "== go test"
go test -count=1 -timeout 20m ./... 2>&1 | tee /tmp/zbuild-test.log
# A closing summary line CI can read.
passed=$(grep -c '^ok ' /tmp/zbuild-test.log || true)
failed=$(grep -c '^FAIL' /tmp/zbuild-test.log || true)
echo "packages: $passed passed, $failed failed"
