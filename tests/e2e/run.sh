#!/bin/bash
# End-to-end test: Debian's Xen 4.17 boots under QEMU (TCG) with a Debian dom0; in that dom0,
# real `xl create` boots real PV guests (the Debian kernel + a busybox initrd) whose bootloader
# is domuloader, one case after another in a single QEMU boot. Each guest prints a marker with
# its initrd's id and its /proc/cmdline; dom0 checks it against the case's expectation.
#
#   tests/e2e/run.sh            run every case (tests/e2e/cases/*.cfg); needs root, ~300 MB
#   CASES="fstab bls" tests/e2e/run.sh     only these cases
#
# Output: one line per case, `PASS|FAIL <case> <seconds>s [why]`, then a total line; exit 0
# only when every case passed. The full serial console is in $E2E_WORK/serial.txt.
#
# Everything comes from Debian packages through the host's own apt sources: the hypervisor
# (xen-hypervisor-4.17-amd64), the kernel behind linux-image-amd64 (dom0 and guests), a dom0 root
# made by mmdebstrap with xen-utils-4.17 (cached as $E2E_WORK/dom0root.cpio.zst), qemu-system-x86.
#
# Environment:
#   E2E_WORK=DIR     work and cache directory (default target/e2e-work); delete it for a clean run
#   DOMULOADER=PATH  the binary under test (default: target/release/domuloader, built if needed)
#   E2E_BREAK=MODE   replace domuloader by tests/e2e/broken-domuloader in MODE (args, ramdisk,
#                    garbage) for every case: every domuloader case must then FAIL
#   E2E_JOBS=N       cases run at the same time inside dom0 (default 1: cases are ~10 s; two
#                    at once share 2 TCG vCPUs and gain little)
#   E2E_TIMEOUT=S    watchdog for the whole QEMU run (default 300 + 200 per case / E2E_JOBS)
#   CASE_TIMEOUT=S   limit of one `xl create` inside dom0 (default 400)
#   ACCEL=tcg|kvm    (default tcg: KVM cannot run Xen on the machines this was written on)
#
# A new layout joins by adding guests/NAME.sh (builds NAME.img with real tools; see
# guests/lib.sh) and cases/CASE.cfg naming it as @IMG:NAME@ (see README.md, "End-to-end test").
set -euo pipefail
E2E=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$E2E/../.." && pwd)
cd "$ROOT"
W=$(mkdir -p "${E2E_WORK:-target/e2e-work}" && cd "${E2E_WORK:-target/e2e-work}" && pwd)
ACCEL=${ACCEL:-tcg}
T0=$SECONDS
say() { echo "e2e [$((SECONDS - T0))s] $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "e2e: needs root (mmdebstrap, apt-get)" >&2; exit 1; }

if [ -z "${DOMULOADER:-}" ]; then
  cargo build --release --locked -q
  DOMULOADER=target/release/domuloader
fi
DOMULOADER=$(realpath "$DOMULOADER")
if [ -n "${CASES:-}" ]; then CASES=$(echo $CASES)
else CASES=$(cd "$E2E/cases" && ls *.cfg | sed 's/\.cfg$//' | grep -v '^diag-' | tr '\n' ' '); fi
for c in $CASES; do [ -f "$E2E/cases/$c.cfg" ] || { echo "e2e: no case $c" >&2; exit 1; }; done

say "host packages"
need=""
for p in qemu-system-x86 mmdebstrap busybox-static cpio e2fsprogs fdisk dosfstools mtools zstd kmod \
  btrfs-progs xfsprogs lvm2 xorriso isolinux syslinux-common util-linux python3; do
  dpkg -s $p >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

say "Xen hypervisor and kernel packages (cached in $W/debs)"
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
KPKG=$(kpkg); [ -n "$KPKG" ] || { apt-get update -qq; KPKG=$(kpkg); }
KVER=${KPKG#linux-image-}
mkdir -p "$W/debs"
(cd "$W/debs" &&
  for p in xen-hypervisor-4.17-amd64 "$KPKG"; do
    ls ${p}_*.deb >/dev/null 2>&1 || apt-get download -qq $p 2>/dev/null
  done)
DEBS=$(ls "$W"/debs/xen-hypervisor-4.17-amd64_*.deb "$W"/debs/${KPKG}_*.deb)
if [ "$(cat "$W/x.from" 2>/dev/null)" != "$DEBS" ]; then
  rm -rf "$W/x"; mkdir "$W/x"
  for d in $DEBS; do dpkg-deb -x "$d" "$W/x"; done
  # keep what is used (the kernel, Xen, and the dom0 modules copied below): 400 MB -> 40 MB
  (cd "$W/x/lib/modules/$KVER" && find kernel -mindepth 1 -maxdepth 1 ! -name drivers -exec rm -rf {} + &&
    find kernel/drivers -mindepth 1 -maxdepth 1 ! -name xen ! -name block -exec rm -rf {} +)
  rm -rf "$W/x/usr"
  echo "$DEBS" > "$W/x.from"
fi
zcat "$W/x/boot/xen-4.17-amd64.gz" > "$W/xen"   # a multiboot ELF for qemu -kernel
VMLINUZ=$W/x/boot/vmlinuz-$KVER

say "dom0 root (mmdebstrap, cached as $W/dom0root.cpio.zst)"
if [ ! -s "$W/dom0root.cpio.zst" ]; then
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
  rm -rf "$W/dom0root"
  mmdebstrap --quiet --variant=minbase \
    --include=xen-utils-4.17,xenstore-utils,kmod,util-linux,mount,iproute2,procps,udev \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "$SUITE" "$W/dom0root" "$MIRROR"
  (cd "$W/dom0root" && rm -rf var/cache/apt/* var/lib/apt/lists/* usr/lib/udev/hwdb.bin \
    usr/lib/x86_64-linux-gnu/gconv usr/lib/x86_64-linux-gnu/perl usr/share/perl \
    usr/share/i18n usr/share/zoneinfo)
  (cd "$W/dom0root" && find . | cpio -R 0:0 -H newc -o --quiet | zstd -q -T0 -6) > "$W/dom0root.cpio.zst.tmp"
  mv "$W/dom0root.cpio.zst.tmp" "$W/dom0root.cpio.zst"
  rm -rf "$W/dom0root"
fi

# The images the chosen cases name (@IMG:NAME@ or "#e2e loop NAME"); NAME-xvdb style siblings
# come from the builder of the name before the last '-' when there is no builder of their own.
IMAGES=$(cd "$E2E/cases" && for c in $CASES; do
  grep -o '@IMG:[a-z0-9-]*@' $c.cfg | sed 's/@IMG:\(.*\)@/\1/'; sed -n 's/^#e2e loop //p' $c.cfg
done | sort -u)
builder_of() { local n=$1; while [ ! -x "$E2E/guests/$n.sh" ]; do
  [ "${n%-*}" != "$n" ] || { echo "e2e: no guests/ builder for image $1" >&2; exit 1; }; n=${n%-*}; done; echo "$n"; }

say "guest images (cached in $W/img until guests/ or the kernel change)"
STAMP=$( (cat "$E2E"/guests/* "$VMLINUZ" /bin/busybox | sha256sum; echo "$KVER") | tr '\n' ' ')
[ "$(cat "$W/img/.stamp" 2>/dev/null)" = "$STAMP" ] || { rm -rf "$W/img"; mkdir -p "$W/img"; echo "$STAMP" > "$W/img/.stamp"; }
for img in $IMAGES; do
  b=$(builder_of "$img")
  [ -s "$W/img/$img.img" ] && continue
  WORKDIR=$(mktemp -d "$W/build.XXXX")
  KERNEL=$VMLINUZ KVER=$KVER WORKDIR=$WORKDIR "$E2E/guests/$b.sh" "$W/img/$b.img"
  rm -rf "$WORKDIR"
  [ -s "$W/img/$img.img" ] || { echo "e2e: guests/$b.sh did not write $img.img" >&2; exit 1; }
done

say "dom0 overlay: init, modules, domuloader, images, cases"
OV=$W/ov
rm -rf "$OV"; mkdir -p "$OV/e2e/cases" "$OV/e2e/img" "$OV/usr/local/bin" "$OV/usr/lib/modules/$KVER/kernel/drivers"
# usr/lib, not lib: an overlay directory 'lib' would replace the merged-/usr symlink /lib
cp "$E2E/dom0-init" "$OV/init"
mkdir -p "$OV/etc/xen/scripts" && cp "$E2E/dom0-block" "$OV/etc/xen/scripts/block"
M=$W/x/lib/modules/$KVER
cp "$M"/modules.order "$M"/modules.builtin* "$OV/usr/lib/modules/$KVER/"
cp -a "$M/kernel/drivers/xen" "$M/kernel/drivers/block" "$OV/usr/lib/modules/$KVER/kernel/drivers/"
depmod -b "$OV/usr" "$KVER"
cp "$DOMULOADER" "$OV/usr/local/bin/domuloader.real"
sed 's/^MODE=@MODE@/MODE=garbage/' "$E2E/broken-domuloader" > "$OV/usr/local/bin/domuloader-broken"
if [ -n "${E2E_BREAK:-}" ]; then
  say "E2E_BREAK=$E2E_BREAK: /usr/local/bin/domuloader is broken-domuloader (every domuloader case must FAIL)"
  sed "s/^MODE=@MODE@/MODE=$E2E_BREAK/" "$E2E/broken-domuloader" > "$OV/usr/local/bin/domuloader"
else
  ln "$OV/usr/local/bin/domuloader.real" "$OV/usr/local/bin/domuloader"
fi
chmod 755 "$OV"/usr/local/bin/*
for img in $IMAGES; do cp --sparse=always "$W/img/$img.img" "$OV/e2e/img/"; done
for c in $CASES; do
  sed -e "s/@KVER@/$KVER/g" -e 's|@IMG:\([a-z0-9-]*\)@|/e2e/img/\1.img|g' "$E2E/cases/$c.cfg" > "$OV/e2e/cases/$c.cfg"
done
echo "$CASES" > "$OV/e2e/cases.list"
(cd "$OV" && find . | cpio -R 0:0 -H newc -o --quiet | gzip -1) > "$W/ov.cpio.gz"
cat "$W/dom0root.cpio.zst" "$W/ov.cpio.gz" > "$W/dom0-initrd"
rm -rf "$OV" "$W/ov.cpio.gz"

N=$(echo $CASES | wc -w)
JOBS=${E2E_JOBS:-1}
TIMEOUT=${E2E_TIMEOUT:-$((300 + 200 * N / JOBS))}
say "boot Xen + dom0 under QEMU ($ACCEL), $N cases, $JOBS at a time, watchdog ${TIMEOUT}s"
case $ACCEL in
  kvm) QACC="-machine q35,accel=kvm -cpu host" ;;
  *)   QACC="-machine q35,accel=tcg -cpu qemu64" ;;   # -cpu max: dom0 #PF crash under TCG
esac
QT0=$SECONDS
set +e
"$E2E/qemu-watch.sh" "$W/serial.log" "$TIMEOUT" 'E2E-ALL-DONE' \
  'Kernel panic - not syncing|Dom0 crashed|\(XEN\) Panic on CPU|\(XEN\) \*\*\*\* Panic' -- \
  $QACC -m 2G -smp 2 -kernel "$W/xen" \
  -append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all noreboot" \
  -initrd "$VMLINUZ console=hvc0 earlyprintk=xen rdinit=/init rootfstype=ramfs CASE_TIMEOUT=${CASE_TIMEOUT:-400} E2E_JOBS=$JOBS,$W/dom0-initrd" \
  > "$W/watch.txt"
watch_rc=$?
set -e
QEMU_S=$((SECONDS - QT0))
tr -d '\r' < "$W/serial.log" > "$W/serial.txt"

pass=0; fail=0
for c in $CASES; do
  line=$(grep -a -m1 "^E2E-RESULT $c " "$W/serial.txt" || true)
  if [ -z "$line" ]; then
    echo "FAIL $c - no result (dom0 died or the watchdog fired; see $W/serial.txt)"; fail=$((fail + 1)); continue
  fi
  set -- $line
  st=$3 secs=$4; shift 4
  echo "$st $c ${secs}s${*:+ $*}"
  if [ "$st" = PASS ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    grep -a "^\[$c\] " "$W/serial.txt" | tail -n 40 | sed 's/^/    /' >&2
  fi
done
lo=$(grep -a -m1 -o '^E2E-LEFTOVERS \[.*\]' "$W/serial.txt" || echo "E2E-LEFTOVERS (no line)")
if [ "$lo" != "E2E-LEFTOVERS []" ]; then echo "FAIL leftovers: ${lo#E2E-LEFTOVERS }"; fail=$((fail + 1)); fi
[ $watch_rc = 0 ] || echo "e2e: $(cat "$W/watch.txt"); see $W/serial.txt" >&2
echo "TOTAL $pass passed, $((fail)) failed of $N cases; QEMU ${QEMU_S}s, whole run $((SECONDS - T0))s"
[ $fail = 0 ] && [ $pass = "$N" ]
