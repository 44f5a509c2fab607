//! A synchronous NETLINK_NETFILTER socket speaking to nf_tables, bound to
//! the namespace of the thread that opened it.
//!
//! Every message nsmap sends is a GET (`NFT_MSG_GETGEN`, `GETTABLE`,
//! `GETCHAIN`, `GETRULE`, `GETSET`, `GETSETELEM`,
//! `GETFLOWTABLE`); nothing here can build a NEW/DEL message, a
//! batch (`NFNL_MSG_BATCH_BEGIN`) or a `*_RESET` request (which would zero
//! counters and quotas), so the socket is read-only by construction.
//! Several requests can share one datagram ([`NfSocket::exchange`]): the
//! kernel (`nfnetlink_rcv` → `netlink_rcv_skb`) handles them in order, so a
//! GETGEN next to a dump costs no extra send. Two dumps cannot share one:
//! a dump ends only on the recv after its last data, and until then
//! `__netlink_dump_start` refuses another with EBUSY.
//!
//! Replies are `nlmsghdr`, `struct nfgenmsg` (family, version, `res_id`),
//! then attributes. nf_tables puts the low 16 bits of the ruleset generation
//! (`nft_base_seq`) in `res_id`, big-endian, and its integer attributes are
//! big-endian too (unlike rtnetlink's).

use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR};
use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, recv, send};

use crate::sys::netlink::{Header, NlError, messages};

/// `NFNL_SUBSYS_NFTABLES` (linux/netfilter/nfnetlink.h): the high byte of
/// every nf_tables message type.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
/// `NFNETLINK_V0`.
const NFNETLINK_V0: u8 = 0;
/// `NFPROTO_UNSPEC`: a dump of this family returns every family's objects.
const NFPROTO_UNSPEC: u8 = 0;
/// `sizeof(struct nlmsghdr)` + `sizeof(struct nfgenmsg)`.
const REQUEST_LEN: usize = 16 + 4;
/// How long one recv may block before the namespace is reported as failed.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);

/// nf_tables message types (enum nf_tables_msg_types, linux/netfilter/nf_tables.h).
pub const NFT_MSG_NEWTABLE: u8 = 0;
pub const NFT_MSG_GETTABLE: u8 = 1;
pub const NFT_MSG_NEWCHAIN: u8 = 3;
pub const NFT_MSG_GETCHAIN: u8 = 4;
pub const NFT_MSG_NEWRULE: u8 = 6;
pub const NFT_MSG_GETRULE: u8 = 7;
pub const NFT_MSG_NEWSET: u8 = 9;
pub const NFT_MSG_GETSET: u8 = 10;
pub const NFT_MSG_NEWSETELEM: u8 = 12;
pub const NFT_MSG_GETSETELEM: u8 = 13;
pub const NFT_MSG_NEWGEN: u8 = 15;
pub const NFT_MSG_GETGEN: u8 = 16;
pub const NFT_MSG_NEWFLOWTABLE: u8 = 22;
pub const NFT_MSG_GETFLOWTABLE: u8 = 23;

/// One request of a datagram: which GET, and whether it is a dump. The
/// fields are private: the constants and [`Request::set_elements`] are
/// every request there is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    msg: u8,
    dump: bool,
    /// The request's name in error messages (`NFT_MSG_GETRULE`).
    what: &'static str,
    /// `nfgen_family`: NFPROTO_UNSPEC but for a set's elements, which the
    /// kernel looks up in the table of that family.
    family: u8,
    /// Attributes after `struct nfgenmsg` (only a set-element dump has any).
    attrs: Vec<u8>,
}

