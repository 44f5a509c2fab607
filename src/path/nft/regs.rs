//! The register file of one run: 64 bytes, each known or unknown, indexed
//! as nft_parse_register maps the netlink numbers.

/// Bytes of the shared area (NFT_REG32_NUM * 4).
pub const AREA: usize = 64;

#[derive(Clone, Debug)]
pub struct Regs {
    bytes: [Option<u8>; AREA],
}

/// The byte offset of register `reg` (1–4: 16-byte registers at 32-bit
/// index reg*4; 8–23: 4-byte registers at index reg-4), or None for one
/// the kernel would reject. Register 0 (the verdict) has no data here.
pub fn offset(reg: u32) -> Option<usize> {
    let idx = match reg {
        1..=4 => reg * 4,
        8..=23 => reg - 4,
        _ => return None,
    };
    usize::try_from(idx * 4).ok()
}

impl Regs {
    pub fn new() -> Regs {
        // Unknown until written: the kernel does not clear the area.
        Regs {
            bytes: [None; AREA],
        }
    }

    /// The bytes at `reg`, `len` long, or None when out of the area.
    pub fn get(&self, reg: u32, len: usize) -> Option<&[Option<u8>]> {
        let start = offset(reg)?;
        let end = start.checked_add(len).filter(|&e| e <= AREA)?;
        Some(&self.bytes[start..end])
    }

    /// Writes bytes (None: unknown); false when out of the area.
    pub fn set(&mut self, reg: u32, bytes: &[Option<u8>]) -> bool {
        let Some(start) = offset(reg) else {
            return false;
        };
        match self.bytes.get_mut(start..start + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    /// Writes a value the way nft_reg_store8/16 and 32-bit stores do: the
    /// value then zeroes up to the 32-bit word.
    pub fn store(&mut self, reg: u32, bytes: &[Option<u8>]) -> bool {
        let Some(start) = offset(reg) else {
            return false;
        };
        let padded = bytes.len().div_ceil(4) * 4;
        match self.bytes.get_mut(start..start + padded) {
            Some(dst) => {
                dst[..bytes.len()].copy_from_slice(bytes);
                dst[bytes.len()..].fill(Some(0));
                true
            }
            None => false,
        }
    }
}

/// Known bytes only, or None.
pub fn known(bytes: &[Option<u8>]) -> Option<Vec<u8>> {
    bytes.iter().copied().collect()
}

/// memcmp of a register image with constant data: Some(ordering) when the
/// known bytes decide it.
pub fn compare(reg: &[Option<u8>], data: &[u8]) -> Option<std::cmp::Ordering> {
    for (r, d) in reg.iter().zip(data) {
        match r {
            None => return None,
            Some(r) if r != d => return Some(r.cmp(d)),
            Some(_) => {}
        }
    }
    Some(std::cmp::Ordering::Equal)
}

/// Equality where a known mismatch decides even past an unknown byte.
pub fn equal(reg: &[Option<u8>], data: &[u8]) -> Option<bool> {
    let mut all = true;
    for (r, d) in reg.iter().zip(data) {
        match r {
            Some(r) if r != d => return Some(false),
            Some(_) => {}
            None => all = false,
        }
    }
    all.then_some(true)
}
