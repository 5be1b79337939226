//! Volume group assembly: the newest metadata of each VG across all its PVs' metadata
//! areas, its PVs matched by UUID to the block sources of the disk set, every LV checked
//! (segments contiguous from extent 0, inside their PVs, no extent given twice) and turned
//! into a [`Disk`] — or into the one-line reason it cannot be read.

use super::label::{read_label, PvLabel};
use super::lv::{LvBacking, Map, Piece};
use super::mda::read_text;
use super::metadata::{vg_from_text, LvMeta, SegKind, VgMeta};
use super::{text, LvmError, PvSource, Scan, Volume};
use crate::disk::Disk;
use crate::limits::{MAX_LVM_AREAS, MAX_LVM_SEGMENTS};
use std::collections::HashMap;
use std::path::PathBuf;

/// Smallest stripe LVM creates (a page); smaller ones would only make reads crawl.
const MIN_STRIPE: u64 = 4096;

/// A metadata copy found on a PV.
struct Copy {
    vg: VgMeta,
    checksum: u32,
    len: usize,
}

/// Finds every PV among `sources` and assembles their VGs.
pub fn scan(sources: &[PvSource]) -> Scan {
    let mut out = Scan::default();
    let mut labels: Vec<(usize, PvLabel)> = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        match read_label(&s.slice) {
            Ok(Some(l)) => labels.push((i, l)),
            Ok(None) => {}
            Err(e) => out.errors.push(e.on(&s.name)),
        }
    }
    out.pvs = labels.iter().map(|(i, _)| *i).collect();
    let copies = read_copies(sources, &labels, &mut out.errors);
    for vg in newest(copies, &mut out.errors) {
        match assemble(&vg, sources, &labels) {
            Ok(mut v) => out.volumes.append(&mut v),
            Err(e) => out.errors.push(e),
        }
    }
    out
}

/// Every readable metadata copy on the labelled PVs (an identical text is parsed once).
fn read_copies(
    sources: &[PvSource],
    labels: &[(usize, PvLabel)],
    errors: &mut Vec<LvmError>,
) -> Vec<Copy> {
    let mut parsed: HashMap<(u32, usize), Result<VgMeta, LvmError>> = HashMap::new();
    let mut copies = Vec::new();
    let mut areas = 0usize;
    for (i, label) in labels {
        let Some(src) = sources.get(*i) else { continue };
        for area in &label.metadata {
            areas += 1;
            if areas > MAX_LVM_AREAS {
                errors.push(LvmError::Metadata(format!(
                    "more than {MAX_LVM_AREAS} metadata areas in the disk set; the rest are ignored"
                )));
                return copies;
            }
            let t = match read_text(&src.slice, area) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    errors.push(e.on(&src.name));
                    continue;
                }
            };
            let key = (t.checksum, t.bytes.len());
            let vg = parsed
                .entry(key)
                .or_insert_with(|| {
                    text::parse(&t.bytes)
                        .map_err(|e| LvmError::Metadata(format!("text {e}")))
                        .and_then(|root| vg_from_text(&root))
                })
                .clone();
            match vg {
                Ok(vg) => copies.push(Copy {
                    vg,
                    checksum: t.checksum,
                    len: t.bytes.len(),
                }),
                Err(e) => errors.push(e.on(&src.name)),
            }
        }
    }
    copies
}

/// The newest copy of each VG (by UUID). Two different texts with the same highest seqno
/// mean the VG is inconsistent: refused, as LVM would ask for a repair.
fn newest(copies: Vec<Copy>, errors: &mut Vec<LvmError>) -> Vec<VgMeta> {
    let mut best: Vec<Copy> = Vec::new();
    let mut conflicted: Vec<String> = Vec::new();
    for c in copies {
        match best.iter_mut().find(|b| b.vg.uuid == c.vg.uuid) {
            None => best.push(c),
            Some(b) if c.vg.seqno > b.vg.seqno => *b = c,
            Some(b) if c.vg.seqno == b.vg.seqno && (c.checksum, c.len) != (b.checksum, b.len) => {
                if !conflicted.contains(&c.vg.uuid) {
                    conflicted.push(c.vg.uuid.clone());
                }
            }
            Some(_) => {}
        }
    }
    best.into_iter()
        .filter_map(|b| match conflicted.contains(&b.vg.uuid) {
            true => {
                errors.push(LvmError::Vg {
                    vg: b.vg.name.clone(),
                    detail: format!(
                        "two different metadata texts both have seqno {}",
                        b.vg.seqno
                    ),
                });
                None
            }
            false => Some(b.vg),
        })
        .collect()
}