impl Request {
    pub const GETGEN: Request = Request {
        msg: NFT_MSG_GETGEN,
        dump: false,
        what: "NFT_MSG_GETGEN",
        family: NFPROTO_UNSPEC,
        attrs: Vec::new(),
    };
    pub const TABLES: Request = Request {
        msg: NFT_MSG_GETTABLE,
        dump: true,
        what: "NFT_MSG_GETTABLE",
        family: NFPROTO_UNSPEC,
        attrs: Vec::new(),
    };
    pub const CHAINS: Request = Request {
        msg: NFT_MSG_GETCHAIN,
        dump: true,
        what: "NFT_MSG_GETCHAIN",
        family: NFPROTO_UNSPEC,
        attrs: Vec::new(),
    };
    pub const RULES: Request = Request {
        msg: NFT_MSG_GETRULE,
        dump: true,
        what: "NFT_MSG_GETRULE",
        family: NFPROTO_UNSPEC,
        attrs: Vec::new(),
    };
    /// Every set of every table.
    pub const SETS: Request = Request {
        msg: NFT_MSG_GETSET,
        dump: true,
        what: "NFT_MSG_GETSET",
        family: NFPROTO_UNSPEC,
        attrs: Vec::new(),
    };

    /// Every flowtable of every table.
    pub const FLOWTABLES: Request = Request {
        msg: NFT_MSG_GETFLOWTABLE,
        dump: true,
        what: "NFT_MSG_GETFLOWTABLE",
        family: NFPROTO_UNSPEC,
        attrs: Vec::new(),
    };

    /// The elements of one set (anonymous ones too): a dump of
    /// GETSETELEM naming the table (of `family`) and the set.
    pub fn set_elements(family: u8, table: &[u8], set: &[u8]) -> Request {
        Request {
            msg: NFT_MSG_GETSETELEM,
            dump: true,
            what: "NFT_MSG_GETSETELEM",
            family,
            attrs: super::set::request_attrs(table, set),
        }
    }
}

/// One nf_tables reply message, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    /// `NFNL_MSG_TYPE` of the header: `NFT_MSG_NEWTABLE` etc.
    pub msg: u8,
    /// `nfgen_family` (NFPROTO_*).
    pub family: u8,
    /// `res_id`, byte-swapped to host order: the low 16 bits of the
    /// generation the kernel was at when it filled this message.
    pub res_id: u16,
    /// The attributes after `struct nfgenmsg`.
    pub attrs: &'a [u8],
}

/// What an exchange observed besides its replies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exchanged {
    /// Some dump part carried NLM_F_DUMP_INTR: the ruleset changed between
    /// two parts of one dump (`nl_dump_check_consistent`).
    pub interrupted: bool,
}

/// A NETLINK_NETFILTER socket in the namespace of the thread that opened it.
pub struct NfSocket {
    socket: Socket,
    seq: u32,
}

impl NfSocket {
    /// Opens the socket. EPROTONOSUPPORT means the kernel has no nfnetlink.
    pub fn open() -> Result<NfSocket, NlError> {
        let socket = Socket::new(NETLINK_NETFILTER)
            .map_err(|e| NlError::Sys("socket(NETLINK_NETFILTER)", crate::sys::errno_of(&e)))?;
        Ok(NfSocket { socket, seq: 0 })
    }

