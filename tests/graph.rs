//! `nsmap graph` on recorded snapshots: insta snapshots of both formats,
//! every DOT output rendered by Graphviz's `dot` (which must be installed:
//! a missing `dot` fails, it does not skip), and every Mermaid output
//! checked by a small grammar of the subset nsmap writes.

use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

use nsmap::graph::{self, Format};
use nsmap::query::Scope;
use nsmap::snapshot::Snapshot;

fn fixture(name: &str) -> Snapshot {
    let path = format!("{}/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    nsmap::input::load(std::path::Path::new(&path), &bytes).expect("fixture loads")
}

fn demo() -> Snapshot {
    fixture("tests/fixtures/demo-l2.json")
}

fn hostile() -> Snapshot {
    fixture("tests/fixtures/hostile.json")
}

fn render(s: &Snapshot, scope: &Scope, format: Format) -> String {
    let mut out = Vec::new();
    graph::write(s, scope, format, &mut out).expect("write");
    String::from_utf8(out).expect("UTF-8")
}

/// Every (snapshot, scope) worth drawing: all of it, and each namespace
/// alone with its neighbours.
fn cases() -> Vec<(String, Snapshot, Scope)> {
    let mut cases = Vec::new();
    for (name, s) in [("demo", demo()), ("hostile", hostile())] {
        cases.push((name.to_string(), s.clone(), Scope(None)));
        for ns in &s.namespaces {
            let label = format!("{name} --ns {}", ns.inode);
            cases.push((label, s.clone(), Scope(Some(vec![ns.inode]))));
        }
    }
    let empty: Snapshot = serde_json::from_str(
        r#"{"schema_version":1,"scan":{"nsmap_version":"x","duration_ms":null,"privileged":true},"namespaces":[],"warnings":[]}"#,
    )
    .expect("empty snapshot");
    cases.push(("empty".into(), empty, Scope(None)));
    cases
}

/// Runs `dot -Tsvg` on `text`; Err with dot's complaint (or its absence).
fn dot_svg(text: &str) -> Result<Vec<u8>, String> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run dot ({e}): install graphviz (apt-get install graphviz)")
        })?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stderr.trim().is_empty() {
        return Err(format!("dot failed ({}): {stderr}", out.status));
    }
    Ok(out.stdout)
}

#[test]
fn demo_dot() {
    insta::assert_snapshot!(render(&demo(), &Scope(None), Format::Dot));
}

#[test]
fn demo_mermaid() {
    insta::assert_snapshot!(render(&demo(), &Scope(None), Format::Mermaid));
}

#[test]
fn demo_dot_of_web_and_its_neighbours() {
    insta::assert_snapshot!(render(&demo(), &Scope(Some(vec![4026532180])), Format::Dot));
}

#[test]
fn hostile_dot() {
    insta::assert_snapshot!(render(&hostile(), &Scope(None), Format::Dot));
}

#[test]
fn hostile_mermaid() {
    insta::assert_snapshot!(render(&hostile(), &Scope(None), Format::Mermaid));
}

