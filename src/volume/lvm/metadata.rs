//! The typed volume group read from a metadata text: its identity, sequence number, extent
//! size, PVs and LVs with their segments. Only what mapping needs is kept; every count is
//! capped and every number checked, so later stages work on sane values.

use super::text::{Section, Value};
use super::LvmError;
use crate::limits::{MAX_LVM_LVS, MAX_LVM_PVS, MAX_LVM_SEGMENTS};
use std::collections::HashSet;

/// Bytes of the sector unit LVM counts in.
pub const SECTOR: u64 = 512;

/// A physical volume as the VG metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvMeta {
    /// The metadata's key for it (`pv0`).
    pub key: String,
    /// UUID without dashes, as in the PV label.
    pub uuid: String,
    /// UUID as LVM prints it (with dashes), for messages.
    pub id: String,
    /// Where its extents start, in bytes from the PV start.
    pub pe_start: u64,
    pub pe_count: u64,
}

/// Where a segment's data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegKind {
    /// `striped` with one or more stripes: (PV index, first extent) per stripe, and the
    /// stripe size in bytes (unused with one stripe).
    Striped {
        stripes: Vec<(usize, u64)>,
        stripe_size: u64,
    },
    /// Any other segment type, by LVM's name (`thin`, `raid1`, `snapshot`, …), or a striped
    /// segment whose areas are other LVs (layered volumes).
    Other(String),
}

/// One segment: logical extents `start..start+count` of its LV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegMeta {
    pub start: u64,
    pub count: u64,
    pub kind: SegKind,
}

/// A logical volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvMeta {
    pub name: String,
    /// UUID with dashes, as LVM prints it.
    pub uuid: String,
    pub visible: bool,
    pub segments: Vec<SegMeta>,
    /// `cow_store` of a snapshot segment: this LV is a snapshot's exception store.
    pub snapshot_cow: Option<String>,
}

/// A volume group, from one metadata text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VgMeta {
    pub name: String,
    /// UUID with dashes.
    pub uuid: String,
    pub seqno: u64,
    /// Extent size in bytes.
    pub extent_size: u64,
    pub pvs: Vec<PvMeta>,
    pub lvs: Vec<LvMeta>,
}

fn bad(detail: impl Into<String>) -> LvmError {
    LvmError::Metadata(detail.into())
}

/// The VG in a parsed text: the one top-level section (the rest are comments and
/// `contents`/`version`/`description` assignments).
pub fn vg_from_text(root: &Section) -> Result<VgMeta, LvmError> {
    let mut sections = root.sections();
    let vg = sections
        .next()
        .ok_or_else(|| bad("no volume group in the text"))?;
    if sections.next().is_some() {
        return Err(bad("more than one volume group in one text"));
    }
    let uuid = vg.str("id").ok_or_else(|| bad("VG has no id"))?.to_owned();
    let seqno = vg.uint("seqno").ok_or_else(|| bad("VG has no seqno"))?;
    let extent_sectors = vg
        .uint("extent_size")
        .filter(|&e| e > 0)
        .ok_or_else(|| bad("VG has no valid extent_size"))?;
    let extent_size = extent_sectors
        .checked_mul(SECTOR)
        .ok_or_else(|| bad("extent_size overflows"))?;
    let pvs = pvs(vg)?;
    let lvs = lvs(vg, &pvs)?;
    Ok(VgMeta {
        name: vg.name.clone(),
        uuid,
        seqno,
        extent_size,
        pvs,
        lvs,
    })
}

fn pvs(vg: &Section) -> Result<Vec<PvMeta>, LvmError> {
    let Some(sec) = vg.section("physical_volumes") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for pv in sec.sections() {
        if out.len() >= MAX_LVM_PVS {
            return Err(bad(format!("more than {MAX_LVM_PVS} PVs")));
        }
        let field = |k: &str| bad(format!("PV {}: missing or bad {k}", pv.name));
        let id = pv.str("id").ok_or_else(|| field("id"))?.to_owned();
        let uuid = id.replace('-', "");
        let pe_start = pv
            .uint("pe_start")
            .and_then(|s| s.checked_mul(SECTOR))
            .ok_or_else(|| field("pe_start"))?;
        let pe_count = pv.uint("pe_count").ok_or_else(|| field("pe_count"))?;
        if out
            .iter()
            .any(|p: &PvMeta| p.key == pv.name || p.uuid == uuid)
        {
            return Err(bad(format!("PV {} listed twice", pv.name)));
        }
        out.push(PvMeta {
            key: pv.name.clone(),
            uuid,
            id,
            pe_start,
            pe_count,
        });
    }
    Ok(out)
}

fn lvs(vg: &Section, pvs: &[PvMeta]) -> Result<Vec<LvMeta>, LvmError> {
    let Some(sec) = vg.section("logical_volumes") else {
        return Ok(Vec::new());
    };
    let mut out: Vec<LvMeta> = Vec::new();
    let mut names: HashSet<&str> = HashSet::new();
    let mut total_segments = 0usize;
    for lv in sec.sections() {
        if out.len() >= MAX_LVM_LVS {
            return Err(bad(format!("more than {MAX_LVM_LVS} LVs")));
        }
        if !names.insert(&lv.name) {
            return Err(bad(format!("LV {} listed twice", lv.name)));
        }
        let uuid = lv
            .str("id")
            .ok_or_else(|| bad(format!("LV {}: no id", lv.name)))?
            .to_owned();
        let visible = match lv.get("status") {
            Some(Value::Array(a)) => a.contains(&Value::Str("VISIBLE".into())),
            _ => false,
        };
        let mut segments = Vec::new();
        let mut snapshot_cow = None;
        for seg in lv.sections() {
            total_segments += 1;
            if total_segments > MAX_LVM_SEGMENTS {
                return Err(bad(format!("more than {MAX_LVM_SEGMENTS} segments")));
            }
            let s = segment(&lv.name, seg, pvs)?;
            if matches!(&s.kind, SegKind::Other(t) if t == "snapshot") {
                snapshot_cow = seg.str("cow_store").map(str::to_owned);
            }
            segments.push(s);
        }
        out.push(LvMeta {
            name: lv.name.clone(),
            uuid,
            visible,
            segments,
            snapshot_cow,
        });
    }
    Ok(out)
}

