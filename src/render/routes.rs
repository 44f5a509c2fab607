//! `nsmap routes`: every route of every namespace, like `ip route show
//! table all` run in each, with the namespace named.

use std::io::{self, Write};

use serde::Serialize;

use super::{Cell, Color, Style, Table};
use crate::query::Scope;
use crate::snapshot::l3::{Family, TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN};
use crate::snapshot::{LinkRef, Route, Snapshot};

/// Which routes to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// One table (id), or every table.
    pub table: Option<u32>,
    /// One family, or both.
    pub family: Option<Family>,
}

/// A `routes --json` row: the route's fields plus its namespace.
#[derive(Debug, Serialize)]
pub struct RouteRow<'a> {
    pub netns: u64,
    pub netns_name: String,
    #[serde(flatten)]
    pub route: &'a Route,
}

/// Routes of the namespaces in `scope`, in each namespace's kernel order,
/// and the labels of scanned namespaces that have no layer-3 data.
pub fn rows<'a>(
    snapshot: &'a Snapshot,
    scope: &Scope,
    filter: Filter,
) -> (Vec<RouteRow<'a>>, Vec<String>) {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for ns in snapshot
        .namespaces
        .iter()
        .filter(|n| scope.contains(n.inode))
    {
        let Some(routes) = &ns.routes else {
            if ns.scanned {
                missing.push(ns.label());
            }
            continue;
        };
        let label = ns.label();
        rows.extend(
            routes
                .iter()
                .filter(|r| filter.table.is_none_or(|t| t == r.table))
                .filter(|r| filter.family.is_none_or(|f| f == r.family))
                .map(|route| RouteRow {
                    netns: ns.inode,
                    netns_name: label.clone(),
                    route,
                }),
        );
    }
    (rows, missing)
}

/// A table name for humans: `main`, `local`, `default`, or the number.
pub fn table_name(table: u32) -> String {
    match table {
        TABLE_MAIN => "main".into(),
        TABLE_LOCAL => "local".into(),
        TABLE_DEFAULT => "default".into(),
        other => other.to_string(),
    }
}

/// `--table T` as parsed: one table, or None for every table (a newtype:
/// clap reads a bare `Option` as "the argument may be absent").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableArg(pub Option<u32>);

/// `--table T`: a name or a number; `all` is every table.
pub fn parse_table(text: &str) -> Result<TableArg, String> {
    let table = match text {
        "all" => None,
        "main" => Some(TABLE_MAIN),
        "local" => Some(TABLE_LOCAL),
        "default" => Some(TABLE_DEFAULT),
        other => Some(other.parse().map_err(|_| {
            format!("'{other}' is not a table: use main, local, default, all or a number")
        })?),
    };
    Ok(TableArg(table))
}

/// `0.0.0.0/0` as `default`, host routes without `/32`: how `ip route`
/// prints destinations.
pub fn dst_text(route: &Route) -> String {
    let (addr, len) = route.dst.split_once('/').unwrap_or((&route.dst, ""));
    let full = match route.family {
        Family::Inet => "32",
        Family::Inet6 => "128",
    };
    if len == "0" {
        "default".into()
    } else if len == full {
        addr.to_string()
    } else {
        route.dst.clone()
    }
}

fn dev_text(dev: &Option<LinkRef>) -> Option<String> {
    dev.as_ref().map(LinkRef::name_or_index)
}

pub fn write_table(rows: &[RouteRow<'_>], style: &Style, out: &mut impl Write) -> io::Result<()> {
    let mut table = Table::new(&[
        "NETNS", "TABLE", "TYPE", "DST", "VIA", "DEV", "PROTO", "SCOPE", "METRIC", "SRC", "FLAGS",
    ]);
    for row in rows {
        let r = row.route;
        let (via, dev) = if r.nexthops.is_empty() {
            (r.gateway.map(|g| g.to_string()), dev_text(&r.dev))
        } else {
            let via: Vec<String> = r
                .nexthops
                .iter()
                .map(|p| {
                    format!(
                        "{}{}",
                        p.gateway.map_or_else(|| "-".into(), |g| g.to_string()),
                        if p.weight > 1 {
                            format!("*{}", p.weight)
                        } else {
                            String::new()
                        }
                    )
                })
                .collect();
            let devs: Vec<String> = r.nexthops.iter().filter_map(|p| dev_text(&p.dev)).collect();
            (Some(via.join(",")), Some(devs.join(",")))
        };
        let kind_color = match r.kind.as_str() {
            "blackhole" | "unreachable" | "prohibit" => Some(Color::Red),
            "local" | "broadcast" | "multicast" => Some(Color::Dim),
            _ => None,
        };
        let mut flags = r.flags.clone();
        if let Some(id) = r.nhid {
            flags.push(format!("nhid {id}"));
        }
        table.push(vec![
            Cell::new(&row.netns_name),
            Cell::new(table_name(r.table)),
            Cell::colored(&r.kind, kind_color),
            Cell::colored(dst_text(r), Some(Color::Bold)),
            Cell::opt(via),
            Cell::opt(dev),
            Cell::new(&r.protocol),
            Cell::new(&r.scope),
            Cell::opt(r.metric.map(|m| m.to_string())),
            Cell::opt(r.prefsrc.map(|s| s.to_string())),
            Cell::opt((!flags.is_empty()).then(|| flags.join(","))),
        ]);
    }
    table.write(style, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_by_name_and_number() {
        assert_eq!(parse_table("main"), Ok(TableArg(Some(254))));
        assert_eq!(parse_table("100"), Ok(TableArg(Some(100))));
        assert_eq!(parse_table("all"), Ok(TableArg(None)));
        assert!(parse_table("nope").is_err());
        assert_eq!(table_name(253), "default");
    }
}
