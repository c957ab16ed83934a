#[maprace::track(name = sessions)]
struct Cache {
    map: std::collections::HashMap<u8, u8>,
}

fn main() {
    let _ = Cache {
        map: Default::default(),
    }
    .map;
}
