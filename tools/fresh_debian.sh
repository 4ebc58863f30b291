#!/bin/bash
# The README's two commands on a fresh Debian, as a new reader's machine would run them:
#   tools/fresh_debian.sh DIST [TARGETS...]      (make fresh-debian DIST=bookworm TARGETS="book test")
# A minimal root file system from Debian's packages (debootstrap --variant=minbase), only the
# packages README.md lists installed with apt-get, this repository's committed HEAD cloned in,
# then `make TARGET` for each target with a clean environment (env -i). Needs root, debootstrap
# and the network (deb.debian.org, PyPI, npm). Prints the time of each step and a pass/FAIL line
# per target; the root file system stays in $WORK for a look inside (chroot $WORK).
set -euo pipefail

BASE_ONLY=no
if [ "${1:-}" = --base-only ]; then BASE_ONLY=yes; shift; fi  # only debootstrap into the cache
DIST=${1:?usage: tools/fresh_debian.sh [--base-only] bookworm|trixie [make targets, default: book test]}
shift
if [ $# -eq 0 ]; then TARGETS=(book test); else TARGETS=("$@"); fi
REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
CACHE=${FRESH_DEBIAN_CACHE:-/var/tmp/sessions-not-jwt-debootstrap}
WORK=${FRESH_DEBIAN_WORK:-/var/tmp/sessions-not-jwt-fresh-$DIST}
# What README.md's "Two commands" section lists for Debian; nothing else is installed up front.
PACKAGES=(python3 python3-venv make git ca-certificates)

if [ "$(id -u)" != 0 ]; then echo "fresh-debian needs root (debootstrap, chroot)"; exit 1; fi
command -v debootstrap >/dev/null || { echo "fresh-debian needs debootstrap: apt-get install debootstrap"; exit 1; }

step() { printf '== %s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }
timed() { local start=$SECONDS; "$@"; step "took $((SECONDS - start)) s: ${*: -1}"; }

mkdir -p "$CACHE"
if [ ! -x "$CACHE/$DIST/usr/bin/apt-get" ]; then
  step "debootstrap $DIST (cached in $CACHE/$DIST for the next run)"
  timed debootstrap --variant=minbase "$DIST" "$CACHE/$DIST.partial" http://deb.debian.org/debian >/dev/null
  mv "$CACHE/$DIST.partial" "$CACHE/$DIST"
fi
# Debian's own images and installs also follow DIST-updates and DIST-security (debootstrap lists
# only DIST): without them Chromium and Firefox ESR are months older than a reader's.
rm -f "$CACHE/$DIST/etc/apt/sources.list"
cat > "$CACHE/$DIST/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: $DIST $DIST-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $DIST-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

[ "$BASE_ONLY" = yes ] && exit 0

cleanup() {
  for mount in dev/shm dev/pts dev sys proc; do
    mountpoint -q "$WORK/$mount" && umount -l "$WORK/$mount"
  done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$WORK"
step "a fresh copy of the $DIST root file system in $WORK"
cp -a "$CACHE/$DIST" "$WORK"
cp /etc/resolv.conf "$WORK/etc/resolv.conf"
mount --bind /proc "$WORK/proc"
mount --bind /sys "$WORK/sys"
mount --bind /dev "$WORK/dev"
mount --bind /dev/pts "$WORK/dev/pts"
mount -t tmpfs -o size=1g shm "$WORK/dev/shm"  # Chromium's shared memory

# A clean environment, but for one variable: Node.js trusts only its own list of authorities, so
# on a network whose TLS goes through a private one (the maintainers' test machine) npm needs the
# system's bundle named; on an ordinary network it changes nothing.
in_root() {
  chroot "$WORK" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt /bin/bash -c "$1"
}

step "apt-get install ${PACKAGES[*]} (README's list)"
timed in_root "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${PACKAGES[*]} >/dev/null"
# Where the host reaches the registries through its own certificate authority, trust it inside too
# (pip trusts the system store; see FACTS.md). On an ordinary network this changes nothing.
cp /etc/ssl/certs/ca-certificates.crt "$WORK/etc/ssl/certs/ca-certificates.crt"
in_root 'python3 --version; git --version | head -1; make --version | head -1'

step "git clone of $REPO (committed HEAD: $(git -C "$REPO" log -1 --format=%h))"
git clone -q "$REPO" "$WORK/root/book"
status=0
for target in "${TARGETS[@]}"; do
  step "make $target"
  start=$SECONDS
  if in_root "cd /root/book && make $target"; then result=pass; else result=FAIL; status=1; fi
  step "make $target: $result in $((SECONDS - start)) s"
done
exit $status
