//! Machines registered with systemd-machined: systemd-nspawn containers
//! and libvirt guests, in cgroups `machine-NAME.scope` with NAME in
//! systemd's unit-name escaping (`-` is `\x2d`). libvirt names its
//! scopes `qemu-N-NAME` / `lxc-PID-NAME`; a QEMU guest's processes share
//! the host's network namespace, a libvirt-lxc one has its own.

use super::{CgroupContainer, Runtime};
use crate::name::Name;

/// `machine-NAME.scope`.
pub fn from_cgroup(parts: &[&str], i: usize) -> Option<CgroupContainer> {
    let part = parts.get(i)?;
    let escaped = part.strip_prefix("machine-")?.strip_suffix(".scope")?;
    let bytes = unescape(escaped);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if text.is_empty() {
        return None;
    }
    let (runtime, id) = match libvirt_name(&text) {
        Some(name) => (Runtime::Libvirt, name.to_string()),
        None => (Runtime::Nspawn, text.clone()),
    };
    let name = if runtime == Runtime::Nspawn {
        Name::from_bytes(&bytes)
    } else {
        Name::from(id.as_str())
    };
    Some(CgroupContainer {
        runtime,
        id,
        name: Some(name),
    })
}

/// `qemu-3-win11` → `win11`; `lxc-4242-box` → `box`.
fn libvirt_name(machine: &str) -> Option<&str> {
    let rest = machine
        .strip_prefix("qemu-")
        .or_else(|| machine.strip_prefix("lxc-"))?;
    let (number, name) = rest.split_once('-')?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
        .then_some(name)
}

/// Reverses systemd's unit-name escaping: `\xNN` is the byte NN.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(hex) = b.get(i + 2..i + 4)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_unescaping() {
        assert_eq!(unescape("build\\x2dbox"), b"build-box");
        assert_eq!(unescape("a\\x2"), b"a\\x2");
        assert_eq!(unescape("\\xzz\\x"), b"\\xzz\\x");
        assert_eq!(unescape("caf\\xc3\\xa9"), "café".as_bytes());
    }

    #[test]
    fn machines() {
        let one = |p: &str| from_cgroup(&[p], 0).map(|c| (c.runtime, c.id));
        assert_eq!(
            one("machine-box.scope"),
            Some((Runtime::Nspawn, "box".into()))
        );
        assert_eq!(
            one("machine-qemu\\x2d1\\x2dvm.scope"),
            Some((Runtime::Libvirt, "vm".into()))
        );
        assert_eq!(
            one("machine-qemu\\x2dx.scope"),
            Some((Runtime::Nspawn, "qemu-x".into()))
        );
        assert_eq!(one("machine-.scope"), None);
        assert_eq!(one("machine.slice"), None);
        assert_eq!(one("machine-libpod_pod_ab.slice"), None);
    }
}
