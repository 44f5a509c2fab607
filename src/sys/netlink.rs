//! A synchronous rtnetlink socket bound to one network namespace.
//!
//! A socket belongs to the namespace of the thread that created it, for its
//! whole life, so one socket per namespace answers every question about it
//! (the scanner creates it after `setns`). Link, address and nsid requests
//! are built with netlink-packet-route, the layer-3 ones by hand (fixed
//! headers the crate has no type for, or no point in); replies are walked
//! attribute by attribute ([`link`], [`addr`], [`route`], [`rule`],
//! [`neigh`], [`netconf`], [`nexthop`], [`qdisc`]) because the crate's full parse
//! rejects a whole message over one non-UTF-8 interface name, and costs ~5×
//! more.
//!
//! Kernel traps handled here (net/netlink/af_netlink.c, net/core/rtnetlink.c):
//! dump errors can arrive as `NLMSG_DONE` with a negative code;
//! `NLM_F_DUMP_INTR` means redo the dump; a dump ends only on the recv
//! after its last data, and until then the socket refuses another dump
//! (EBUSY); dumping a link into another namespace makes the kernel assign
//! that namespace an nsid if it had none; a blocking recv could wait
//! forever, so every wait is bounded. `NETLINK_GET_STRICT_CHK` is not set:
//! it would turn an unknown request attribute into an error, and the only
//! attributes nsmap sends (`IFLA_EXT_MASK`, `NETNSA_FD`,
//! `NETCONFA_IFINDEX`) are known to every kernel that has their message —
//! not worth a syscall per namespace. No dump carries a filter attribute,
//! which a kernel without strict checking may ignore in silence.

pub mod addr;
pub mod l3;
pub mod link;
pub mod neigh;
pub mod netconf;
pub mod nexthop;
pub mod qdisc;
pub mod route;
pub mod rule;
pub mod stats;

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_sys::{Socket, protocols::NETLINK_ROUTE};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, MultiHeaders, NetlinkAddr, recvmmsg, send};
use std::io::IoSliceMut;

use crate::raw::l3::RawNetconf;
use crate::raw::{RawAddr, RawLink, RawNsid};

const RTM_NEWLINK: u16 = libc::RTM_NEWLINK;
const RTM_NEWADDR: u16 = libc::RTM_NEWADDR;
const RTM_NEWNSID: u16 = libc::RTM_NEWNSID;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
const RTM_NEWRULE: u16 = 32;
const RTM_GETRULE: u16 = 34;
const RTM_NEWNETCONF: u16 = 80;
const RTM_GETNETCONF: u16 = 82;
const RTM_NEWNEXTHOP: u16 = 104;
const RTM_GETNEXTHOP: u16 = 106;
const NETNSA_NSID: u16 = 1;
/// How long one recv may block before the namespace is reported as failed.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// RTM_GETNSID requests per send: replies that overflow the receive queue
/// are dropped, so batches stay small (KERNEL-NOTES: 64 works).
const NSID_BATCH: usize = 64;
/// One datagram's room: larger than any single dump skb (32 KiB, unless a
/// single message needs more: netlink_dump's min_dump_alloc).
const RECV_CHUNK: usize = 64 * 1024;
/// Datagrams taken per recvmmsg: a dump's data, its NLMSG_DONE and the
/// answers to the questions riding with it.
const RECV_BATCH: usize = 8;
/// Receive buffer size a caller provides: [`RECV_BATCH`] chunks. Only the
/// pages datagrams land in are ever touched.
pub const RECV_BUF: usize = RECV_CHUNK * RECV_BATCH;
/// Redo a dump at most this often when the kernel flags it interrupted.
const DUMP_RETRIES: usize = 5;