fn segment(lv: &str, seg: &Section, pvs: &[PvMeta]) -> Result<SegMeta, LvmError> {
    let field = |k: &str| bad(format!("LV {lv} {}: missing or bad {k}", seg.name));
    let start = seg
        .uint("start_extent")
        .ok_or_else(|| field("start_extent"))?;
    let count = seg
        .uint("extent_count")
        .filter(|&c| c > 0)
        .ok_or_else(|| field("extent_count"))?;
    let seg_type = seg.str("type").ok_or_else(|| field("type"))?;
    let kind = match seg_type {
        "striped" => striped(seg, pvs, count).map_err(field)?,
        other => SegKind::Other(other.to_owned()),
    };
    Ok(SegMeta { start, count, kind })
}

/// A striped segment's areas; a stripe on an LV rather than a PV makes it
/// [`SegKind::Other`] ("layered"), never a reference we would follow.
fn striped(seg: &Section, pvs: &[PvMeta], count: u64) -> Result<SegKind, &'static str> {
    let n = seg
        .uint("stripe_count")
        .filter(|&n| n > 0)
        .ok_or("stripe_count")?;
    let Some(Value::Array(areas)) = seg.get("stripes") else {
        return Err("stripes");
    };
    if u64::try_from(areas.len()).ok() != n.checked_mul(2) {
        return Err("stripes (count)");
    }
    if !count.is_multiple_of(n) {
        return Err("extent_count (not a multiple of stripe_count)");
    }
    let stripe_size = match n {
        1 => 0,
        _ => seg
            .uint("stripe_size")
            .filter(|&s| s > 0)
            .and_then(|s| s.checked_mul(SECTOR))
            .ok_or("stripe_size")?,
    };
    let mut stripes = Vec::new();
    for pair in areas.chunks(2) {
        let (Some(Value::Str(name)), Some(Value::Int(pe))) = (pair.first(), pair.get(1)) else {
            return Err("stripes (entries)");
        };
        let pe = u64::try_from(*pe).map_err(|_| "stripes (extent)")?;
        match pvs.iter().position(|p| &p.key == name) {
            Some(i) => stripes.push((i, pe)),
            None => return Ok(SegKind::Other("layered".into())),
        }
    }
    Ok(SegKind::Striped {
        stripes,
        stripe_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vg(body: &str) -> Result<VgMeta, LvmError> {
        let text = format!("vg {{\nid = \"v\"\nseqno = 1\nextent_size = 8\n{body}\n}}\n");
        vg_from_text(&super::super::text::parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn reads_pvs_and_segments() {
        let v = vg(r#"physical_volumes { pv0 { id = "ab-cd" pe_start = 2048 pe_count = 10 } }
logical_volumes { lv { id = "x" status = ["READ", "VISIBLE"]
segment1 { start_extent = 0 extent_count = 2 type = "striped" stripe_count = 1 stripes = ["pv0", 3] }
segment2 { start_extent = 2 extent_count = 1 type = "thin" } } }"#)
        .unwrap();
        assert_eq!(v.extent_size, 4096);
        assert_eq!(v.pvs[0].uuid, "abcd");
        assert_eq!(v.pvs[0].pe_start, 1 << 20);
        let lv = &v.lvs[0];
        assert!(lv.visible);
        assert_eq!(
            lv.segments[0].kind,
            SegKind::Striped {
                stripes: vec![(0, 3)],
                stripe_size: 0
            }
        );
        assert_eq!(lv.segments[1].kind, SegKind::Other("thin".into()));
    }

    #[test]
    fn refuses_bad_vgs() {
        for body in [
            r#"physical_volumes { pv0 { id = "a" pe_start = 1 } }"#,
            r#"physical_volumes { pv0 { id = "a" pe_start = 1 pe_count = 1 } pv1 { id = "a" pe_start = 1 pe_count = 1 } }"#,
            r#"logical_volumes { lv { id = "x" segment1 { start_extent = 0 extent_count = 0 type = "striped" } } }"#,
            r#"logical_volumes { lv { id = "x" segment1 { start_extent = 0 extent_count = 3 type = "striped" stripe_count = 2 stripes = ["a", 0, "b", 0] stripe_size = 8 } } }"#,
            r#"logical_volumes { lv { id = "x" } lv { id = "y" } }"#,
        ] {
            assert!(vg(body).is_err(), "{body}");
        }
        let many: String = (0..MAX_LVM_LVS + 1)
            .map(|i| format!("l{i} {{ id = \"{i}\" }}\n"))
            .collect();
        let e = vg(&format!("logical_volumes {{ {many} }}")).unwrap_err();
        assert!(e.to_string().contains("more than 4096 LVs"), "{e}");
    }
}
