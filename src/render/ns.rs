//! `nsmap ns`: one row per namespace.

use std::io::{self, Write};

use super::{Cell, Color, Style, Table};
use crate::attribution::short_id;
use crate::snapshot::Namespace;

pub fn write_table<'a>(
    namespaces: impl IntoIterator<Item = &'a Namespace>,
    style: &Style,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut table = Table::new(&[
        "INODE",
        "NETNS",
        "PIDS",
        "PROCESS",
        "CONTAINERS",
        "IFACES",
        "MOUNTS",
        "ROLE",
    ]);
    for ns in namespaces {
        let process = ns
            .process
            .as_ref()
            .map(|p| format!("{}({})", p.comm.as_str(), p.pid));
        let ifaces = if ns.scanned {
            Cell::new(ns.interfaces.len().to_string())
        } else {
            Cell::colored("?", Some(Color::Yellow))
        };
        let mounts: Vec<&str> = ns.mounts.iter().map(|m| m.as_str()).collect();
        let role: Vec<&str> = [
            (ns.host, "host"),
            (ns.current, "current"),
            (!ns.scanned, "not-scanned"),
        ]
        .into_iter()
        .filter_map(|(on, word)| on.then_some(word))
        .collect();
        table.push(vec![
            Cell::new(ns.inode.to_string()),
            Cell::colored(ns.label(), Some(Color::Bold)),
            Cell::new(ns.pids.len().to_string()),
            Cell::opt(process),
            Cell::opt(containers(ns)),
            ifaces,
            Cell::opt((!mounts.is_empty()).then(|| mounts.join(","))),
            Cell::new(role.join(",")),
        ]);
    }
    table.write(style, out)
}

/// Containers shown per row before `+N`: a wide pod must not push the
/// other columns off the screen (`--json` lists them all).
const CONTAINERS_SHOWN: usize = 3;

/// The namespace's containers by name (short id when unnamed; pod
/// sandboxes are left out, the NETNS column already names the pod).
/// Container names are anyone's choice: `Cell` makes them terminal-safe.
fn containers(ns: &Namespace) -> Option<String> {
    let labels: Vec<String> = ns
        .containers
        .iter()
        .filter(|c| c.name.is_some() || c.pod.is_none())
        .map(|c| match &c.name {
            Some(name) => name.as_str().to_string(),
            None => short_id(c.id.as_str()).to_string(),
        })
        .collect();
    if labels.is_empty() {
        return None;
    }
    let mut shown = labels[..labels.len().min(CONTAINERS_SHOWN)].join(",");
    if labels.len() > CONTAINERS_SHOWN {
        shown.push_str(&format!(",+{}", labels.len() - CONTAINERS_SHOWN));
    }
    Some(shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Container;
    use crate::name::Name;

    fn ctr(name: Option<&str>, pod: Option<&str>) -> Container {
        Container {
            runtime: "containerd".into(),
            id: Name::from("abcdef0123456789"),
            name: name.map(Name::from),
            pod: pod.map(Name::from),
            ..Container::default()
        }
    }

    #[test]
    fn many_containers_are_capped_and_sandboxes_left_out() {
        let mut ns = Namespace::default();
        assert_eq!(containers(&ns), None);
        ns.containers = vec![ctr(None, Some("web"))];
        assert_eq!(containers(&ns), None);
        ns.containers = vec![
            ctr(None, Some("web")),
            ctr(Some("a"), Some("web")),
            ctr(Some("b"), Some("web")),
            ctr(Some("c"), Some("web")),
            ctr(Some("d"), Some("web")),
            ctr(None, None),
        ];
        assert_eq!(containers(&ns).as_deref(), Some("a,b,c,+2"));
        ns.containers = vec![ctr(None, None)];
        assert_eq!(containers(&ns).as_deref(), Some("abcdef012345"));
    }
}
