#!/usr/bin/env bash
# Installs what zbuild and its tests need on Debian 12 (as root): the OCI
# runtimes, busybox-static for test base images, the registry, skopeo and
# buildah for interoperability checks, git for ADD of git sources.
# Idempotent and quick when everything is already there.
set -euo pipefail
pkgs=(crun runc busybox-static docker-registry skopeo buildah git tmux ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian registry package starts a service listening on all interfaces;
# tests start their own on 127.0.0.1, so keep the packaged one stopped.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH=/usr/local/go/bin:$PATH
fi
go version >/dev/null
