//! Whether asking nf_tables could load a kernel module.
//!
//! On a modular kernel, merely asking loads code: `socket(AF_NETLINK, …,
//! NETLINK_NETFILTER)` calls request_module("net-pf-16-proto-12") when
//! nfnetlink is not registered (netlink_create), and any nf_tables message
//! calls request_module("nfnetlink-subsys-10") when nf_tables is not
//! (nfnetlink_rcv_msg). A host without a firewall would get one from a
//! read-only tool. So nsmap only talks to nf_tables when it is already
//! there: built in (or a kernel without module support, where nothing can
//! be loaded), or loaded, which `/sys/module/nf_tables` shows for every
//! loaded module. nf_tables needs nfnetlink, so it alone is checked.
//! (x_tables needs no such check: its names files exist only while
//! ip_tables/ip6_tables are loaded, see [`super::xtables`].)

use std::path::Path;
use std::sync::OnceLock;

/// What the kernel's build says, found once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Build {
    /// No /proc/modules: a kernel without module support (everything it
    /// has is built in) — or nf_tables listed in modules.builtin.
    BuiltIn,
    /// Modules, and nf_tables listed as one (or the list unreadable).
    Modular,
}

/// Whether nf_tables is in the kernel now, so that asking it loads nothing.
/// `Some(false)`: certainly absent (no tables anywhere); None: cannot tell
/// without risking a load (a modular kernel whose modules.builtin is not
/// visible, and no loaded nf_tables).
pub fn nf_tables_present() -> Option<bool> {
    static BUILD: OnceLock<(Build, bool)> = OnceLock::new();
    let (build, builtin_known) = *BUILD.get_or_init(build);
    match build {
        Build::BuiltIn => Some(true),
        Build::Modular if Path::new("/sys/module/nf_tables").exists() => Some(true),
        Build::Modular if builtin_known => Some(false),
        Build::Modular => None,
    }
}

/// (the build, whether modules.builtin could be read).
fn build() -> (Build, bool) {
    if !Path::new("/proc/modules").exists() {
        return (Build::BuiltIn, true);
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let list = format!("/lib/modules/{}/modules.builtin", release.trim());
    match std::fs::read_to_string(list) {
        Ok(builtin) if lists_nf_tables(&builtin) => (Build::BuiltIn, true),
        Ok(_) => (Build::Modular, true),
        Err(_) => (Build::Modular, false),
    }
}

/// Whether a modules.builtin text lists nf_tables
/// (`kernel/net/netfilter/nf_tables.ko`).
fn lists_nf_tables(builtin: &str) -> bool {
    builtin
        .lines()
        .any(|line| line.rsplit('/').next() == Some("nf_tables.ko"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_builtin_lines_name_the_module_file() {
        let list = "kernel/net/netfilter/nfnetlink.ko\nkernel/net/netfilter/nf_tables.ko\n";
        assert!(lists_nf_tables(list));
        assert!(!lists_nf_tables("kernel/net/netfilter/nf_tables_set.ko\n"));
        assert!(!lists_nf_tables(""));
    }
}
