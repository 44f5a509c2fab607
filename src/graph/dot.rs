//! The [`Graph`] in Graphviz DOT: `nsmap graph | dot -Tsvg > map.svg`.
//!
//! An undirected `graph`: a `subgraph cluster_<inode>` per namespace,
//! edges after all clusters (an edge inside a cluster would pull its nodes
//! into it). Veth pairs are bold, bridge ports thin, lower links dashed
//! arrows to the lower device; down interfaces are dashed and grey. Edges
//! are written host side first, so `rankdir=LR` puts bridges on the left
//! and containers on the right.
//!
//! Escaping (see [`quote`]): a label is made terminal-safe first, then `\`
//! and `"` are backslash-escaped (so no `\N`, `\l` or `\G` escape of
//! Graphviz can be formed by a name) and `&` is written `&amp;` (Graphviz
//! decodes HTML entities even in quoted labels, so a name `&lt;` would
//! otherwise show as `<`). Ids are generated ASCII and need no quoting.

use std::io::{self, Write};

use super::{EdgeKind, Graph, Node, NodeKind};
use crate::name::terminal_safe;

/// A DOT double-quoted string showing `text` exactly.
pub fn quote(text: &str) -> String {
    let safe = terminal_safe(text);
    let mut out = String::with_capacity(safe.len() + 2);
    out.push('"');
    for c in safe.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Label lines joined with DOT's centred line break `\n`.
fn label(lines: &[String]) -> String {
    let quoted: Vec<String> = lines.iter().map(|l| quote(l)).collect();
    // Each part is `"…"`: strip the quotes and join inside one pair.
    let inner: Vec<&str> = quoted.iter().map(|q| &q[1..q.len() - 1]).collect();
    format!("\"{}\"", inner.join("\\n"))
}

fn node_line(node: &Node) -> String {
    let mut attrs = vec![format!("label={}", label(&node.lines))];
    let mut style = vec!["rounded"];
    match node.kind {
        NodeKind::Interface => {}
        NodeKind::Bridge => style.push("bold"),
        NodeKind::Unknown => style.push("dotted"),
        NodeKind::Placeholder => {
            attrs.push("shape=plaintext".into());
            attrs.push("fontcolor=gray40".into());
        }
    }
    if node.down {
        style.push("dashed");
        attrs.push("color=gray50".into());
        attrs.push("fontcolor=gray50".into());
    }
    if node.kind != NodeKind::Placeholder && style != ["rounded"] {
        attrs.push(format!("style=\"{}\"", style.join(",")));
    }
    format!("{} [{}];", node.id, attrs.join(", "))
}

pub fn write(graph: &Graph, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "// nsmap graph: a cluster per network namespace, a node per interface (lo omitted)."
    )?;
    writeln!(
        out,
        "// Bold: veth pairs. Thin: bridge ports. Dashed arrows: lower devices. Dashed grey: down."
    )?;
    writeln!(out, "graph nsmap {{")?;
    writeln!(
        out,
        "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11];"
    )?;
    writeln!(
        out,
        "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];"
    )?;
    writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];")?;
    for cluster in &graph.clusters {
        writeln!(out)?;
        writeln!(out, "  subgraph cluster_{} {{", cluster.inode)?;
        writeln!(out, "    label={};", quote(&cluster.label))?;
        for node in &cluster.nodes {
            writeln!(out, "    {}", node_line(node))?;
        }
        writeln!(out, "  }}")?;
    }
    if !graph.loose.is_empty() {
        writeln!(out)?;
        for node in &graph.loose {
            writeln!(out, "  {}", node_line(node))?;
        }
    }
    if !graph.edges.is_empty() {
        writeln!(out)?;
    }
    for edge in &graph.edges {
        let attrs = match edge.kind {
            EdgeKind::Veth => " [penwidth=2]",
            EdgeKind::Port => "",
            // Drawn from the lower device, the arrow pointing back at it.
            EdgeKind::Lower => " [style=dashed, dir=back]",
        };
        writeln!(out, "  {} -- {}{attrs};", edge.from, edge.to)?;
    }
    writeln!(out, "}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_backslashes_and_entities_are_escaped() {
        assert_eq!(quote("eth0"), "\"eth0\"");
        assert_eq!(quote("q\"uote"), "\"q\\\"uote\"");
        // nsmap's escaped form of byte 0xff stays visible as text.
        assert_eq!(quote("bad\\xff"), "\"bad\\\\xff\"");
        assert_eq!(quote("a\\N"), "\"a\\\\N\"");
        assert_eq!(quote("&lt;b&gt;"), "\"&amp;lt;b&amp;gt;\"");
    }

    #[test]
    fn control_characters_become_visible_text() {
        assert_eq!(quote("\x1b[31mx\n"), "\"\\\\x1b[31mx\\\\x0a\"");
        assert_eq!(quote("a\u{202e}b"), "\"a\\\\u{202e}b\"");
    }

    #[test]
    fn multi_line_labels() {
        assert_eq!(label(&["eth0".into(), "veth".into()]), "\"eth0\\nveth\"");
    }
}
