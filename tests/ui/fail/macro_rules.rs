#[maprace::track]
macro_rules! cache {
    () => {
        std::collections::HashMap::<u8, u8>::new()
    };
}

fn main() {
    let _ = cache!();
}
