//! `nsmap ns`: one row per namespace.

use std::io::{self, Write};

use super::{Cell, Color, Style, Table};
use crate::snapshot::Namespace;

pub fn write_table<'a>(
    namespaces: impl IntoIterator<Item = &'a Namespace>,
    style: &Style,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut table = Table::new(&[
        "INODE", "NETNS", "PIDS", "PROCESS", "IFACES", "MOUNTS", "ROLE",
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
            ifaces,
            Cell::opt((!mounts.is_empty()).then(|| mounts.join(","))),
            Cell::new(role.join(",")),
        ]);
    }
    table.write(style, out)
}
