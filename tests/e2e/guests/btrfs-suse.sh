#!/bin/bash
# btrfs-suse: an openSUSE/SLES-style guest (as fixtures/build/btrfs.sh's "suse"). GPT,
#   p1 BIOS-boot (empty), p2 btrfs UUID e2e00000-0b75-4000-8000-000000000001 with subvolume @,
#   @/.snapshots, and @/.snapshots/1/snapshot as the *default* subvolume: the root, holding
#   /boot/vmlinuz-$KVER, /boot/initrd.img-$KVER (id btrfs-snapshot), /etc/fstab with SUSE's
#   subvol=/@/… lines by UUID, and /boot/grub2/grub.cfg with btrfs_relative_path="y" and
#   ${extra_cmdline} in the linux line (E2E_MENU=suse). Decoys: the same paths in @ and in the
#   top level (id btrfs-decoy-at, btrfs-decoy-top), which only a loader ignoring the default
#   subvolume would take.
# Built with mkfs.btrfs and a loop mount (btrfs subvolume create / set-default), as root.
. "$(dirname "$0")/lib.sh"
OUT=$1
U=e2e00000-0b75-4000-8000-000000000001
mnt=$WORKDIR/mnt loop=
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  [ -z "$loop" ] || losetup -d "$loop"
}
trap cleanup EXIT
rm -f "$OUT"; truncate -s 130M "$OUT"
sfdisk -q "$OUT" <<EOS
label: gpt
label-id: E2E00000-0B70-4000-8000-000000000000
start=1M, size=1M, type=21686148-6449-6E6F-744E-656564454649, uuid=E2E00000-0B71-4000-8000-000000000001, name=p.legacy
start=2M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=E2E00000-0B72-4000-8000-000000000002, name=p.lxroot
EOS
loop=$(losetup -f --show -o $(( 2 * 1048576 )) --sizelimit $(( 128 * 1048576 )) "$OUT")
mkfs.btrfs -q -f -U "$U" -L e2esuse "$loop" >/dev/null   # (its "NOTE: defaults changed" is on stdout)
mkdir -p "$mnt"; mount "$loop" "$mnt"
btrfs -q subvolume create "$mnt/@"
btrfs -q subvolume create "$mnt/@/.snapshots"
mkdir -p "$mnt/@/.snapshots/1"
btrfs -q subvolume create "$mnt/@/.snapshots/1/snapshot"
for s in home var boot/grub2/i386-pc; do
  mkdir -p "$(dirname "$mnt/@/$s")"; btrfs -q subvolume create "$mnt/@/$s"
done
snap=$mnt/@/.snapshots/1/snapshot
mkdir -p "$snap"/{etc,home,var,.snapshots,boot/grub2/i386-pc}
boot_files "$snap/boot" btrfs-snapshot
cat > "$snap/etc/fstab" <<EOT
UUID=$U  /                    btrfs  defaults                      0  0
UUID=$U  /var                 btrfs  subvol=/@/var                 0  0
UUID=$U  /home                btrfs  subvol=/@/home                0  0
UUID=$U  /boot/grub2/i386-pc  btrfs  subvol=/@/boot/grub2/i386-pc  0  0
UUID=$U  /.snapshots          btrfs  subvol=/@/.snapshots          0  0
EOT
cat > "$snap/boot/grub2/grub.cfg" <<EOG
set btrfs_relative_path="y"
export btrfs_relative_path
if [ -f \${config_directory}/grubenv ]; then
  load_env -f \${config_directory}/grubenv
elif [ -s \$prefix/grubenv ]; then
  load_env
fi
set default="\${saved_entry}"
set timeout=0
menuentry 'E2E SUSE' --class sles --class gnu-linux \$menuentry_id_option 'gnulinux-simple-$U' {
	insmod gzio
	insmod part_gpt
	insmod btrfs
	search --no-floppy --fs-uuid --set=root $U
	linux	/boot/vmlinuz-$KVER root=UUID=$U \${extra_cmdline} splash=silent E2E_MENU=suse
	initrd	/boot/initrd.img-$KVER
}
EOG
# decoys in @ and at the top level: the same paths, other initrds
mkdir -p "$mnt/@/boot" "$mnt/boot/grub2"
mk_initrd "$mnt/@/boot/initrd.img-$KVER" btrfs-decoy-at
mk_initrd "$mnt/boot/initrd.img-$KVER" btrfs-decoy-top
cp "$snap/boot/grub2/grub.cfg" "$mnt/boot/grub2/grub.cfg"
sed -i 's/E2E_MENU=suse/E2E_MENU=top-level-decoy/' "$mnt/boot/grub2/grub.cfg"
id=$(btrfs subvolume list "$mnt" | awk '$NF == "@/.snapshots/1/snapshot" {print $2}')
btrfs subvolume set-default "$id" "$mnt"
umount "$mnt"
losetup -d "$loop"; loop=
