#!/usr/bin/env bash
# Installs what zbuild and its tests need on Debian 12 (as root): the OCI
# runtimes, busybox-static for test base images, the registry, skopeo and
# buildah for interoperability checks, docker.io (a Docker engine for the
# conformance suite and the benchmark), git for ADD of git sources.
# Idempotent and quick when everything is already there.
set -euo pipefail
pkgs=(crun runc busybox-static docker-registry skopeo buildah docker.io git tmux ca-certificates)
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
# keep_stopped SERVICE...: stop and disable services a Debian package
# starts on install. The tests start their own registry on 127.0.0.1 and
# their own dockerd (private data root, no iptables, no bridge), so the
# packaged ones must not run: they listen on all interfaces or rewrite the
# host's firewall and network.
keep_stopped() {
  local s
  for s in "$@"; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now "$s" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$s" ]; then
      "/etc/init.d/$s" stop >/dev/null 2>&1 || true
      update-rc.d "$s" disable >/dev/null 2>&1 || true
    fi
  done
}
keep_stopped docker-registry docker.socket docker.service docker containerd
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH=/usr/local/go/bin:$PATH
fi
go version >/dev/null