/// A failure talking to one namespace's rtnetlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NlError {
    /// A syscall failed.
    Sys(&'static str, Errno),
    /// The kernel answered with an error code.
    Kernel(&'static str, i32),
    /// No answer within [`RECV_TIMEOUT`].
    Timeout,
    /// A reply did not parse.
    Malformed(&'static str),
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NlError::Sys(what, e) => write!(f, "{what}: {}", e.desc()),
            NlError::Kernel(what, code) => {
                write!(f, "{what}: kernel said {}", Errno::from_raw(-code).desc())
            }
            NlError::Timeout => write!(
                f,
                "no answer from the kernel within {}s",
                RECV_TIMEOUT.as_secs()
            ),
            NlError::Malformed(what) => write!(f, "malformed reply: {what}"),
        }
    }
}

/// What a dump returned. `complete` is false when the kernel flagged every
/// attempt as interrupted (NLM_F_DUMP_INTR: the list changed while being
/// read); the last attempt is kept, as a partial answer beats none on a
/// host where links come and go all the time.
#[derive(Debug)]
pub struct Dumped<T> {
    pub items: Vec<T>,
    pub complete: bool,
}

/// An rtnetlink socket in the namespace of the thread that opened it.
pub struct RtSocket {
    socket: Socket,
    seq: u32,
}

impl RtSocket {
    /// Opens a NETLINK_ROUTE socket in the calling thread's namespace.
    pub fn open() -> Result<RtSocket, NlError> {
        let socket = Socket::new(NETLINK_ROUTE)
            .map_err(|e| NlError::Sys("socket(NETLINK_ROUTE)", crate::sys::errno_of(&e)))?;
        Ok(RtSocket { socket, seq: 0 })
    }

    /// Every link of the namespace (RTM_GETLINK dump), with its counters
    /// when `stats`.
    pub fn dump_links(&mut self, buf: &mut [u8], stats: bool) -> Result<Dumped<RawLink>, NlError> {
        self.dump(
            &Request::links(),
            buf,
            |payload: &[u8]| link::parse_with(payload, false, stats),
            Vec::new(),
            &mut Vec::new(),
        )
    }

