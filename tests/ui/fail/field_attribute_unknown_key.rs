#[maprace::track]
struct Cache {
    #[maprace(label = "hot")]
    map: std::collections::HashMap<u8, u8>,
}

fn main() {
    let _ = Cache {
        map: Default::default(),
    }
    .map;
}
