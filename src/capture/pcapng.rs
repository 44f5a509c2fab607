//! The capture file: pcapng written by `pcap-file`, one Interface
//! Description Block per interface (named `IFNAME@LABEL`, nanosecond
//! timestamps), each packet an Enhanced Packet Block of its interface, and
//! an Interface Statistics Block per interface at the end with the kernel's
//! counts — what Wireshark, tshark and tcpdump read.

use std::borrow::Cow;
use std::io::Write;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::interface_statistics::{
    InterfaceStatisticsBlock, InterfaceStatisticsOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};

/// One interface block's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub description: String,
    pub linktype: u32,
    pub snaplen: u32,
    /// The pcap-filter text, if any (`if_filter`).
    pub filter: Option<String>,
}

/// The end-of-capture counts of one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Packets written to the file.
    pub written: u64,
    /// The kernel's PACKET_STATISTICS, when they could be read.
    pub kernel: Option<(u64, u64)>,
}

/// A pcapng stream being written.
pub struct Writer<W: Write> {
    inner: PcapNgWriter<W>,
    start_ns: u64,
}

/// Write failures, with the I/O error kept so a closed pipe can be told
/// from a full disk.
#[derive(Debug)]
pub struct WriteError(pub std::io::Error);

impl From<pcap_file::PcapError> for WriteError {
    fn from(e: pcap_file::PcapError) -> WriteError {
        match e {
            pcap_file::PcapError::IoError(io) => WriteError(io),
            other => WriteError(std::io::Error::other(other.to_string())),
        }
    }
}

