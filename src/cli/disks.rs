//! Which disks the guest has, from the positionals `PHYSDISK [VIRTDISK]`, `--disks` and
//! `--offset`. Opening (with whatever privileges we have) is separate from parsing (which
//! `--runas` does only after dropping them).

use super::args::Args;
use anyhow::{bail, Context};
use domuloader::disk::{Disk, ImageFormat};
use domuloader::entry::EntrySpec;
use domuloader::guest::devname::{same_disk, DevName};
use domuloader::guest::diskset::DiskSet;
use domuloader::guest::diskspec::{parse_disk_list, DiskSpec};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// The guest's disks, open but not yet read.
pub struct OpenDisks {
    disks: Vec<(Disk, DevName)>,
    offset: Option<u64>,
}

impl OpenDisks {
    /// Reads the partition tables: the first time guest bytes are parsed.
    pub fn into_set(self) -> anyhow::Result<DiskSet> {
        match self.offset {
            Some(offset) => {
                let Some((disk, name)) = self.disks.into_iter().next() else {
                    bail!("no disk given");
                };
                Ok(DiskSet::at_offset(disk, name, offset)?)
            }
            None => Ok(DiskSet::from_opened(self.disks)?),
        }
    }
}

/// Opens the guest's disks read-only. Each gets the metadata read budget, whatever
/// `--max-size` says; the copy adds the files' own bytes later (`run::extract`).
pub fn open(args: &Args, specs: Vec<DiskSpec>) -> anyhow::Result<OpenDisks> {
    let mut disks = Vec::with_capacity(specs.len());
    for s in specs {
        let format = s.require_readable()?;
        let disk = open_disk(&s.path, format).with_context(|| s.vdev.to_string())?;
        disk.set_read_budget(domuloader::limits::MAX_METADATA_READ);
        disks.push((disk, s.vdev));
        if args.offset.is_some() {
            break; // --offset names one filesystem on the first disk
        }
    }
    Ok(OpenDisks {
        disks,
        offset: args.offset,
    })
}

/// Opens one disk, refusing anything that is not a regular file or a block device by name
/// before opening it (opening a FIFO would block; a character device or socket is no
/// disk).
pub fn open_disk(path: &Path, format: Option<ImageFormat>) -> anyhow::Result<Disk> {
    if let Ok(meta) = std::fs::metadata(path) {
        let t = meta.file_type();
        let kind = if t.is_fifo() {
            Some("a FIFO")
        } else if t.is_socket() {
            Some("a socket")
        } else if t.is_char_device() {
            Some("a character device")
        } else {
            None
        };
        if let Some(kind) = kind {
            bail!(
                "disk {} is {kind}: a disk must be a regular file or a block device",
                path.display()
            );
        }
    }
    Ok(Disk::open_as(path, format)?)
}

/// Refuses an `--output` that is one of the disks (same inode, or the same block device
/// under another node): writing the result there would destroy the guest's disk. Checked
/// before anything is opened for writing.
pub fn refuse_output_on_disk(args: &Args, specs: &[DiskSpec]) -> anyhow::Result<()> {
    let Some(out) = args.output.as_deref().filter(|p| p.as_os_str() != "-") else {
        return Ok(());
    };
    let Ok(o) = std::fs::metadata(out) else {
        return Ok(()); // a new file cannot be a disk
    };
    for s in specs {
        let Ok(d) = std::fs::metadata(&s.path) else {
            continue;
        };
        let same_node = (o.dev(), o.ino()) == (d.dev(), d.ino());
        let same_blockdev = o.file_type().is_block_device()
            && d.file_type().is_block_device()
            && o.rdev() == d.rdev();
        if same_node || same_blockdev {
            bail!(
                "--output {} is the guest disk {}: refusing to write the result over it",
                out.display(),
                s.path.display()
            );
        }
    }
    Ok(())
}

/// The disk list. With `--disks`, every listed disk under its guest name. PHYSDISK, when
/// given too, is the disk the caller attached for us (xend passes a dom0 device for a
/// `tap:` disk), so it replaces the path of the disk it stands for: VIRTDISK, else the
/// entry's disk, else the first in the list.
pub fn specs(args: &Args, entry: Option<&EntrySpec>) -> anyhow::Result<Vec<DiskSpec>> {
    let entry_dev = match entry {
        Some(EntrySpec::Path(e)) => e.dev.as_ref(),
        _ => None,
    };
    let mut specs = match &args.disks {
        Some(list) => parse_disk_list(list)?,
        None => Vec::new(),
    };
    if let Some(phys) = &args.disk {
        let own = DiskSpec::positional(phys, args.virtdisk.as_deref(), entry_dev)?;
        let stands_for = if args.virtdisk.is_some() || entry_dev.is_some() {
            specs.iter().position(|s| same_disk(&s.vdev, &own.vdev))
        } else if specs.is_empty() {
            None
        } else {
            Some(0)
        };
        match stands_for.and_then(|i| specs.get_mut(i)) {
            Some(s) => s.path = own.path,
            None => specs.insert(0, own),
        }
    }
    if specs.is_empty() {
        bail!("no disk given: PHYSDISK or --disks is required");
    }
    Ok(specs)
}