    /// Every link's counters and ifindex, nothing else ([`stats`]).
    pub fn dump_stats(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Dumped<(u32, crate::snapshot::LinkStats)>, NlError> {
        let request = Request {
            what: "RTM_GETSTATS",
            kind: stats::RTM_GETSTATS,
            payload: stats::request(),
            reply: stats::RTM_NEWSTATS,
        };
        self.dump(&request, buf, stats::parse, Vec::new(), &mut Vec::new())
    }

    /// Every IPv4/IPv6 address of the namespace (RTM_GETADDR dump).
    pub fn dump_addrs(&mut self, buf: &mut [u8]) -> Result<Dumped<RawAddr>, NlError> {
        self.dump(
            &Request::addrs(),
            buf,
            addr::parse,
            Vec::new(),
            &mut Vec::new(),
        )
    }

    /// The whole namespace: its links (with their devconf arrays when
    /// `layer3`), its addresses and, given `ask`, its nsid for one other
    /// namespace. The question rides in the address dump's datagram (a
    /// question needs no dump of its own), which spares one send per
    /// namespace. It comes after the link dump, never before: dumping a
    /// link into another namespace is what makes the kernel assign the
    /// nsid, if nothing has yet.
    pub fn dump_all(
        &mut self,
        buf: &mut [u8],
        ask: Option<(u64, BorrowedFd<'_>)>,
        layer3: bool,
        stats: bool,
    ) -> Result<NamespaceDump, NlError> {
        let links = self.dump(
            &Request::links(),
            buf,
            |payload: &[u8]| link::parse_with(payload, layer3, stats),
            Vec::new(),
            &mut Vec::new(),
        )?;
        let mut answers = Vec::new();
        let questions = ask.map(|(netns, fd)| Question::Nsid(netns, fd));
        // Without addresses the links (and the answer) are still worth
        // showing.
        let addrs = self.dump(
            &Request::addrs(),
            buf,
            addr::parse,
            questions.into_iter().collect(),
            &mut answers,
        );
        let nsid = answers.into_iter().find_map(|a| match a {
            Answer::Nsid(n) => Some(n),
            _ => None,
        });
        Ok(NamespaceDump { links, addrs, nsid })
    }

    /// Asks which nsid this namespace gives each target (RTM_GETNSID with
    /// NETNSA_FD). Read-only: the kernel answers from its table
    /// (peernet2id) and never allocates for this request.
    pub fn nsids(
        &mut self,
        targets: &[(u64, BorrowedFd<'_>)],
        buf: &mut [u8],
    ) -> Result<Vec<RawNsid>, NlError> {
        let mut out = Vec::with_capacity(targets.len());
        for chunk in targets.chunks(NSID_BATCH) {
            let mut attempt = 0;
            loop {
                match self.nsid_batch(chunk, buf) {
                    Ok(answers) => {
                        out.extend(answers);
                        break;
                    }
                    // The receive queue overflowed: the kernel dropped replies.
                    Err(NlError::Sys(_, Errno::ENOBUFS)) if attempt < DUMP_RETRIES => attempt += 1,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }

    fn nsid_batch(
        &mut self,
        chunk: &[(u64, BorrowedFd<'_>)],
        buf: &mut [u8],
    ) -> Result<Vec<RawNsid>, NlError> {
        let first_seq = self.seq.wrapping_add(1);
        let mut request = Vec::with_capacity(chunk.len() * 32);
        for (_, fd) in chunk {
            self.seq = self.seq.wrapping_add(1);
            request.extend(encode(nsid_request(*fd)?, NLM_F_REQUEST, self.seq));
        }
        self.send(&request)?;
        let mut answers: Vec<Option<RawNsid>> = vec![None; chunk.len()];
        let mut pending = chunk.len();
        while pending > 0 {
            for (header, payload) in self
                .recv(buf)?
                .into_iter()
                .map(messages)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
            {
                let slot = header.seq.wrapping_sub(first_seq) as usize;
                let Some(answer) = answers.get_mut(slot) else {
                    continue;
                };
                if answer.is_some() {
                    continue;
                }
                let netns = chunk[slot].0;
                match header.kind {
                    RTM_NEWNSID => {
                        *answer = Some(RawNsid {
                            netns,
                            nsid: nsid_of(payload),
                        });
                    }
                    NLMSG_ERROR => {
                        let code = error_code(payload)?;
                        if code != 0 {
                            return Err(NlError::Kernel("RTM_GETNSID", code));
                        }
                        continue;
                    }
                    _ => continue,
                }
                pending -= 1;
            }
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// One dump, redone while the kernel flags it interrupted. Questions
    /// ride in the first attempt's datagram: the kernel works through a
    /// datagram's messages in order, answering each question while the
    /// dump runs (two dumps cannot share one: a dump ends only on the recv
    /// after its data, and until then the socket refuses another with
    /// EBUSY). Answers go to `answers` as soon as they come, whatever
    /// becomes of the dump; an nsid question answered with an error is
    /// left to the planned rounds.
    fn dump<T>(
        &mut self,
        request: &Request,
        buf: &mut [u8],
        parse: impl Fn(&[u8]) -> Option<T>,
        questions: Vec<Question<'_>>,
        answers: &mut Vec<Answer>,
    ) -> Result<Dumped<T>, NlError> {
        let mut questions = Some(questions);
        let mut last = Vec::new();
        for _ in 0..DUMP_RETRIES {
            self.seq = self.seq.wrapping_add(1);
            let seq = self.seq;
            let mut datagram = message(
                request.kind,
                NLM_F_REQUEST | NLM_F_DUMP,
                seq,
                &request.payload,
            );
            let mut asked: Vec<(u32, Asked)> = Vec::new();
            for question in questions.take().unwrap_or_default() {
                self.seq = self.seq.wrapping_add(1);
                match question {
                    Question::Nsid(netns, fd) => {
                        datagram.extend(encode(nsid_request(fd)?, NLM_F_REQUEST, self.seq));
                        asked.push((self.seq, Asked::Nsid(netns)));
                    }
                    Question::Netconf(family, ifindex) => {
                        datagram.extend(message(
                            RTM_GETNETCONF,
                            NLM_F_REQUEST,
                            self.seq,
                            &netconf::request(family, ifindex),
                        ));
                        asked.push((self.seq, Asked::Netconf));
                    }
                }
            }
            self.send(&datagram)?;
            let mut part = Part::new();
            while part.open() || !asked.is_empty() {
                for (header, payload) in self
                    .recv(buf)?
                    .into_iter()
                    .map(messages)
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                {
                    if header.seq == seq {
                        part.take(header, payload, request.reply, &parse);
                        continue;
                    }
                    let Some(i) = asked.iter().position(|(q, _)| *q == header.seq) else {
                        continue;
                    };
                    let (_, what) = asked.swap_remove(i);
                    match (what, header.kind) {
                        (Asked::Nsid(netns), RTM_NEWNSID) => answers.push(Answer::Nsid(RawNsid {
                            netns,
                            nsid: nsid_of(payload),
                        })),
                        (Asked::Netconf, RTM_NEWNETCONF) => {
                            answers.extend(netconf::parse(payload).map(Answer::Netconf));
                        }
                        (Asked::Netconf, NLMSG_ERROR) => answers.push(Answer::Failed(
                            "RTM_GETNETCONF",
                            error_code(payload).unwrap_or(-libc::EPROTO),
                        )),
                        _ => {}
                    }
                }
            }
            let done = part.finish(request.what)?;
            if done.complete {
                return Ok(done);
            }
            last = done.items;
        }
        Ok(Dumped {
            items: last,
            complete: false,
        })
    }

    fn send(&self, bytes: &[u8]) -> Result<(), NlError> {
        send(self.socket.as_fd().as_raw_fd(), bytes, MsgFlags::empty())
            .map(|_| ())
            .map_err(|e| NlError::Sys("send", e))
    }

    /// Receives what the kernel has queued, up to [`RECV_BATCH`] datagrams
    /// in one recvmmsg, each in its own [`RECV_CHUNK`] of `buf`. The kernel
    /// queues its answer before `send` returns, and each recvmsg of a dump
    /// queues the dump's next part before it returns (netlink_recvmsg →
    /// netlink_dump), so one call takes a dump's data and the NLMSG_DONE
    /// that some dumps send in a datagram of their own
    /// (RTNL_FLAG_DUMP_SPLIT_NLM_DONE: links, addresses, IPv4 and IPv6
    /// routes), along with the answers to questions riding in the
    /// datagram. The first, non-blocking try nearly always succeeds;
    /// waiting, bounded by [`RECV_TIMEOUT`], is the exception — which spares
    /// every socket a `setsockopt(SO_RCVTIMEO)`.
    fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Vec<&'b [u8]>, NlError> {
        let fd = self.socket.as_fd();
        let mut waited = false;
        let received = loop {
            let attempt = {
                let mut slices: Vec<[IoSliceMut<'_>; 1]> = buf
                    .chunks_mut(RECV_CHUNK)
                    .take(RECV_BATCH)
                    .map(|c| [IoSliceMut::new(c)])
                    .collect();
                let mut headers = MultiHeaders::<NetlinkAddr>::preallocate(slices.len(), None);
                // MSG_TRUNC makes recvmsg report the real size of a datagram
                // that did not fit.
                recvmmsg(
                    fd.as_raw_fd(),
                    &mut headers,
                    slices.iter_mut(),
                    MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map(|got| got.map(|m| (m.bytes, m.flags)).collect::<Vec<_>>())
            };
            match attempt {
                Ok(got) => break got,
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) if !waited => {
                    waited = true;
                    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
                    let timeout = PollTimeout::try_from(RECV_TIMEOUT).unwrap_or(PollTimeout::MAX);
                    match poll(&mut fds, timeout) {
                        Ok(0) => return Err(NlError::Timeout),
                        Ok(_) => continue,
                        Err(Errno::EINTR) => waited = false,
                        Err(e) => return Err(NlError::Sys("poll", e)),
                    }
                }
                Err(Errno::EAGAIN) => return Err(NlError::Timeout),
                Err(e) => return Err(NlError::Sys("recvmmsg", e)),
            }
        };
        let mut datagrams = Vec::with_capacity(received.len());
        for (chunk, (len, flags)) in buf.chunks(RECV_CHUNK).zip(received) {
            if flags.contains(MsgFlags::MSG_TRUNC) || len > chunk.len() {
                return Err(NlError::Malformed("reply larger than the buffer"));
            }
            datagrams.push(&chunk[..len]);
        }
        Ok(datagrams)
    }
}

/// A question that rides in a dump's datagram: a GET needs no dump of its
/// own.
pub enum Question<'f> {
    /// RTM_GETNSID: which nsid has namespace `.0` (open as `.1`) here?
    Nsid(u64, BorrowedFd<'f>),
    /// RTM_GETNETCONF for (family, NETCONFA_IFINDEX).
    Netconf(u8, i32),
}

/// What a [`Question`] was, while its answer is awaited.
enum Asked {
    Nsid(u64),
    Netconf,
}

/// The answer to a [`Question`].
#[derive(Debug)]
pub enum Answer {
    Nsid(RawNsid),
    Netconf(RawNetconf),
    /// The kernel refused a question: which request, and its error code.
    Failed(&'static str, i32),
}

/// What [`RtSocket::dump_all`] learned about one namespace. Addresses can
/// fail alone: the links are still worth showing.
pub struct NamespaceDump {
    pub links: Dumped<RawLink>,
    pub addrs: Result<Dumped<RawAddr>, NlError>,
    /// The answer to the question asked, if it was answered.
    pub nsid: Option<RawNsid>,
}

/// One dump's replies as they come in, possibly between other replies.
struct Part<T> {
    items: Vec<T>,
    interrupted: bool,
    state: State,
}

enum State {
    Open,
    Done,
    Failed(i32),
}

impl<T> Part<T> {
    fn new() -> Self {
        Part {
            items: Vec::new(),
            interrupted: false,
            state: State::Open,
        }
    }

    fn open(&self) -> bool {
        matches!(self.state, State::Open)
    }

    /// Takes one reply message of this dump.
    fn take(
        &mut self,
        header: Header,
        payload: &[u8],
        reply_kind: u16,
        parse: impl Fn(&[u8]) -> Option<T>,
    ) {
        if !self.open() {
            return;
        }
        self.interrupted |= header.flags & NLM_F_DUMP_INTR != 0;
        match header.kind {
            // A dump can end with an error in NLMSG_DONE.
            NLMSG_DONE => match payload.get(..4).and_then(link::read_i32) {
                Some(code) if code < 0 => self.state = State::Failed(code),
                _ => self.state = State::Done,
            },
            NLMSG_ERROR => match error_code(payload) {
                Ok(0) => {}
                Ok(code) => self.state = State::Failed(code),
                Err(_) => self.state = State::Failed(-libc::EPROTO),
            },
            k if k == reply_kind => self.items.extend(parse(payload)),
            _ => {}
        }
    }

    /// The dump's result once it ended: `complete` is false if the kernel
    /// flagged it interrupted.
    fn finish(self, what: &'static str) -> Result<Dumped<T>, NlError> {
        match self.state {
            State::Failed(code) => Err(NlError::Kernel(what, code)),
            State::Open | State::Done => Ok(Dumped {
                items: self.items,
                complete: !self.interrupted,
            }),
        }
    }
}

/// A dump request: its message type and payload, the reply type its
/// data comes in, and its name for error messages.
pub struct Request {
    what: &'static str,
    kind: u16,
    payload: Vec<u8>,
    reply: u16,
}

impl Request {
    /// A request netlink-packet-route can build (its header is rebuilt per
    /// attempt, with a fresh sequence number).
    fn built(what: &'static str, message: RouteNetlinkMessage, reply: u16) -> Request {
        let bytes = encode(message, 0, 0);
        Request {
            what,
            kind: u16::from_ne_bytes([bytes[4], bytes[5]]),
            payload: bytes[16..].to_vec(),
            reply,
        }
    }

    /// RTM_GETLINK. RTEXT_FILTER_SKIP_STATS spares SR-IOV VF counters
    /// (the device's own come in every message regardless).
    fn links() -> Request {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        Request::built(
            "RTM_GETLINK",
            RouteNetlinkMessage::GetLink(msg),
            RTM_NEWLINK,
        )
    }

    fn addrs() -> Request {
        Request::built(
            "RTM_GETADDR",
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            RTM_NEWADDR,
        )
    }

    /// A request whose payload is one all-zero header of `len` bytes but
    /// for its family (and, for the proxy neighbour dump, its flags).
    fn header(what: &'static str, kind: u16, reply: u16, len: usize, family: u8) -> Request {
        let mut payload = vec![0; len];
        payload[0] = family;
        Request {
            what,
            kind,
            payload,
            reply,
        }
    }
}

fn nsid_request(fd: BorrowedFd<'_>) -> Result<RouteNetlinkMessage, NlError> {
    let fd = u32::try_from(fd.as_raw_fd()).map_err(|_| NlError::Malformed("negative fd"))?;
    let mut msg = NsidMessage::default();
    msg.attributes.push(NsidAttribute::Fd(fd));
    Ok(RouteNetlinkMessage::GetNsId(msg))
}

/// One netlink message built by hand: header, payload, padding.
fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = 16 + payload.len();
    let mut m = Vec::with_capacity(len.next_multiple_of(4));
    m.extend(u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
    m.extend(kind.to_ne_bytes());
    m.extend(flags.to_ne_bytes());
    m.extend(seq.to_ne_bytes());
    m.extend(0u32.to_ne_bytes());
    m.extend(payload);
    m.resize(len.next_multiple_of(4), 0);
    m
}

fn encode(message: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(message));
    msg.finalize();
    let mut bytes = vec![0; msg.buffer_len()];
    msg.serialize(&mut bytes);
    bytes
}

/// The nsid of an RTM_NEWNSID reply; None for "not assigned" (-1).
fn nsid_of(payload: &[u8]) -> Option<i32> {
    payload
        .get(4..)
        .and_then(|attrs| link::attr(attrs, NETNSA_NSID))
        .and_then(link::read_i32)
        .filter(|&n| n >= 0)
}

/// The fields of a netlink header nsmap uses.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
}

/// Splits a datagram into (header, payload) pairs.
pub fn messages(datagram: &[u8]) -> Result<Vec<(Header, &[u8])>, NlError> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < datagram.len() {
        let rest = &datagram[offset..];
        let buffer =
            NetlinkBuffer::new_checked(rest).map_err(|_| NlError::Malformed("netlink header"))?;
        let len = buffer.length() as usize;
        let header = Header {
            kind: buffer.message_type(),
            flags: buffer.flags(),
            seq: buffer.sequence_number(),
        };
        out.push((header, buffer.payload()));
        offset += len.div_ceil(4) * 4;
    }
    Ok(out)
}

fn error_code(payload: &[u8]) -> Result<i32, NlError> {
    payload
        .get(..4)
        .and_then(link::read_i32)
        .ok_or(NlError::Malformed("NLMSG_ERROR"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut m = Vec::new();
        m.extend((len as u32).to_ne_bytes());
        m.extend(kind.to_ne_bytes());
        m.extend(flags.to_ne_bytes());
        m.extend(seq.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend(payload);
        m.resize(len.next_multiple_of(4), 0);
        m
    }

    #[test]
    fn splits_datagrams_and_reads_done_errors() {
        let mut datagram = message(RTM_NEWLINK, NLM_F_DUMP_INTR, 7, &[1, 2, 3]);
        datagram.extend(message(NLMSG_DONE, 0, 7, &(-libc::ENOBUFS).to_ne_bytes()));
        let parts = messages(&datagram).expect("well formed");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].0.kind, parts[0].0.seq, parts[0].1),
            (RTM_NEWLINK, 7, &[1, 2, 3][..])
        );
        assert!(parts[0].0.flags & NLM_F_DUMP_INTR != 0);
        assert_eq!(
            parts[1].1.get(..4).and_then(link::read_i32),
            Some(-libc::ENOBUFS)
        );
    }

    #[test]
    fn a_dump_ends_at_done_and_fails_on_error_codes() {
        let parse = |p: &[u8]| p.first().copied();
        let header = |kind, flags| Header {
            kind,
            flags,
            seq: 1,
        };
        // Two replies, then NLMSG_DONE: complete.
        let mut part = Part::new();
        part.take(header(RTM_NEWLINK, 0), &[7], RTM_NEWLINK, parse);
        part.take(header(RTM_NEWLINK, 0), &[8], RTM_NEWLINK, parse);
        assert!(part.open());
        part.take(
            header(NLMSG_DONE, 0),
            &0i32.to_ne_bytes(),
            RTM_NEWLINK,
            parse,
        );
        assert!(!part.open());
        // Nothing counts once it ended.
        part.take(header(RTM_NEWLINK, 0), &[9], RTM_NEWLINK, parse);
        let done = part.finish("RTM_GETLINK").expect("complete");
        assert_eq!((done.items, done.complete), (vec![7, 8], true));
        // Flagged interrupted: the items, marked incomplete.
        let mut part = Part::new();
        part.take(
            header(RTM_NEWLINK, NLM_F_DUMP_INTR),
            &[7],
            RTM_NEWLINK,
            parse,
        );
        part.take(header(NLMSG_DONE, 0), &[], RTM_NEWLINK, parse);
        assert!(!part.finish("RTM_GETLINK").expect("partial").complete);
        // An error in NLMSG_DONE or NLMSG_ERROR (EBUSY: a dump still runs).
        for kind in [NLMSG_DONE, NLMSG_ERROR] {
            let mut part = Part::<u8>::new();
            part.take(
                header(kind, 0),
                &(-libc::EBUSY).to_ne_bytes(),
                RTM_NEWLINK,
                parse,
            );
            assert_eq!(
                part.finish("RTM_GETADDR").err(),
                Some(NlError::Kernel("RTM_GETADDR", -libc::EBUSY))
            );
        }
        // An ack (NLMSG_ERROR 0) is not the end.
        let mut part = Part::<u8>::new();
        part.take(
            header(NLMSG_ERROR, 0),
            &0i32.to_ne_bytes(),
            RTM_NEWLINK,
            parse,
        );
        assert!(part.open());
    }

    #[test]
    fn truncated_datagrams_are_errors_not_panics() {
        let datagram = message(RTM_NEWLINK, 0, 1, &[0; 20]);
        for cut in 1..datagram.len() {
            assert!(messages(&datagram[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn addresses_prefer_the_local_address() {
        // ifaddrmsg: AF_INET, /30, flags, scope, ifindex 5; IFA_ADDRESS
        // 10.0.0.2 (the far end of a point-to-point link), IFA_LOCAL 10.0.0.1.
        let mut payload = vec![libc::AF_INET as u8, 30, 0, 0];
        payload.extend(5u32.to_ne_bytes());
        payload.extend([8, 0, 1, 0, 10, 0, 0, 2]);
        payload.extend([8, 0, 2, 0, 10, 0, 0, 1]);
        let a = addr::parse(&payload).expect("parses");
        assert_eq!(
            (a.ifindex, a.prefix_len, a.address.to_string()),
            (5, 30, "10.0.0.1".to_string())
        );
    }
}
