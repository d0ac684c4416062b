#!/usr/bin/env bash
# Run a command in a fresh Debian root, the way a newcomer meets the project:
# a debootstrap minbase root with only the distribution's python3, python3-venv,
# python3-pip, git and ca-certificates, and this checkout's committed HEAD
# cloned into /root/mlirboot. Needs root (debootstrap, mounts, chroot).
#
#   scripts/fresh-root.sh [--user] CODENAME 'COMMAND'
#   scripts/fresh-root.sh bookworm 'bash scripts/quickstart.sh'
#   scripts/fresh-root.sh --user trixie 'bash scripts/quickstart.sh'
#
# --user runs COMMAND as an ordinary user ("newcomer") with password-less sudo,
# in a clone that user owns. The base root is made once per release and day and
# kept as a tarball in $MLIRBOOT_ROOT_CACHE (default ~/.cache/mlirboot/roots);
# every run unpacks a new root under $MLIRBOOT_ROOT_DIR (default /var/tmp) and
# removes it afterwards (KEEP_ROOT=1 keeps it, and prints where). The host's CA
# certificates, apt configuration and pip configuration are carried in, so the
# root reaches the package mirrors the way the host does; apt's sources come
# from the host's own Debian mirror (bootstrap/aptsources.py).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)

as_user=""
if [ "${1:-}" = "--user" ]; then as_user=1; shift; fi
if [ $# -ne 2 ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
codename=$1 command=$2
case "$codename" in
  bookworm|trixie|forky|sid) ;;
  *) echo "fresh-root.sh: unknown Debian release '$codename' (bookworm, trixie, forky, sid)" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-root.sh: needs root (debootstrap, mounts and chroot); run it with sudo" >&2
  exit 2
fi
command -v debootstrap >/dev/null || {
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends debootstrap >/dev/null
}

cache=${MLIRBOOT_ROOT_CACHE:-$HOME/.cache/mlirboot/roots}
mkdir -p "$cache"
base="$cache/$codename-minbase-$(date -u +%Y%m%d).tar.gz"
mirror=$(python3 "$REPO/bootstrap/aptsources.py" mirror)

if [ ! -f "$base" ]; then
  echo "fresh-root: debootstrap $codename from $mirror (cached as $base)"
  work=$(mktemp -d "$cache/.debootstrap-$codename.XXXXXX")
  trap 'rm -rf --one-file-system "$work"' EXIT
  start=$SECONDS
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,git,ca-certificates \
    "$codename" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    echo "fresh-root.sh: debootstrap $codename failed (log above)" >&2
    exit 1
  }
  tar -C "$work/root" -czf "$work/root.tar.gz" .
  mv "$work/root.tar.gz" "$base"
  rm -rf --one-file-system "$work"
  trap - EXIT
  echo "fresh-root: base root made in $((SECONDS - start)) s"
fi

root=$(mktemp -d "${MLIRBOOT_ROOT_DIR:-/var/tmp}/mlirboot-root-$codename.XXXXXX")
cleanup() {
  local status=$?
  # Unmount first, and delete only within this file system: a bind mount
  # still in place must never lead rm into the host's /dev or /proc.
  # Nothing started inside may outlive the root (a test's server, say).
  local pid
  for pid in /proc/[0-9]*; do
    [ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "${pid#/proc/}" 2>/dev/null
  done
  # Ours and any the command made inside (buildah's), deepest first.
  findmnt -rn -o TARGET | grep "^$root\(/\|\$\)" | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  if [ -n "${KEEP_ROOT:-}" ]; then
    echo "fresh-root: kept $root"
  elif ! findmnt -rn -o TARGET | grep -q "^$root"; then
    rm -rf --one-file-system "$root"
  else
    echo "fresh-root: $root still has mounts; not removing it" >&2
  fi
  exit $status
}
trap cleanup EXIT INT TERM
tar -C "$root" -xzf "$base"

# What the host trusts and how it reaches the mirrors.
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp /etc/hosts "$root/etc/hosts"  # sudo looks the host name up
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
for f in /etc/apt/apt.conf.d/*; do
  case "$f" in *docker*|*autoremove*|*periodic*) continue ;; esac
  cp "$f" "$root/etc/apt/apt.conf.d/"
done
rm -f "$root/etc/apt/sources.list"
python3 "$REPO/bootstrap/aptsources.py" release "$codename" >"$root/etc/apt/sources.list.d/debian.sources"

# The root is a mount point of its own, as on a real machine: buildah's layer
# code remounts / and fails on a plain directory.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

git clone -q "$REPO" "$root/root/mlirboot"
# The install tests act as an unprivileged user (uid 65534) running this
# checkout's venv: let others traverse root's home to reach it (not list it).
chmod 711 "$root/root"
run_in_root() {
  chroot "$root" /usr/bin/env -i HOME="${HOME_IN:-/root}" LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
run_in_root bash -c 'update-ca-certificates >/dev/null 2>&1'

echo "fresh-root: $codename, $(run_in_root python3 --version), running: $command"
start=$SECONDS
if [ -n "$as_user" ]; then
  run_in_root bash -c 'apt-get update -q >/dev/null && apt-get install -y -q sudo >/dev/null
    useradd -m -s /bin/bash newcomer
    echo "newcomer ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/newcomer
    mv /root/mlirboot /home/newcomer/mlirboot && chown -R newcomer: /home/newcomer/mlirboot'
  HOME_IN=/home/newcomer run_in_root su newcomer -c "cd ~/mlirboot && $command"
else
  run_in_root bash -c "cd /root/mlirboot && $command"
fi
echo "fresh-root: '$command' passed in $codename in $((SECONDS - start)) s"
