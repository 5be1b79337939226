//! An in-memory [`Filesystem`] for unit tests of the guest view.

use crate::fs::{FileKind, Filesystem, FsError, FsInfo, FsPath, FsType, Stat};
use std::collections::BTreeMap;
use std::io::Read;

enum Node {
    File(Vec<u8>),
    Dir,
    Link(Vec<u8>),
}

/// Paths are absolute byte strings; parents are created implicitly as directories.
pub struct MemFs {
    info: FsInfo,
    nodes: BTreeMap<Vec<u8>, Node>,
}

impl MemFs {
    pub fn new(uuid: &str, label: &str) -> MemFs {
        let mut nodes = BTreeMap::new();
        nodes.insert(b"/".to_vec(), Node::Dir);
        MemFs {
            info: FsInfo {
                fs_type: FsType::Ext4,
                uuid: uuid.into(),
                label: label.into(),
            },
            nodes,
        }
    }

    fn parents(&mut self, path: &str) {
        let mut p = String::new();
        for c in path
            .split('/')
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .split_last()
            .map(|x| x.1)
            .unwrap_or(&[])
        {
            p.push('/');
            p.push_str(c);
            self.nodes
                .entry(p.clone().into_bytes())
                .or_insert(Node::Dir);
        }
    }

    pub fn file(mut self, path: &str, data: &[u8]) -> MemFs {
        self.parents(path);
        self.nodes
            .insert(path.as_bytes().to_vec(), Node::File(data.to_vec()));
        self
    }

    pub fn dir(mut self, path: &str) -> MemFs {
        self.parents(path);
        self.nodes.insert(path.as_bytes().to_vec(), Node::Dir);
        self
    }

    pub fn link(mut self, path: &str, target: &str) -> MemFs {
        self.parents(path);
        self.nodes.insert(
            path.as_bytes().to_vec(),
            Node::Link(target.as_bytes().to_vec()),
        );
        self
    }

    fn get(&self, path: &[u8]) -> Option<&Node> {
        self.nodes.get(path)
    }
}

impl Filesystem for MemFs {
    fn info(&self) -> &FsInfo {
        &self.info
    }

    fn stat(&self, path: FsPath<'_>) -> Result<Option<Stat>, FsError> {
        Ok(self.get(path).map(|n| match n {
            Node::File(d) => Stat {
                kind: FileKind::File,
                size: d.len() as u64,
            },
            Node::Dir => Stat {
                kind: FileKind::Dir,
                size: 0,
            },
            Node::Link(t) => Stat {
                kind: FileKind::Symlink,
                size: t.len() as u64,
            },
        }))
    }

    fn read_link(&self, path: FsPath<'_>) -> Result<Vec<u8>, FsError> {
        match self.get(path) {
            Some(Node::Link(t)) => Ok(t.clone()),
            _ => Err(FsError::Path {
                path: String::from_utf8_lossy(path).into(),
                what: "not a symlink".into(),
            }),
        }
    }

    fn open(&self, path: FsPath<'_>) -> Result<Box<dyn Read + '_>, FsError> {
        match self.get(path) {
            Some(Node::File(d)) => Ok(Box::new(&d[..])),
            _ => Err(FsError::Path {
                path: String::from_utf8_lossy(path).into(),
                what: "not a file".into(),
            }),
        }
    }
}
