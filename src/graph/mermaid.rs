//! The [`Graph`] as a Mermaid flowchart, for Markdown renderers (GitHub,
//! GitLab) and mermaid.live.
//!
//! `flowchart LR`, a `subgraph ns<inode>["label"]` per namespace, nodes as
//! `id["line<br>line"]`, then the edges: `===` (thick) for veth pairs,
//! `---` for bridge ports, `-.-` (dotted) from a lower device to what is
//! stacked on it (host side first, so `LR` puts it on the left). Down
//! interfaces get `class … down` (dashed grey). Ids are generated ASCII
//! starting with `n`, `u`, `e` or `ns`, never a keyword like `end`, and
//! never starting with `o`/`x`, which Mermaid would read as an edge head.
//!
//! Escaping (see [`quote`]): a label is made terminal-safe first; then
//! Mermaid's entity codes replace what its parser or its HTML labels would
//! interpret: `"` → `#quot;`, `#` → `#35;` (else a name like `#lt;` would
//! become an entity), `&` → `#amp;`, `<` → `#lt;`, `>` → `#gt;`, and the
//! backtick (markdown strings) → `#96;`.

use std::io::{self, Write};

use super::{EdgeKind, Graph, Node, NodeKind};
use crate::name::terminal_safe;

/// A Mermaid `"…"` label showing `text` exactly.
pub fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

fn escape(text: &str) -> String {
    let safe = terminal_safe(text);
    let mut out = String::with_capacity(safe.len());
    for c in safe.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '`' => out.push_str("#96;"),
            c => out.push(c),
        }
    }
    out
}

fn node_line(node: &Node) -> String {
    let lines: Vec<String> = node.lines.iter().map(|l| escape(l)).collect();
    format!("{}[\"{}\"]", node.id, lines.join("<br>"))
}

/// Node ids per class, in output order.
fn class_members<'a>(graph: &'a Graph, class: &str) -> Vec<&'a str> {
    let nodes = graph
        .clusters
        .iter()
        .flat_map(|c| &c.nodes)
        .chain(&graph.loose);
    nodes
        .filter(|n| match class {
            "down" => n.down,
            "bridge" => n.kind == NodeKind::Bridge,
            "unknown" => n.kind == NodeKind::Unknown,
            "placeholder" => n.kind == NodeKind::Placeholder,
            _ => false,
        })
        .map(|n| n.id.as_str())
        .collect()
}

const CLASSES: &[(&str, &str)] = &[
    ("bridge", "stroke-width:3px"),
    ("unknown", "stroke-dasharray:2 2"),
    ("placeholder", "fill:none,stroke:none,color:#666"),
    ("down", "stroke-dasharray:5 5,stroke:#888,color:#888"),
];

pub fn write(graph: &Graph, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "flowchart LR")?;
    writeln!(
        out,
        "  %% nsmap graph: a subgraph per network namespace, a node per interface (lo omitted)."
    )?;
    writeln!(
        out,
        "  %% === veth pairs, --- bridge ports, -.- lower devices; dashed grey: down."
    )?;
    for cluster in &graph.clusters {
        writeln!(
            out,
            "  subgraph ns{}[{}]",
            cluster.inode,
            quote(&cluster.label)
        )?;
        for node in &cluster.nodes {
            writeln!(out, "    {}", node_line(node))?;
        }
        writeln!(out, "  end")?;
    }
    for node in &graph.loose {
        writeln!(out, "  {}", node_line(node))?;
    }
    for edge in &graph.edges {
        let arrow = match edge.kind {
            EdgeKind::Veth => "===",
            EdgeKind::Port => "---",
            EdgeKind::Lower => "-.-",
        };
        writeln!(out, "  {} {arrow} {}", edge.from, edge.to)?;
    }
    for (class, style) in CLASSES {
        writeln!(out, "  classDef {class} {style}")?;
    }
    for (class, _) in CLASSES {
        let members = class_members(graph, class);
        if !members.is_empty() {
            writeln!(out, "  class {} {class}", members.join(","))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_syntax_characters_become_entities() {
        assert_eq!(quote("eth0"), "\"eth0\"");
        assert_eq!(quote("q\"uote"), "\"q#quot;uote\"");
        assert_eq!(quote("#quot;"), "\"#35;quot;\"");
        assert_eq!(quote("<b>&`x`"), "\"#lt;b#gt;#amp;#96;x#96;\"");
        // Backslashes mean nothing to Mermaid: nsmap's escaped form shows as is.
        assert_eq!(quote("bad\\xff"), "\"bad\\xff\"");
    }

    #[test]
    fn control_characters_become_visible_text() {
        assert_eq!(quote("\x1b[31m"), "\"\\x1b[31m\"");
        assert_eq!(quote("a\nb"), "\"a\\x0ab\"");
    }
}
