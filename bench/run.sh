#!/usr/bin/env bash
# Benchmarks zbuild against buildah (and docker, where a Docker engine runs)
# on the cases of ../shared/bench/cases, in three scenarios:
#   cold  - every cache, store and base image removed
#   warm  - rebuild, nothing changed
#   touch - rebuild after changing the one file each Dockerfile names
# and prints the median of N runs per tool and the ratio zbuild/peer, all
# from this one run (absolute times vary between machines: compare ratios).
#
# usage: sudo bench/run.sh [-n RUNS] [-c "01 02 04"] [-s "cold warm touch"] [-p "buildah docker"]
# buildah runs with runc: Debian's crun 1.8 refuses hybrid cgroup v1/v2 hosts.
# docker: an engine at $DOCKER_HOST, else a private dockerd (apt-get install docker.io).
# Needs root, Debian's docker-registry, buildah, debootstrap (case 05), network
# to the Debian mirror for case 05 only. Base images are made locally and
# served from a registry on 127.0.0.1:5000 (started here if none answers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cases_src=${CASES_DIR:-$top/../shared/bench/cases}
runs=3
only="01 02 03 04 05 06"
scenarios="cold warm touch"
peers="buildah docker"
while getopts "n:c:s:p:" o; do
  case $o in
    n) runs=$OPTARG ;; c) only=$OPTARG ;; s) scenarios=$OPTARG ;; p) peers=$OPTARG ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
  esac
done
export PATH=/usr/local/go/bin:$PATH
work=${BENCH_WORK:-/var/tmp/zbuild-bench}
mkdir -p "$work"
log=$work/bench.log
: >"$log"

echo "building zbuild" >&2
(cd "$top" && go build -o "$work/zbuild" ./cmd/zbuild)
zb=$work/zbuild

# --- base images on 127.0.0.1:5000 -------------------------------------------
reg=127.0.0.1:5000
if ! curl -fsS "http://$reg/v2/" >/dev/null 2>&1; then
  echo "starting docker-registry on $reg" >&2
  mkdir -p "$work/registry"
  cat >"$work/registry/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry/data}, delete: {enabled: true}}
http: {addr: $reg}
YML
  docker-registry serve "$work/registry/config.yml" >>"$work/registry/log" 2>&1 &
  echo $! >"$work/registry/pid"
  for _ in $(seq 50); do curl -fsS "http://$reg/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
fi
if ! curl -fsS "http://$reg/v2/busybox/manifests/latest" -H 'Accept: application/vnd.oci.image.manifest.v1+json' >/dev/null 2>&1; then
  (cd "$top" && go run ./internal/testenv/cmd/mkbase -push "$reg/busybox:latest")
fi
if [[ " $only " == *" 05 "* ]] && ! curl -fsS "http://$reg/v2/debian/manifests/bookworm" -H 'Accept: application/vnd.oci.image.manifest.v1+json' >/dev/null 2>&1; then
  echo "making debian:bookworm with debootstrap (needs the Debian mirror)" >&2
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  if [ ! -x "$work/debian/bin/bash" ]; then
    rm -rf "$work/debian"
    debootstrap --variant=minbase bookworm "$work/debian" >>"$log" 2>&1
  fi
  (cd "$top" && go run ./internal/testenv/cmd/mkbase -rootfs "$work/debian" -push "$reg/debian:bookworm")
fi

# --- contexts: copies of the cases, so "touch" never edits shared/ -----------
declare -A touchfile=([01]=hello.txt [02]=input.txt [03]=files/d00/f00000.txt [04]=src/main.txt [05]=app.txt [06]=src/main.txt)
ctx_of() { echo "$work/ctx/$1"; }
for c in $only; do
  src=$(echo "$cases_src"/"$c"-*)
  dst=$(ctx_of "$c")
  mkdir -p "$dst"
  cp -a "$src/." "$dst/"
  if [ "$c" = 03 ]; then bash "$src/gen.sh" "$dst" >/dev/null; fi
done

# --- tools ---------------------------------------------------------------------
have() { command -v "$1" >/dev/null 2>&1; }
# Docker: an engine at $DOCKER_HOST if one answers, else a private dockerd
# (Debian's docker.io) started here without touching the host's network
# (--iptables=false --bridge=none), stopped at exit. The Debian client
# (/usr/bin/docker, 20.10) builds with BuildKit via DOCKER_BUILDKIT=1.
DOCKER=${DOCKER:-/usr/bin/docker}
start_dockerd() {
  [ -x "$DOCKER" ] || return 1
  "$DOCKER" info >/dev/null 2>&1 && return 0
  have dockerd || return 1
  local d=$work/dockerd
  mkdir -p "$d"
  dockerd --iptables=false --bridge=none --data-root "$d/data" --exec-root "$d/exec" \
    --pidfile "$d/pid" -H "unix://$d/docker.sock" >"$d/log" 2>&1 &
  export DOCKER_HOST=unix://$d/docker.sock
  trap 'kill "$(cat "$work/dockerd/pid" 2>/dev/null)" 2>/dev/null' EXIT
  for _ in $(seq 100); do "$DOCKER" info >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
tools="zbuild"
for p in $peers; do
  case $p in
    buildah) have buildah && tools="$tools buildah" ;;
    docker) start_dockerd && tools="$tools docker" ;;
  esac
