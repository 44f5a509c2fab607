//! Raw qdiscs → each interface's `qdiscs` (snapshot::tc): handles and
//! parents as tc prints them, the root qdisc first, then the others in
//! the kernel's order (as `tc qdisc show dev X` lists them).

use foldhash::HashMap;

use crate::raw::tc::{RawQdisc, RawTcClass};
use crate::snapshot::tc::{Qdisc, TcClass, classid, handle};

/// A namespace's qdiscs by interface, grouped once.
pub struct ByIfindex {
    /// None when the namespace's qdiscs were not read.
    groups: Option<HashMap<u32, Vec<Qdisc>>>,
}

/// Groups a namespace's dump by ifindex.
pub fn by_ifindex(all: Option<&[RawQdisc]>) -> ByIfindex {
    ByIfindex {
        groups: all.map(|all| {
            let mut groups: HashMap<u32, Vec<Qdisc>> = HashMap::default();
            for q in all {
                groups.entry(q.ifindex).or_default().push(qdisc(q));
            }
            for list in groups.values_mut() {
                // Stable: among the non-root ones, the kernel's order stays.
                list.sort_by_key(|q| q.parent != "root");
            }
            groups
        }),
    }
}

impl ByIfindex {
    /// The qdiscs of interface `ifindex`: empty when it has none, null
    /// when they were not read.
    pub fn take(&mut self, ifindex: u32) -> Option<Vec<Qdisc>> {
        let groups = self.groups.as_mut()?;
        Some(groups.remove(&ifindex).unwrap_or_default())
    }
}

fn qdisc(raw: &RawQdisc) -> Qdisc {
    Qdisc {
        kind: raw.kind.clone(),
        handle: handle(raw.handle),
        parent: classid(raw.parent),
        netem: raw.netem.clone(),
        tbf: raw.tbf.clone(),
        htb: raw.htb.clone(),
        fq_codel: raw.fq_codel.clone(),
        stats: raw.stats.clone(),
        classes: raw
            .classes
            .as_ref()
            .map(|cs| cs.iter().map(class).collect()),
    }
}

fn class(raw: &RawTcClass) -> TcClass {
    TcClass {
        kind: raw.kind.clone(),
        classid: classid(raw.handle),
        parent: classid(raw.parent),
        rate: raw.rate,
        ceil: raw.ceil,
        burst: raw.burst,
        cburst: raw.cburst,
        prio: raw.prio,
        quantum: raw.quantum,
        level: raw.level,
        stats: raw.stats.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_first_then_the_rest_with_tc_handles() {
        let raw = vec![
            RawQdisc {
                ifindex: 2,
                handle: 0xFFFF_0000,
                parent: 0xFFFF_FFF1,
                kind: "ingress".into(),
                ..RawQdisc::default()
            },
            RawQdisc {
                ifindex: 3,
                kind: "noqueue".into(),
                parent: 0xFFFF_FFFF,
                ..RawQdisc::default()
            },
            RawQdisc {
                ifindex: 2,
                handle: 0x0001_0000,
                parent: 0xFFFF_FFFF,
                kind: "htb".into(),
                classes: Some(vec![RawTcClass {
                    handle: 0x0001_0010,
                    parent: 0xFFFF_FFFF,
                    kind: "htb".into(),
                    rate: 125_000,
                    ..RawTcClass::default()
                }]),
                ..RawQdisc::default()
            },
        ];
        let mut grouped = by_ifindex(Some(&raw));
        let q = grouped.take(2).expect("read");
        let shown: Vec<_> = q
            .iter()
            .map(|q| (q.kind.as_str(), q.handle.as_str(), q.parent.as_str()))
            .collect();
        assert_eq!(
            shown,
            [("htb", "1:", "root"), ("ingress", "ffff:", "ffff:fff1")]
        );
        let classes = q[0].classes.as_ref().expect("classes");
        assert_eq!(
            (classes[0].classid.as_str(), classes[0].rate),
            ("1:10", 125_000)
        );
        assert_eq!(grouped.take(9), Some(vec![]));
        assert_eq!(by_ifindex(None).take(2), None);
    }
}
