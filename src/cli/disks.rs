//! Which disks the guest has, from the positionals `PHYSDISK [VIRTDISK]`, `--disks` and
//! `--offset`, opened as one disk set.

use super::args::Args;
use anyhow::{bail, Context};
use domuloader::entry::EntrySpec;
use domuloader::guest::devname::{same_disk, DevName};
use domuloader::guest::diskset::DiskSet;
use domuloader::guest::diskspec::{parse_disk_list, DiskSpec};

/// Opens the guest's disks.
///
/// With `--disks`, every listed disk is opened under its guest name. PHYSDISK, when given
/// too, is the disk the caller attached for us (xend passes a dom0 device for a `tap:` disk),
/// so it replaces the path of the disk it stands for: VIRTDISK, else the entry's disk, else
/// the first in the list.
pub fn open(args: &Args, entry: Option<&EntrySpec>) -> anyhow::Result<DiskSet> {
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
    for s in &specs {
        s.require_raw()?;
    }
    if let Some(offset) = args.offset {
        let first = specs.first().context("no disk")?;
        return Ok(DiskSet::at_offset(&first.path, first.vdev.clone(), offset)?);
    }
    let list: Vec<(&std::path::Path, DevName)> = specs
        .iter()
        .map(|s| (s.path.as_path(), s.vdev.clone()))
        .collect();
    Ok(DiskSet::open(&list)?)
}