impl<W: Write> Writer<W> {
    /// Writes the section header and every interface block; `start_ns` is
    /// the capture's start, for the statistics blocks.
    pub fn new(out: W, interfaces: &[Interface], start_ns: u64) -> Result<Writer<W>, WriteError> {
        let section = SectionHeaderBlock {
            options: vec![
                SectionHeaderOption::OS(Cow::Borrowed("Linux")),
                SectionHeaderOption::UserApplication(Cow::Owned(format!(
                    "nsmap {}",
                    env!("CARGO_PKG_VERSION")
                ))),
            ],
            ..SectionHeaderBlock::default()
        };
        let mut inner = PcapNgWriter::with_section_header(out, section)?;
        for iface in interfaces {
            let mut options = vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(iface.name.clone())),
                InterfaceDescriptionOption::IfDescription(Cow::Owned(iface.description.clone())),
                // pcap-file writes every timestamp in nanoseconds.
                InterfaceDescriptionOption::IfTsResol(9),
            ];
            if let Some(filter) = &iface.filter {
                // if_filter: a first byte of 0 says "libpcap filter string".
                let mut bytes = vec![0u8];
                bytes.extend_from_slice(filter.as_bytes());
                options.push(InterfaceDescriptionOption::IfFilter(Cow::Owned(bytes)));
            }
            inner.write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::from(iface.linktype),
                snaplen: iface.snaplen,
                options,
            })?;
        }
        Ok(Writer { inner, start_ns })
    }

    /// One packet of interface `iface` (its index in the interface list).
    pub fn packet(
        &mut self,
        iface: u32,
        ts_ns: u64,
        len: u32,
        data: &[u8],
    ) -> Result<(), WriteError> {
        self.inner.write_pcapng_block(EnhancedPacketBlock {
            interface_id: iface,
            timestamp: Duration::from_nanos(ts_ns),
            original_len: len.max(u32::try_from(data.len()).unwrap_or(u32::MAX)),
            data: Cow::Borrowed(data),
            options: Vec::new(),
        })?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.inner.get_mut().flush().map_err(WriteError)
    }

    /// Writes a statistics block per interface (in order), flushes, and
    /// returns the output.
    pub fn finish(mut self, counts: &[Counts], end_ns: u64) -> Result<W, WriteError> {
        for (id, c) in (0u32..).zip(counts) {
            let mut options = vec![
                InterfaceStatisticsOption::IsbStartTime(self.start_ns),
                InterfaceStatisticsOption::IsbEndTime(end_ns),
            ];
            if let Some((received, dropped)) = c.kernel {
                options.push(InterfaceStatisticsOption::IsbIfRecv(received));
                options.push(InterfaceStatisticsOption::IsbIfDrop(dropped));
            }
            options.push(InterfaceStatisticsOption::IsbUsrDeliv(c.written));
            self.inner.write_pcapng_block(InterfaceStatisticsBlock {
                interface_id: id,
                timestamp: end_ns,
                options,
            })?;
        }
        self.flush()?;
        Ok(self.inner.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::{Block, PcapNgReader};

    fn ifaces() -> Vec<Interface> {
        vec![
            Interface {
                name: "eth0@web".into(),
                description: "net:[4026532453], ifindex 2".into(),
                linktype: 1,
                snaplen: 262_144,
                filter: Some("icmp".into()),
            },
            Interface {
                name: "vethab12@host".into(),
                description: "net:[4026531840], ifindex 7".into(),
                linktype: 1,
                snaplen: 64,
                filter: None,
            },
        ]
    }

    #[test]
    fn blocks_read_back_in_order() {
        let mut w = Writer::new(Vec::new(), &ifaces(), 1_000).expect("ok");
        w.packet(1, 1_700_000_000_123_456_789, 98, &[0xab; 64])
            .expect("ok");
        w.packet(0, 1_700_000_000_123_456_790, 3, b"xyz")
            .expect("ok");
        let bytes = w
            .finish(
                &[
                    Counts {
                        written: 1,
                        kernel: Some((5, 2)),
                    },
                    Counts {
                        written: 1,
                        kernel: None,
                    },
                ],
                2_000,
            )
            .expect("ok");
        let mut r = PcapNgReader::new(bytes.as_slice()).expect("ok");
        let mut blocks = Vec::new();
        while let Some(b) = r.next_block() {
            blocks.push(b.expect("ok").into_owned());
        }
        let Block::InterfaceDescription(idb) = &blocks[0] else {
            panic!("{:?}", blocks[0]);
        };
        assert!(
            idb.options
                .contains(&InterfaceDescriptionOption::IfName("eth0@web".into()))
        );
        assert!(
            idb.options
                .contains(&InterfaceDescriptionOption::IfTsResol(9))
        );
        assert!(idb.options.contains(&InterfaceDescriptionOption::IfFilter(
            b"\0icmp".to_vec().into()
        )));
        let Block::EnhancedPacket(epb) = &blocks[2] else {
            panic!("{:?}", blocks[2]);
        };
        assert_eq!(epb.interface_id, 1);
        assert_eq!(epb.timestamp.as_nanos(), 1_700_000_000_123_456_789);
        assert_eq!((epb.original_len, epb.data.len()), (98, 64));
        let Block::InterfaceStatistics(isb) = &blocks[4] else {
            panic!("{:?}", blocks[4]);
        };
        assert_eq!(isb.interface_id, 0);
        assert!(
            isb.options
                .contains(&InterfaceStatisticsOption::IsbIfRecv(5))
        );
        assert!(
            isb.options
                .contains(&InterfaceStatisticsOption::IsbIfDrop(2))
        );
        let Block::InterfaceStatistics(isb) = &blocks[5] else {
            panic!("{:?}", blocks[5]);
        };
        assert_eq!(isb.interface_id, 1);
        assert!(
            !isb.options
                .iter()
                .any(|o| matches!(o, InterfaceStatisticsOption::IsbIfRecv(_)))
        );
        assert_eq!(blocks.len(), 6);
    }

    #[test]
    fn a_packet_for_an_unknown_interface_is_refused() {
        let mut w = Writer::new(Vec::new(), &ifaces(), 0).expect("ok");
        assert!(w.packet(2, 0, 1, b"x").is_err());
    }
}
