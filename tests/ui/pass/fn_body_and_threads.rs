// A whole `fn`: `let` bindings, turbofish and qualified-self constructors, `thread::scope` and
// `std::thread::spawn` with a `Mutex`.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;

#[maprace::track]
fn count_words(text: &'static str) -> HashMap<String, usize> {
    let counts = Arc::new(Mutex::new(HashMap::<String, usize>::with_capacity(8)));
    thread::scope(|s| {
        for line in text.lines() {
            let counts = &counts;
            s.spawn(move || {
                for word in line.split_whitespace() {
                    *counts.lock().unwrap().entry(word.to_owned()).or_default() += 1;
                }
            });
        }
    });
    let extra = Arc::clone(&counts);
    std::thread::spawn(move || extra.lock().unwrap().insert("end".to_owned(), 1))
        .join()
        .unwrap();
    let mut result = <HashMap<String, usize>>::default();
    result.extend(counts.lock().unwrap().drain());
    result
}

fn tracked(_: &maprace::HashMap<String, usize>) {}

fn main() {
    let counts = count_words("a b a\nb a c");
    tracked(&counts);
    assert_eq!(counts["a"], 3);
    assert_eq!(counts["b"], 2);
    assert_eq!(counts["c"], 1);
    assert_eq!(counts["end"], 1);
    assert_eq!(counts.len(), 4);
}