/// The block source holding each PV of `vg` (by UUID), `None` when it is not in the set.
fn pv_sources(
    vg: &VgMeta,
    sources: &[PvSource],
    labels: &[(usize, PvLabel)],
) -> Result<Vec<Option<usize>>, LvmError> {
    vg.pvs
        .iter()
        .map(|pv| {
            let found: Vec<usize> = labels
                .iter()
                .filter(|(_, l)| l.uuid == pv.uuid)
                .map(|(i, _)| *i)
                .collect();
            match found.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(*one)),
                many => Err(LvmError::Vg {
                    vg: vg.name.clone(),
                    detail: format!(
                        "PV {} found on several devices ({}): refusing to guess",
                        pv.id,
                        many.iter()
                            .filter_map(|&i| sources.get(i).map(|s| s.name.as_str()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            }
        })
        .collect()
}

fn assemble(
    vg: &VgMeta,
    sources: &[PvSource],
    labels: &[(usize, PvLabel)],
) -> Result<Vec<Volume>, LvmError> {
    let map = pv_sources(vg, sources, labels)?;
    check_extents(vg)?;
    let first_pv = map
        .iter()
        .flatten()
        .find_map(|&i| sources.get(i))
        .map_or_else(|| vg.name.clone(), |s| s.name.clone());
    let cows: std::collections::HashSet<&str> = vg
        .lvs
        .iter()
        .filter_map(|l| l.snapshot_cow.as_deref())
        .collect();
    let mut out = Vec::new();
    for lv in vg.lvs.iter().filter(|l| l.visible) {
        let disk = match cows.contains(&lv.name.as_str()) {
            true => Err(unsupported(vg, lv, &first_pv, "snapshot")),
            false => lv_disk(vg, lv, sources, &map, &first_pv),
        };
        let size = lv
            .segments
            .iter()
            .try_fold(0u64, |a, s| a.checked_add(s.count))
            .and_then(|e| e.checked_mul(vg.extent_size))
            .unwrap_or(0);
        let on = lv_pvs(lv, &map, sources);
        out.push(Volume {
            vg: vg.name.clone(),
            lv: lv.name.clone(),
            vg_uuid: vg.uuid.clone(),
            lv_uuid: lv.uuid.clone(),
            size,
            on,
            disk,
        });
    }
    Ok(out)
}

/// Names of the block sources an LV's data lies on.
fn lv_pvs(lv: &LvMeta, map: &[Option<usize>], sources: &[PvSource]) -> Vec<String> {
    let mut on: Vec<String> = Vec::new();
    for seg in &lv.segments {
        if let SegKind::Striped { stripes, .. } = &seg.kind {
            for (pv, _) in stripes {
                if let Some(s) = map.get(*pv).copied().flatten().and_then(|i| sources.get(i)) {
                    if !on.contains(&s.name) {
                        on.push(s.name.clone());
                    }
                }
            }
        }
    }
    on
}

fn unsupported(vg: &VgMeta, lv: &LvMeta, pv: &str, seg_type: &str) -> LvmError {
    LvmError::Unsupported {
        pv: pv.to_owned(),
        vg: vg.name.clone(),
        lv: lv.name.clone(),
        kind: kind_name(seg_type),
    }
}

/// What LVM calls a segment type, in words for messages.
fn kind_name(seg_type: &str) -> String {
    let named = match seg_type {
        "thin-pool" => "thin pool",
        "thin" => "thin volume",
        "snapshot" => "snapshot",
        "cache" => "cache volume",
        "cache-pool" => "cache pool",
        "writecache" => "writecache volume",
        "mirror" => "mirror",
        "vdo" => "VDO volume",
        "vdo-pool" => "VDO pool",
        "integrity" => "integrity volume",
        "layered" => "layered volume",
        "zero" | "error" => "zero/error volume",
        t if t.starts_with("raid") => return format!("RAID volume ({t})"),
        t => return format!("volume of segment type {t:?}"),
    };
    named.to_owned()
}

/// Every PV extent is given to at most one LV segment and lies inside its PV's extents.
fn check_extents(vg: &VgMeta) -> Result<(), LvmError> {
    let mut used: Vec<(usize, u64, u64, &str)> = Vec::new();
    for lv in &vg.lvs {
        for seg in &lv.segments {
            let SegKind::Striped { stripes, .. } = &seg.kind else {
                continue;
            };
            let per = seg.count / (stripes.len().max(1) as u64);
            for &(pv, pe) in stripes {
                let end = pe.saturating_add(per);
                let pe_count = vg.pvs.get(pv).map_or(0, |p| p.pe_count);
                if end > pe_count {
                    return Err(LvmError::Vg {
                        vg: vg.name.clone(),
                        detail: format!(
                            "LV {} uses extents {pe}..{end} of a PV with {pe_count}",
                            lv.name
                        ),
                    });
                }
                if used.len() >= MAX_LVM_SEGMENTS {
                    return Err(LvmError::Vg {
                        vg: vg.name.clone(),
                        detail: format!("more than {MAX_LVM_SEGMENTS} stripes"),
                    });
                }
                used.push((pv, pe, end, &lv.name));
            }
        }
    }
    used.sort_unstable();
    for w in used.windows(2) {
        if let [a, b] = w {
            if a.0 == b.0 && b.1 < a.2 {
                return Err(LvmError::Vg {
                    vg: vg.name.clone(),
                    detail: format!("PV extent {} is used by both {} and {}", b.1, a.3, b.3),
                });
            }
        }
    }
    Ok(())
}

/// The LV as a disk, or why it cannot be one.
fn lv_disk(
    vg: &VgMeta,
    lv: &LvMeta,
    sources: &[PvSource],
    map: &[Option<usize>],
    first_pv: &str,
) -> Result<Disk, LvmError> {
    let bad = |detail: String| LvmError::Vg {
        vg: vg.name.clone(),
        detail: format!("LV {}: {detail}", lv.name),
    };
    if let Some(SegKind::Other(t)) = lv
        .segments
        .iter()
        .map(|s| &s.kind)
        .find(|k| matches!(k, SegKind::Other(_)))
    {
        return Err(unsupported(vg, lv, first_pv, t));
    }
    let mut segs: Vec<_> = lv.segments.iter().collect();
    segs.sort_by_key(|s| s.start);
    let mut pieces = Vec::with_capacity(segs.len());
    let mut next = 0u64;
    for seg in segs {
        if seg.start != next {
            return Err(bad(format!(
                "segments overlap or leave a gap at extent {next}"
            )));
        }
        next = seg
            .start
            .checked_add(seg.count)
            .ok_or_else(|| bad("extent count overflows".into()))?;
        let bytes = |e: u64| {
            e.checked_mul(vg.extent_size)
                .ok_or_else(|| bad("size overflows".into()))
        };
        let SegKind::Striped {
            stripes,
            stripe_size,
        } = &seg.kind
        else {
            continue; // refused above
        };
        let per = seg.count / stripes.len().max(1) as u64;
        let mut mapped = Vec::with_capacity(stripes.len());
        for &(pv, pe) in stripes {
            let meta = vg.pvs.get(pv).ok_or_else(|| bad("bad PV index".into()))?;
            let src = map
                .get(pv)
                .copied()
                .flatten()
                .and_then(|i| sources.get(i))
                .ok_or_else(|| LvmError::MissingPv {
                    vg: vg.name.clone(),
                    lv: lv.name.clone(),
                    pv: meta.id.clone(),
                })?;
            let at = bytes(pe)?
                .checked_add(meta.pe_start)
                .ok_or_else(|| bad("offset overflows".into()))?;
            let len = bytes(per)?;
            if at.checked_add(len).is_none_or(|end| end > src.slice.len()) {
                return Err(bad(format!(
                    "segment at extent {} runs past the end of PV {}",
                    seg.start, src.name
                )));
            }
            mapped.push((src.slice.clone(), at));
        }
        let map = match (mapped.len(), mapped.first()) {
            (1, Some((pv, offset))) => Map::Linear {
                pv: pv.clone(),
                offset: *offset,
            },
            _ => {
                if *stripe_size < MIN_STRIPE
                    || !stripe_size.is_power_of_two()
                    || !vg.extent_size.is_multiple_of(*stripe_size)
                {
                    return Err(bad(format!("bad stripe size {stripe_size}")));
                }
                Map::Striped {
                    stripes: mapped,
                    stripe_size: *stripe_size,
                }
            }
        };
        pieces.push(Piece {
            start: bytes(seg.start)?,
            len: bytes(seg.count)?,
            map,
        });
    }
    let size = next
        .checked_mul(vg.extent_size)
        .ok_or_else(|| bad("size overflows".into()))?;
    if size == 0 {
        return Err(bad("no segments".into()));
    }
    Ok(Disk::from_backing(
        PathBuf::from(format!("{}/{}", vg.name, lv.name)),
        size,
        Box::new(LvBacking::new(pieces)),
    ))
}
