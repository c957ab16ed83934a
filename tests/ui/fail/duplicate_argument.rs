#[maprace::track(maps_only, maps_only)]
struct Cache {
    map: std::collections::HashMap<u8, u8>,
}

fn main() {
    let _ = Cache {
        map: Default::default(),
    }
    .map;
}
