//! Which disks the guest has, from the positionals `PHYSDISK [VIRTDISK]`, `--disks` and
//! `--offset`. Opening (with whatever privileges we have) is separate from parsing (which
//! `--runas` does only after dropping them).

use super::args::Args;
use anyhow::{bail, Context};
use domuloader::disk::Disk;
use domuloader::entry::EntrySpec;
use domuloader::guest::devname::{same_disk, DevName};
use domuloader::guest::diskset::DiskSet;
use domuloader::guest::diskspec::{parse_disk_list, DiskSpec};

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

/// Opens the guest's disks read-only.
pub fn open(args: &Args, entry: Option<&EntrySpec>) -> anyhow::Result<OpenDisks> {
    let specs = specs(args, entry)?;
    let mut disks = Vec::with_capacity(specs.len());
    for s in specs {
        let format = s.require_readable()?;
        let disk = Disk::open_as(&s.path, format).with_context(|| s.vdev.to_string())?;
        let max = args
            .max_size
            .unwrap_or(domuloader::limits::DEFAULT_MAX_FILE_SIZE);
        disk.set_read_budget(domuloader::limits::read_budget(max));
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

/// The disk list. With `--disks`, every listed disk under its guest name. PHYSDISK, when
/// given too, is the disk the caller attached for us (xend passes a dom0 device for a
/// `tap:` disk), so it replaces the path of the disk it stands for: VIRTDISK, else the
/// entry's disk, else the first in the list.
fn specs(args: &Args, entry: Option<&EntrySpec>) -> anyhow::Result<Vec<DiskSpec>> {
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
