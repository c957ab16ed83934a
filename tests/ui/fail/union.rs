#[maprace::track]
union Bits {
    word: u32,
    bytes: [u8; 4],
}

fn main() {
    let _ = Bits { word: 1 };
}
