pub fn rule_text(_t: &crate::snapshot::l3::NftTable, _r: &crate::snapshot::nft::NftRule) -> String {
    String::new()
}
