// Paths qualified with another crate and the bodies of macro calls are left as written.
use std::collections::HashMap;

mod parking_lot {
    pub struct Mutex<T>(pub T);
}

#[maprace::track]
fn build() -> (parking_lot::Mutex<u8>, Vec<HashMap<u8, u8>>) {
    // `vec![..]` is an opaque token stream: its `HashMap` is still std's.
    let plain: Vec<std::collections::HashMap<u8, u8>> = vec![HashMap::new()];
    (
        parking_lot::Mutex(3),
        plain.into_iter().map(|m| m.into_iter().collect()).collect(),
    )
}

fn main() {
    let (lock, maps) = build();
    assert_eq!(lock.0, 3);
    let _: &Vec<maprace::HashMap<u8, u8>> = &maps;
    assert_eq!(maps.len(), 1);
}