    /// Sends `requests` in one datagram and hands every reply to
    /// `on_reply` with the index of the request it answers, until each
    /// request has ended (a plain GET with its reply, a dump with
    /// NLMSG_DONE). The first error code ends the exchange: without
    /// CAP_NET_ADMIN `nfnetlink_rcv` answers the datagram's *first* message
    /// with -EPERM and drops the rest unanswered, so waiting on would
    /// only time out.
    pub fn exchange(
        &mut self,
        requests: &[Request],
        buf: &mut [u8],
        mut on_reply: impl FnMut(usize, Reply<'_>),
    ) -> Result<Exchanged, NlError> {
        let first = self.seq.wrapping_add(1);
        let mut datagram = Vec::with_capacity(requests.len() * REQUEST_LEN);
        for request in requests {
            self.seq = self.seq.wrapping_add(1);
            datagram.extend(encode(request, self.seq));
        }
        self.send(&datagram)?;
        let mut open = vec![true; requests.len()];
        let mut pending = requests.len();
        let mut seen = Exchanged::default();
        while pending > 0 {
            let n = self.recv(buf)?;
            for (header, payload) in messages(&buf[..n])? {
                let slot = header.seq.wrapping_sub(first) as usize;
                let (Some(request), Some(true)) = (requests.get(slot), open.get(slot).copied())
                else {
                    // Not ours, or a request that already ended.
                    continue;
                };
                seen.interrupted |= header.flags & NLM_F_DUMP_INTR != 0;
                match ending(header, payload, request.what)? {
                    Some(()) => {
                        open[slot] = false;
                        pending -= 1;
                    }
                    None => {
                        if let Some(reply) = reply(header, payload) {
                            on_reply(slot, reply);
                        }
                        if !request.dump {
                            open[slot] = false;
                            pending -= 1;
                        }
                    }
                }
            }
        }
        Ok(seen)
    }

    fn send(&self, bytes: &[u8]) -> Result<(), NlError> {
        send(self.socket.as_fd().as_raw_fd(), bytes, MsgFlags::empty())
            .map(|_| ())
            .map_err(|e| NlError::Sys("send", e))
    }

    /// Receives one datagram, waiting at most [`RECV_TIMEOUT`]. The kernel
    /// queues a GET's answer, and the first part of a dump, before `send`
    /// returns (and the next part before `recv` returns), so the first,
    /// non-blocking try nearly always succeeds — the same shape as
    /// `RtSocket::recv`, without a `setsockopt(SO_RCVTIMEO)` per socket.
    fn recv(&self, buf: &mut [u8]) -> Result<usize, NlError> {
        let fd = self.socket.as_fd();
        let mut waited = false;
        loop {
            // MSG_TRUNC makes recv report the real size of a datagram that did not fit.
            match recv(
                fd.as_raw_fd(),
                buf,
                MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(n) if n > buf.len() => {
                    return Err(NlError::Malformed("reply larger than the buffer"));
                }
                Ok(n) => return Ok(n),
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
                Err(e) => return Err(NlError::Sys("recv", e)),
            }
        }
    }
}

/// `nlmsghdr` + `nfgenmsg` + attributes of one request.
fn encode(request: &Request, seq: u32) -> Vec<u8> {
    let mut flags = NLM_F_REQUEST;
    if request.dump {
        flags |= NLM_F_DUMP;
    }
    let kind = (NFNL_SUBSYS_NFTABLES << 8) | u16::from(request.msg);
    let mut out = vec![0u8; REQUEST_LEN];
    out[0..4].copy_from_slice(&((REQUEST_LEN + request.attrs.len()) as u32).to_ne_bytes());
    out[4..6].copy_from_slice(&kind.to_ne_bytes());
    out[6..8].copy_from_slice(&flags.to_ne_bytes());
    out[8..12].copy_from_slice(&seq.to_ne_bytes());
    // nlmsg_pid 0: the kernel. nfgenmsg: family, version, res_id 0.
    out[16] = request.family;
    out[17] = NFNETLINK_V0;
    out.extend(&request.attrs);
    out
}

/// Some(()) when the message ends its request (NLMSG_DONE, or an
/// NLMSG_ERROR acknowledging success); an error code in either is an
/// error (dump errors can arrive in NLMSG_DONE).
fn ending(header: Header, payload: &[u8], what: &'static str) -> Result<Option<()>, NlError> {
    let code = || {
        payload
            .get(..4)
            .and_then(crate::sys::netlink::link::read_i32)
    };
    match header.kind {
        NLMSG_DONE => match code() {
            Some(c) if c < 0 => Err(NlError::Kernel(what, c)),
            _ => Ok(Some(())),
        },
        NLMSG_ERROR => match code() {
            Some(0) => Ok(Some(())),
            Some(c) => Err(NlError::Kernel(what, c)),
            None => Err(NlError::Malformed("NLMSG_ERROR")),
        },
        _ => Ok(None),
    }
}

/// An nf_tables reply; None for other subsystems and short messages.
pub fn reply<'a>(header: Header, payload: &'a [u8]) -> Option<Reply<'a>> {
    if header.kind >> 8 != NFNL_SUBSYS_NFTABLES {
        return None;
    }
    let nfgen = payload.get(..4)?;
    Some(Reply {
        msg: (header.kind & 0xff) as u8,
        family: nfgen[0],
        res_id: u16::from_be_bytes([nfgen[2], nfgen[3]]),
        attrs: &payload[4..],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_gets_of_every_family() {
        let bytes = encode(&Request::RULES, 9);
        assert_eq!(u32::from_ne_bytes(bytes[0..4].try_into().expect("4")), 20);
        assert_eq!(
            u16::from_ne_bytes([bytes[4], bytes[5]]),
            (10 << 8) | 7,
            "NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETRULE"
        );
        assert_eq!(
            u16::from_ne_bytes([bytes[6], bytes[7]]),
            NLM_F_REQUEST | NLM_F_DUMP
        );
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().expect("4")), 9);
        assert_eq!(&bytes[16..], &[0, 0, 0, 0]);
        let get = encode(&Request::GETGEN, 1);
        assert_eq!(u16::from_ne_bytes([get[6], get[7]]), NLM_F_REQUEST);
        // Every request nsmap can send is a GET (odd numbers of the
        // NEW/GET/DEL triples, and GETGEN).
        for r in [
            Request::GETGEN,
            Request::TABLES,
            Request::CHAINS,
            Request::RULES,
            Request::SETS,
            Request::set_elements(2, b"t", b"s"),
        ] {
            assert!(matches!(r.msg, 1 | 4 | 7 | 10 | 13 | 16), "{r:?}");
        }
        // A set's elements: its table's family, then TABLE "t" and SET "s".
        let elems = encode(&Request::set_elements(2, b"t", b"s"), 3);
        assert_eq!(u32::from_ne_bytes(elems[0..4].try_into().expect("4")), 36);
        assert_eq!(elems[16], 2);
        assert_eq!(
            &elems[20..],
            &[6, 0, 1, 0, b't', 0, 0, 0, 6, 0, 2, 0, b's', 0, 0, 0]
        );
    }

    #[test]
    fn done_and_error_end_a_request() {
        let h = |kind| Header {
            kind,
            flags: 0,
            seq: 1,
        };
        let ok = 0i32.to_ne_bytes();
        let eperm = (-libc::EPERM).to_ne_bytes();
        assert_eq!(ending(h(NLMSG_DONE), &ok, "x"), Ok(Some(())));
        assert_eq!(ending(h(NLMSG_DONE), &[], "x"), Ok(Some(())));
        assert_eq!(
            ending(h(NLMSG_DONE), &eperm, "x"),
            Err(NlError::Kernel("x", -libc::EPERM))
        );
        assert_eq!(
            ending(h(NLMSG_ERROR), &eperm, "x"),
            Err(NlError::Kernel("x", -libc::EPERM))
        );
        assert_eq!(ending(h(NLMSG_ERROR), &ok, "x"), Ok(Some(())));
        assert!(ending(h(NLMSG_ERROR), &[1], "x").is_err());
        assert_eq!(ending(h(0x0a00), &ok, "x"), Ok(None));
    }

    #[test]
    fn replies_of_other_subsystems_are_ignored() {
        let h = |kind| Header {
            kind,
            flags: 0,
            seq: 1,
        };
        let payload = [1, 0, 0, 2, 8, 0, 1, 0];
        let r = reply(h(0x0a00), &payload).expect("nf_tables");
        assert_eq!((r.msg, r.family, r.res_id), (0, 1, 2));
        assert_eq!(r.attrs, &payload[4..]);
        assert!(reply(h(0x0100), &payload).is_none(), "ctnetlink");
        assert!(reply(h(0x0a00), &payload[..3]).is_none());
    }
}
