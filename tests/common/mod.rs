//! Real topologies for root tests: namespaces, links, processes and mounts
//! made with iproute2 under names unique to one test, all removed by `Drop`
//! — also when the test panics.
#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::ffi::OsStr;
use std::hash::{Hash, Hasher};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Everything one test created, torn down in reverse order on drop.
pub struct Topology {
    /// Short unique prefix for every name this test makes (fits IFNAMSIZ).
    pub prefix: String,
    netns: Vec<Vec<u8>>,
    host_links: Vec<Vec<u8>>,
    children: Vec<Child>,
    mounts: Vec<PathBuf>,
    paths: Vec<PathBuf>,
}

impl Topology {
    /// `test` names the test; the prefix is a hash of it, so parallel
    /// tests never collide and a rerun finds leftovers by name.
    pub fn new(test: &str) -> Topology {
        let mut h = DefaultHasher::new();
        // The checkout is part of the name: two checkouts testing at once
        // on one machine must not collide.
        (env!("CARGO_MANIFEST_DIR"), test).hash(&mut h);
        let prefix = format!("n{:04x}", h.finish() & 0xffff);
        let topo = Topology {
            prefix,
            netns: Vec::new(),
            host_links: Vec::new(),
            children: Vec::new(),
            mounts: Vec::new(),
            paths: Vec::new(),
        };
        topo.remove_leftovers();
        topo
    }