#[test]
fn every_dot_output_renders_without_errors() {
    for (name, s, scope) in cases() {
        let text = render(&s, &scope, Format::Dot);
        let svg = dot_svg(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert!(
            String::from_utf8_lossy(&svg).contains("<svg"),
            "{name}: no SVG"
        );
    }
}

#[test]
fn hostile_names_render_as_their_escaped_text() {
    // What the picture shows is exactly nsmap's printed form of each name.
    let svg = dot_svg(&render(&hostile(), &Scope(None), Format::Dot)).expect("renders");
    let svg = String::from_utf8(svg).expect("UTF-8");
    for shown in [
        r"\x1b[31mred",
        r"\x1b[31mx\x07",
        r"bad\xff",
        "q&quot;uote\\\\back",
        "eth&quot;0",
        "$(reboot)",
        "&lt;b&gt;#quot;&amp;amp;{x}|",
        r"a\\b",
    ] {
        assert!(svg.contains(&format!(">{shown}<")), "{shown} not in\n{svg}");
    }
    assert!(!svg.contains('\x1b'));
}

#[test]
fn the_dot_check_can_fail() {
    // The harness above must notice a broken document, not only run dot.
    assert!(dot_svg("graph { a -- }").is_err());
    assert!(dot_svg("graph g { a [label=\"x\" }").is_err());
}

#[test]
fn every_mermaid_output_passes_the_grammar_check() {
    for (name, s, scope) in cases() {
        let text = render(&s, &scope, Format::Mermaid);
        if let Err(e) = check_mermaid(&text) {
            panic!("{name}: {e}\n{text}");
        }
    }
}

#[test]
fn the_mermaid_check_rejects_what_mermaid_would() {
    let ok = "flowchart LR\n  subgraph ns1[\"a\"]\n    n1_2[\"x<br>y\"]\n  end\n  n1_2 === n1_2\n";
    assert_eq!(check_mermaid(ok), Ok(()));
    for (bad, why) in [
        ("graph\n", "header"),
        ("flowchart LR\n  subgraph ns1[\"a\"]\n", "unclosed subgraph"),
        ("flowchart LR\n  end\n", "end without subgraph"),
        ("flowchart LR\n  n1[\"a\"]\n  n1[\"b\"]\n", "duplicate id"),
        ("flowchart LR\n  n1[\"a\"b\"]\n", "raw quote"),
        ("flowchart LR\n  n1[\"#lt\"]\n", "bare #"),
        ("flowchart LR\n  n1[\"a\x1b\"]\n", "control character"),
        (
            "flowchart LR\n  n1[\"a\"]\n  n1 --> n2\n",
            "undeclared edge end",
        ),
        ("flowchart LR\n  end[\"a\"]\n", "keyword id"),
        ("flowchart LR\n  o1[\"a\"]\n", "id read as an edge head"),
        (
            "flowchart LR\n  n1[\"a\"]\n  class n1 nope\n",
            "undefined class",
        ),
    ] {
        assert!(check_mermaid(bad).is_err(), "accepted ({why}):\n{bad}");
    }
}

/// The Mermaid subset nsmap writes, checked line by line: the header, `%%`
/// comments, `subgraph ID["label"]` … `end` (balanced), nodes `ID["label"]`
/// (ids unique across nodes and subgraphs), edges `ID ARROW ID` between
/// declared nodes, `classDef NAME STYLE`, `class ID,… NAME` of declared
/// nodes and classes. Labels: no raw `"`, every `#` starts an entity code
/// (`#quot;`, `#35;`), no control characters.
fn check_mermaid(text: &str) -> Result<(), String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, "flowchart LR")) => {}
        other => return Err(format!("bad header {other:?}")),
    }
    let mut depth = 0usize;
    let mut ids: HashSet<String> = HashSet::new();
    let mut nodes: HashSet<String> = HashSet::new();
    let mut edges: Vec<(usize, String, String)> = Vec::new();
    let mut classes: HashSet<String> = HashSet::new();
    let mut uses: Vec<(usize, String, String)> = Vec::new();
    for (n, line) in lines {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        let t = line.trim();
        if t.starts_with("%%") {
            continue;
        }
        if let Some(rest) = t.strip_prefix("subgraph ") {
            let (id, label) = split_node(rest).map_err(at)?;
            check_id(id).map_err(at)?;
            check_label(label).map_err(at)?;
            if !ids.insert(id.to_string()) {
                return Err(at("duplicate id".into()));
            }
            depth += 1;
        } else if t == "end" {
            depth = depth
                .checked_sub(1)
                .ok_or_else(|| at("end without subgraph".into()))?;
        } else if let Some(rest) = t.strip_prefix("classDef ") {
            let (name, style) = rest.split_once(' ').ok_or_else(|| at("classDef".into()))?;
            check_id(name).map_err(at)?;
            if style.contains('"') || style.contains(';') || style.is_empty() {
                return Err(at("bad style".into()));
            }
            classes.insert(name.to_string());
        } else if let Some(rest) = t.strip_prefix("class ") {
            let (members, name) = rest.split_once(' ').ok_or_else(|| at("class".into()))?;
            for m in members.split(',') {
                uses.push((n + 1, m.to_string(), name.to_string()));
            }
        } else if t.contains("[\"") {
            let (id, label) = split_node(t).map_err(at)?;
            check_id(id).map_err(at)?;
            check_label(label).map_err(at)?;
            if !ids.insert(id.to_string()) {
                return Err(at("duplicate id".into()));
            }
            nodes.insert(id.to_string());
        } else {
            let parts: Vec<&str> = t.split(' ').collect();
            let [from, arrow, to] = parts[..] else {
                return Err(at("not a known statement".into()));
            };
            if !["===", "---", "-.-", "-->", "-.->"].contains(&arrow) {
                return Err(at(format!("unknown edge {arrow}")));
            }
            check_id(from).map_err(at)?;
            check_id(to).map_err(at)?;
            edges.push((n + 1, from.to_string(), to.to_string()));
        }
    }
    if depth != 0 {
        return Err(format!("{depth} subgraph(s) not closed"));
    }
    for (line, from, to) in &edges {
        for end in [from, to] {
            if !nodes.contains(end) {
                return Err(format!(
                    "line {line}: edge end {end} is not a declared node"
                ));
            }
        }
    }
    for (line, member, class) in &uses {
        if !nodes.contains(member) || !classes.contains(class) {
            return Err(format!("line {line}: class {class} of {member}"));
        }
    }
    Ok(())
}

