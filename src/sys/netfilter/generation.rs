//! NFT_MSG_GETGEN: the ruleset generation (`nft_net->base_seq`), which
//! every committed transaction increments (nf_tables_commit). Asked before
//! the table dump and again after the rule dump: equal answers (with no
//! NLM_F_DUMP_INTR in between) mean the three dumps saw one ruleset. This
//! is how `nft` itself keeps its cache consistent (nft_cache_update).

use super::attr::{attrs, be32};

/// `NFTA_GEN_ID` (enum nft_gen_attributes): the generation, `__be32`.
const NFTA_GEN_ID: u16 = 1;

/// The generation in an NFT_MSG_NEWGEN reply's attributes.
pub fn parse(attributes: &[u8]) -> Option<u32> {
    attrs(attributes)
        .find(|&(kind, _)| kind == NFTA_GEN_ID)
        .and_then(|(_, v)| be32(v))
}

/// Whether a reply's `res_id` fits generation `generation`: nf_tables
/// fills it with the low 16 bits of the generation current when the
/// message was filled (nfnl_msg_put with nft_base_seq_be16 in
/// nf_tables_api.c). Old kernels sent 0 there, which proves nothing.
pub fn res_id_fits(res_id: u16, generation: u32) -> bool {
    res_id == 0 || res_id == (generation & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netfilter::captures::{NEWGEN, reply, unhex};
    use crate::sys::netfilter::socket::NFT_MSG_NEWGEN;

    #[test]
    fn generation_of_a_real_reply() {
        let payload = unhex(NEWGEN);
        let newgen = reply(NFT_MSG_NEWGEN, &payload);
        assert_eq!(parse(newgen.attrs), Some(2));
        assert_eq!(newgen.res_id, 2, "res_id carries it too");
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn res_id_is_the_low_half_of_the_generation() {
        assert!(res_id_fits(2, 2));
        assert!(res_id_fits(0x0001, 0x0003_0001));
        assert!(!res_id_fits(3, 2));
        assert!(res_id_fits(0, 7), "old kernels send 0");
    }
}
