// Every sync and thread row: RwLock, Condvar, Barrier, OnceLock, mpsc, thread::Builder.
use std::collections::HashMap;
use std::sync::{Arc, Barrier, Condvar, Mutex, OnceLock, RwLock, mpsc};
use std::thread;

#[maprace::track]
fn run() -> usize {
    let map = Arc::new(RwLock::new(HashMap::new()));
    let barrier = Arc::new(Barrier::new(2));
    let ready = Arc::new((Mutex::new(false), Condvar::new()));
    let once: OnceLock<usize> = OnceLock::new();
    let (tx, rx): (mpsc::Sender<usize>, mpsc::Receiver<usize>) = mpsc::channel();
    let (stx, srx) = std::sync::mpsc::sync_channel::<usize>(1);
    let worker = {
        let (map, barrier, ready) = (Arc::clone(&map), Arc::clone(&barrier), Arc::clone(&ready));
        thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                map.write().unwrap().insert(1, 1);
                barrier.wait();
                *ready.0.lock().unwrap() = true;
                ready.1.notify_one();
                tx.send(1).unwrap();
                stx.send(2).unwrap();
            })
            .unwrap()
    };
    barrier.wait();
    let mut done = ready.0.lock().unwrap();
    while !*done {
        done = ready.1.wait(done).unwrap();
    }
    worker.join().unwrap();
    let total = *once.get_or_init(|| rx.recv().unwrap() + srx.recv().unwrap());
    total + map.read().unwrap().len()
}

fn main() {
    assert_eq!(run(), 4);
}