/// `ID["label"]` → (ID, label).
fn split_node(s: &str) -> Result<(&str, &str), String> {
    let (id, rest) = s.split_once("[\"").ok_or("no [\"")?;
    let label = rest.strip_suffix("\"]").ok_or("no closing \"]")?;
    Ok((id, label))
}

fn check_id(id: &str) -> Result<(), String> {
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("bad id {id:?}"));
    }
    if [
        "end",
        "subgraph",
        "graph",
        "flowchart",
        "class",
        "classDef",
        "style",
    ]
    .contains(&id)
    {
        return Err(format!("keyword id {id:?}"));
    }
    if id.starts_with('o') || id.starts_with('x') {
        return Err(format!("id {id:?} would read as an edge head after ---"));
    }
    Ok(())
}

fn check_label(label: &str) -> Result<(), String> {
    if label.contains('"') {
        return Err("raw quote in label".into());
    }
    if label
        .chars()
        .any(|c| c.is_control() || nsmap::name::needs_terminal_escape(c))
    {
        return Err("control character in label".into());
    }
    let mut rest = label;
    while let Some(i) = rest.find('#') {
        let after = &rest[i + 1..];
        let end = after.find(';').ok_or("# without ;")?;
        let entity = &after[..end];
        let named = !entity.is_empty() && entity.chars().all(|c| c.is_ascii_alphabetic());
        let numeric = !entity.is_empty() && entity.chars().all(|c| c.is_ascii_digit());
        if !named && !numeric {
            return Err(format!("# not starting an entity code: #{entity};"));
        }
        rest = &after[end + 1..];
    }
    for (i, _) in label.match_indices('<') {
        if !label[i..].starts_with("<br>") {
            return Err("raw < in label".into());
        }
    }
    if label.replace("<br>", "").contains('>') {
        return Err("raw > in label".into());
    }
    Ok(())
}

#[test]
fn cli_draws_what_the_library_draws() {
    let path = format!("{}/tests/fixtures/demo-l2.json", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_nsmap"))
        .args([
            "graph", "--format", "mermaid", "--ns", "web", "--input", &path,
        ])
        .output()
        .expect("run nsmap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).expect("UTF-8"),
        render(&demo(), &Scope(Some(vec![4026532180])), Format::Mermaid)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_nsmap"))
        .args(["graph", "--input", &path])
        .output()
        .expect("run nsmap");
    assert_eq!(
        String::from_utf8(out.stdout).expect("UTF-8"),
        render(&demo(), &Scope(None), Format::Dot),
        "DOT is the default"
    );
}
