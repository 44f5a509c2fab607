//! Fix hints: shell commands that run in the right namespace, with every
//! kernel name quoted so that pasting the hint does exactly what it says.
//!
//! Interface names may hold `$(…)`, quotes, backticks, control characters
//! and bytes that are not UTF-8. A hint is meant to be copied into a shell,
//! so each name is quoted from its kernel bytes ([`Name::to_bytes`]): plain
//! names stay bare, printable ones get single quotes, anything else becomes
//! a `$'…'` string with `\xNN` escapes (bash, zsh, ksh, busybox sh and
//! POSIX.1-2024 sh understand it). The result never holds a control
//! character, so it is also safe to print.

use crate::name::{Name, shell_quote};
use crate::snapshot::Namespace;

/// Quotes `name`'s kernel bytes for a POSIX shell (see [`shell_quote`]).
pub fn quote(name: &Name) -> String {
    shell_quote(&name.to_bytes())
}

pub use crate::name::shell_quote as quote_bytes;

/// The command that removes a stale /run/netns entry, by what it is: a
/// mount of another namespace type is unmounted first, a directory is
/// removed only if empty (`rmdir`, never `rm -r`), anything else is `rm`.
pub fn remove_stale(path: &Name, what: &str) -> String {
    let quoted = quote(path);
    if what.starts_with("a mount of") {
        format!("umount {quoted} && rm {quoted}")
    } else if what == "a directory" {
        format!("rmdir {quoted}")
    } else {
        format!("rm {quoted}")
    }
}

/// The command prefix that runs `tool` (`ip`, `bridge`) in `ns`: `ip -n
/// NAME` for an ip-netns name, plain `ip` for nsmap's own namespace, else
/// `nsenter` through a bind mount, the host's PID 1, a process, a thread or
/// a holder's file descriptor. None when nothing reaches the namespace.
pub fn command_in(ns: &Namespace, tool: &str) -> Option<String> {
    if let Some(name) = ns.names.first() {
        return Some(format!("{tool} -n {}", quote(name)));
    }
    if ns.current {
        return Some(tool.to_string());
    }
    if let Some(mount) = ns.mounts.first() {
        return Some(format!("nsenter --net={} {tool}", quote(mount)));
    }
    if ns.host {
        return Some(format!("nsenter -t 1 -n {tool}"));
    }
    if let Some(pid) = ns.pids.first() {
        return Some(format!("nsenter -t {pid} -n {tool}"));
    }
    if let Some(t) = ns.threads.first() {
        return Some(format!("nsenter -t {} -n {tool}", t.tid));
    }
    if let Some(h) = ns.holders.first() {
        return Some(format!("nsenter --net=/proc/{}/fd/{} {tool}", h.pid, h.fd));
    }
    None
}

/// Any `command` run inside `ns` (`sysctl -w …`): `ip netns exec NAME`
/// for an ip-netns name, as it is for nsmap's own namespace, else through
/// `nsenter` (see [`command_in`]).
pub fn exec_in(ns: &Namespace, command: &str) -> Option<String> {
    if let Some(name) = ns.names.first() {
        return Some(format!("ip netns exec {} {command}", quote(name)));
    }
    command_in(ns, command)
}

/// `ip … ARGS` in `ns`, where `args` already holds quoted names.
pub fn ip(ns: &Namespace, args: &str) -> Option<String> {
    command_in(ns, "ip").map(|ip| format!("{ip} {args}"))
}

/// `bridge … ARGS` in `ns`.
pub fn bridge(ns: &Namespace, args: &str) -> Option<String> {
    command_in(ns, "bridge").map(|b| format!("{b} {args}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::needs_terminal_escape;
    use crate::snapshot::{Holder, ThreadRef};

    #[test]
    fn plain_names_stay_bare() {
        assert_eq!(quote(&Name::from("eth0")), "eth0");
        assert_eq!(quote(&Name::from("veth3f2a91c0")), "veth3f2a91c0");
        assert_eq!(quote(&Name::from("br-ext.100")), "br-ext.100");
    }

    #[test]
    fn shell_syntax_is_quoted() {
        assert_eq!(quote(&Name::from("$(reboot)")), "'$(reboot)'");
        assert_eq!(quote(&Name::from("it's")), r"'it'\''s'");
        assert_eq!(quote(&Name::from("q\"uote\\back")), "'q\"uote\\back'");
        assert_eq!(quote(&Name::from("vethé")), "'vethé'");
        assert_eq!(quote(&Name::from("")), "''");
    }

    #[test]
    fn controls_and_invalid_utf8_become_ansi_c_quotes() {
        // The escaped form bad\xff is the kernel byte 0xff, not four characters.
        assert_eq!(quote(&Name::from_bytes(b"bad\xff")), r"$'bad\xff'");
        assert_eq!(
            quote(&Name::from_bytes(b"\x1b[31mx'\\")),
            r"$'\x1b[31mx\'\\'"
        );
        let q = quote(&Name::from_bytes("a\u{202e}b".as_bytes()));
        assert_eq!(q, r"$'a\xe2\x80\xaeb'");
        assert!(!q.chars().any(needs_terminal_escape));
    }

    #[test]
    fn every_byte_round_trips_through_bash() {
        // What the hint says is what the shell passes to ip.
        let all: Vec<u8> = (1..=255).collect();
        let quoted = quote_bytes(&all);
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {quoted}"))
            .output()
            .expect("bash runs");
        assert_eq!(out.stdout, all);
    }

    #[test]
    fn commands_reach_each_kind_of_namespace() {
        let named = Namespace {
            names: vec![Name::from("web")],
            mounts: vec![Name::from("/run/netns/web")],
            ..Namespace::default()
        };
        assert_eq!(
            ip(&named, "link set eth0 up").as_deref(),
            Some("ip -n web link set eth0 up")
        );
        let own = Namespace {
            current: true,
            host: true,
            ..Namespace::default()
        };
        assert_eq!(command_in(&own, "bridge").as_deref(), Some("bridge"));
        let docker = Namespace {
            mounts: vec![Name::from("/run/docker/netns/ab12")],
            pids: vec![7],
            ..Namespace::default()
        };
        assert_eq!(
            command_in(&docker, "ip").as_deref(),
            Some("nsenter --net=/run/docker/netns/ab12 ip")
        );
        let other_host = Namespace {
            host: true,
            pids: vec![1],
            ..Namespace::default()
        };
        assert_eq!(
            command_in(&other_host, "ip").as_deref(),
            Some("nsenter -t 1 -n ip")
        );
        let pod = Namespace {
            pids: vec![5945],
            ..Namespace::default()
        };
        assert_eq!(
            command_in(&pod, "ip").as_deref(),
            Some("nsenter -t 5945 -n ip")
        );
        let thread = Namespace {
            threads: vec![ThreadRef { pid: 3, tid: 4 }],
            ..Namespace::default()
        };
        assert_eq!(
            command_in(&thread, "ip").as_deref(),
            Some("nsenter -t 4 -n ip")
        );
        let held = Namespace {
            holders: vec![Holder { pid: 9, fd: 7 }],
            ..Namespace::default()
        };
        assert_eq!(
            command_in(&held, "ip").as_deref(),
            Some("nsenter --net=/proc/9/fd/7 ip")
        );
        assert_eq!(command_in(&Namespace::default(), "ip"), None);
        let evil = Namespace {
            names: vec![Name::from_bytes(b"\x1b[31mred")],
            ..Namespace::default()
        };
        assert_eq!(
            command_in(&evil, "ip").as_deref(),
            Some(r"ip -n $'\x1b[31mred'")
        );
    }
}