    /// `prefix-suffix`, the name of an object of this test.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.prefix)
    }

    /// `ip netns add PREFIX-suffix`; returns the full name.
    pub fn netns(&mut self, suffix: &str) -> String {
        let name = self.name(suffix);
        ip(&["netns", "add", &name]);
        self.netns.push(name.clone().into_bytes());
        name
    }

    /// Registers a host-namespace link (made by the test) for deletion.
    pub fn host_link(&mut self, name: impl AsRef<[u8]>) {
        self.host_links.push(name.as_ref().to_vec());
    }

    /// Registers an ip-netns name made some other way (raw bytes).
    pub fn own_netns(&mut self, name: impl AsRef<[u8]>) {
        self.netns.push(name.as_ref().to_vec());
    }

    /// A process in a fresh network namespace (`unshare --net sleep`),
    /// killed on drop. Returns its pid once the namespace exists.
    pub fn process_netns(&mut self) -> u32 {
        let pid = self.spawn(&["unshare", "--net", "sleep", "600"]);
        wait_for(|| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        });
        pid
    }

    /// Spawns a long-running command, killed on drop; with `--net` in the
    /// arguments (unshare), waits until its network namespace is a new one.
    pub fn spawn(&mut self, argv: &[&str]) -> u32 {
        let child = Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {argv:?}: {e}"));
        let pid = child.id();
        self.children.push(child);
        if argv.contains(&"--net") {
            let own = std::fs::read_link("/proc/self/ns/net").expect("own netns");
            wait_for(|| std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l != own));
        }
        pid
    }

    /// `busybox ping ARGS DST` inside `netns`, in the background, killed on
    /// drop: traffic for a test to count or capture.
    pub fn ping_in(&mut self, netns: &str, args: &[&str], dst: &str) -> u32 {
        let mut argv = vec!["ip", "netns", "exec", netns, "busybox", "ping"];
        argv.extend_from_slice(args);
        argv.push(dst);
        self.spawn(&argv)
    }

    /// Kills one spawned process now (to leave its namespace to a mount or fd).
    pub fn kill(&mut self, pid: u32) {
        if let Some(i) = self.children.iter().position(|c| c.id() == pid) {
            let mut child = self.children.remove(i);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Bind-mounts a namespace file at a new file `target`, unmounted on drop.
    pub fn bind_mount(&mut self, source: &Path, target: &Path) {
        std::fs::write(target, b"").expect("create mount point");
        self.paths.push(target.to_path_buf());
        run(
            "mount",
            &[OsStr::new("--bind"), source.as_os_str(), target.as_os_str()],
        );
        self.mounts.push(target.to_path_buf());
    }

    /// Registers a file or directory to remove on drop.
    pub fn path(&mut self, path: impl Into<PathBuf>) -> PathBuf {
        let path = path.into();
        self.paths.push(path.clone());
        path
    }

    /// Deletes what a previous, killed run of this test may have left.
    fn remove_leftovers(&self) {
        if let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") {
            for line in mountinfo.lines() {
                if let Some(point) = line.split(' ').nth(4)
                    && point.contains(&format!("/{}-", self.prefix))
                {
                    let point = nsmap::sys::mountinfo::unescape(point.as_bytes());
                    let _ = nix::mount::umount2(
                        OsStr::from_bytes(&point),
                        nix::mount::MntFlags::MNT_DETACH,
                    );
                }
            }
        }
        if let Ok(list) = std::fs::read_dir(std::env::temp_dir()) {
            for entry in list.flatten() {
                if entry
                    .file_name()
                    .as_bytes()
                    .starts_with(self.prefix.as_bytes())
                {
                    let _ = std::fs::remove_dir_all(entry.path())
                        .or_else(|_| std::fs::remove_file(entry.path()));
                }
            }
        }
        if let Ok(list) = std::fs::read_dir("/run/netns") {
            for entry in list.flatten() {
                let name = entry.file_name();
                if name.as_bytes().starts_with(self.prefix.as_bytes()) {
                    let _ = Command::new("ip")
                        .arg("netns")
                        .arg("del")
                        .arg(&name)
                        .status();
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        for link in links_json(None) {
            if let Some(name) = link["ifname"].as_str()
                && name.starts_with(&self.prefix)
            {
                let _ = Command::new("ip").args(["link", "del", name]).status();
            }
        }
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for mut child in self.children.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        // umount(2), not umount(8): the tool mangles paths with newlines.
        // Detached: a scan of a test running meanwhile may hold the mount
        // open for an instant, and a plain umount would then fail (EBUSY)
        // and leave it behind.
        for mount in self.mounts.drain(..).rev() {
            let _ = nix::mount::umount2(&mount, nix::mount::MntFlags::MNT_DETACH);
        }
        for link in self.host_links.drain(..) {
            let _ = Command::new("ip")
                .arg("link")
                .arg("del")
                .arg(OsStr::from_bytes(&link))
                .stderr(Stdio::null())
                .status();
        }
        for ns in self.netns.drain(..) {
            let _ = Command::new("ip")
                .arg("netns")
                .arg("del")
                .arg(OsStr::from_bytes(&ns))
                .stderr(Stdio::null())
                .status();
        }
        for path in self.paths.drain(..).rev() {
            let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir(&path));
        }
    }
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    run("ip", &args.iter().map(OsStr::new).collect::<Vec<_>>());
}

/// Runs `ip` with raw byte arguments (hostile names).
pub fn ip_bytes(args: &[&[u8]]) {
    run(
        "ip",
        &args
            .iter()
            .map(|a| OsStr::from_bytes(a))
            .collect::<Vec<_>>(),
    );
}

pub fn run(program: &str, args: &[&OsStr]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ip -j -d link` in a namespace (None = the host): the oracle.
pub fn links_json(netns: Option<&str>) -> Vec<Value> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd
        .args(["-j", "-d", "link", "show"])
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip -j -d link: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

/// `ip -j netns list-id` in a namespace: nsid → ip-netns name, the kernel's
/// own answer to compare peers with.
pub fn nsids_json(netns: Option<&str>) -> Vec<Value> {
    let mut cmd = Command::new("ip");
    if let Some(ns) = netns {
        cmd.args(["-n", ns]);
    }
    let out = cmd
        .args(["-j", "netns", "list-id"])
        .output()
        .expect("run ip");
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

/// Polls `cond` for up to five seconds.
pub fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not met within 5 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The inode of a namespace file.
pub fn inode_of(path: impl AsRef<Path>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path.as_ref())
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.as_ref().display()))
        .ino()
}

/// The nsmap binary built for this test run.
pub fn nsmap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nsmap"))
}

/// Reads `netns`'s firewall as a scan does: on a thread that `setns`'d
/// into it (after `prepare`, e.g. dropping capabilities).
pub fn firewall_in(
    netns: &str,
    prepare: impl FnOnce() + Send + 'static,
) -> nsmap::raw::l3::RawFirewall {
    use std::os::fd::AsFd;
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        prepare();
        let mut buf = vec![0u8; 64 * 1024];
        nsmap::sys::netfilter::read(&mut buf)
    })
    .join()
    .expect("reader thread")
}

/// Runs a command inside the namespace (`ip netns exec NS …`), with
/// `stdin`, returning stdout; panics with stderr on failure.
pub fn exec_in(netns: &str, argv: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns])
        .args(argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ip netns exec");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{argv:?} in {netns} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}