done
echo "tools: $tools" >&2
# Every tool runs RUN steps in the host's network namespace: zbuild's
# default, and the only network a dockerd started with --bridge=none has.
netflag() { echo "--network host"; }

reset() { # reset TOOL: remove every cache and base image, then drop the kernel's caches
  reset_tool "$1"
  # Cold means cold caches. It also keeps an ext4 artifact out of the
  # numbers: for minutes after many files are deleted, creating files is
  # several times slower while the deleted inodes' table blocks are cached
  # (ext4's recently_deleted check), which would bill whichever tool next
  # writes a large tree.
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}
reset_tool() {
  case $1 in
    zbuild) rm -rf "$work/zroot" ;;
    buildah)
      if [ -d "$work/broot" ]; then
        buildah --root "$work/broot" --runroot "$work/brunroot" rm -a >/dev/null 2>&1 || true
        buildah --root "$work/broot" --runroot "$work/brunroot" rmi -af >/dev/null 2>&1 || true
        awk -v d="$work/broot" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
      fi
      # buildah keeps RUN cache mounts outside its storage root.
      rm -rf "$work/broot" "$work/brunroot" /var/tmp/buildah-cache /var/tmp/buildah-cache-"$(id -u)" ;;
    docker) "$DOCKER" builder prune -af >/dev/null 2>&1; "$DOCKER" image rm -f $("$DOCKER" images -aq) >/dev/null 2>&1 || true ;;
  esac
}
build() { # build TOOL CASE
  local ctx; ctx=$(ctx_of "$2")
  case $1 in
    zbuild) "$zb" --root "$work/zroot" build -q $(netflag "$2") -t "bench/$2" "$ctx" ;;
    buildah) buildah --root "$work/broot" --runroot "$work/brunroot" build --layers --tls-verify=false --runtime runc \
               --ulimit nofile=1024:1024 $(netflag "$2") -q -t "bench/$2" "$ctx" ;;
    docker) DOCKER_BUILDKIT=1 "$DOCKER" build $(netflag "$2") -q -t "bench/$2" "$ctx" ;;
  esac >>"$log" 2>&1
}
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

declare -A result times
# Tools take turns within each repetition, in a rotating order: on this
# kind of machine a build that creates many files right after another tool
# deleted many (a cold reset) pays for it in the file system, and a fixed
# order would always bill the same tool.
tool_list=($tools)
for c in $only; do
  for s in $scenarios; do
    for r in $(seq "$runs"); do
      n=${#tool_list[@]}
      for k in $(seq 0 $((n - 1))); do
        t=${tool_list[$(( (k + r - 1) % n ))]}
        case $s in
          cold) reset "$t" ;;
          warm|touch) build "$t" "$c" || { echo "FAILED: $t $c (see $log)" >&2; exit 1; } ;;
        esac
        [ "$s" = touch ] && echo "touch $r $t $(now)" >>"$(ctx_of "$c")/${touchfile[$c]}"
        sync
        t0=$(now)
        build "$t" "$c" || { echo "FAILED: $t $c $s (see $log)" >&2; exit 1; }
        t1=$(now)
        times[$c,$s,$t]+="$(echo "$t1 - $t0" | bc -l) "
      done
    done
    for t in $tools; do
      result[$c,$s,$t]=$(printf '%s\n' ${times[$c,$s,$t]} | median)
      printf '%s %-5s %-8s %6.2fs\n' "$c" "$s" "$t" "${result[$c,$s,$t]}" >&2
    done
  done
done

# --- table ---------------------------------------------------------------------
printf '\n| case | scenario |'
for t in $tools; do printf ' %s (s) |' "$t"; done
for t in $tools; do [ "$t" = zbuild ] || printf ' zbuild/%s |' "$t"; done
printf '\n|---|---|'
for t in $tools; do printf -- '---|'; done
for t in $tools; do [ "$t" = zbuild ] || printf -- '---|'; done
printf '\n'
for c in $only; do
  for s in $scenarios; do
    printf '| %s | %s |' "$c" "$s"
    for t in $tools; do printf ' %.2f |' "${result[$c,$s,$t]}"; done
    for t in $tools; do
      [ "$t" = zbuild ] && continue
      printf ' %.2fx |' "$(echo "${result[$c,$s,zbuild]} / ${result[$c,$s,$t]}" | bc -l)"
    done
    printf '\n'
  done
done
echo "(median of $runs runs; ratio < 1 means zbuild is faster; log: $log)"
