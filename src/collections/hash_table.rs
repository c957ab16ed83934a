//! The `HashMap` mirror's table, owned so that the drop check treats it as it treats std's.
//!
//! std's map may be dropped after data its keys or values borrow is gone (`let key =
//! String::new(); map.insert(&key, 1);` with `map` declared first), because its table's `Drop`
//! is `#[may_dangle]`, which stable Rust cannot write, and hashbrown has it only on nightly. Here
//! the table is kept in storage whose type does not name `K` or `V`, dropped by a function
//! pointer chosen when it was made, and a `PhantomData` of the pairs tells the drop check (and
//! the auto traits) what is owned: the pairs' own drop glue is checked as std's is, and nothing
//! more is required of `K` and `V`.

use hashbrown::HashTable;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};
use std::ptr;

/// What a `HashTable` takes with the global allocator: four words (checked per type).
type Words = [MaybeUninit<usize>; 4];

/// A `HashTable<T>` in type-erased storage (see the module docs).
pub(super) struct Table<T> {
    erased: Erased,
    owns: PhantomData<T>,
}

/// The storage and how to drop it; its `Drop` names no type of the map.
struct Erased {
    words: Words,
    drop: unsafe fn(*mut Words),
}

/// # Safety
/// `words` holds a live `HashTable<T>`, dropped by this call and not used again.
unsafe fn drop_table<T>(words: *mut Words) {
    // SAFETY: the caller's contract.
    unsafe { ptr::drop_in_place(words.cast::<HashTable<T>>()) }
}

impl Drop for Erased {
    fn drop(&mut self) {
        // SAFETY: `words` holds the live table `Table::new` wrote, with the `drop` made for its
        // type (`into_inner` takes it out without running this).
        unsafe { (self.drop)(&mut self.words) }
    }
}

impl<T> Table<T> {
    pub(super) const fn new(table: HashTable<T>) -> Table<T> {
        const {
            assert!(size_of::<HashTable<T>>() == size_of::<Words>());
            assert!(align_of::<HashTable<T>>() <= align_of::<Words>());
        }
        let mut words = [MaybeUninit::uninit(); 4];
        // SAFETY: the words are as large as the table and aligned for it (asserted above).
        unsafe { ptr::write(words.as_mut_ptr().cast::<HashTable<T>>(), table) };
        Table {
            erased: Erased {
                words,
                drop: drop_table::<T>,
            },
            owns: PhantomData,
        }
    }

    /// The table, taken out (a consuming operation of the map).
    pub(super) fn into_inner(self) -> HashTable<T> {
        let erased = ManuallyDrop::new(self);
        // SAFETY: the words hold the live table `new` wrote; it is read out once, and the
        // storage is not dropped (`ManuallyDrop`), so it is not dropped twice.
        unsafe { ptr::read(erased.erased.words.as_ptr().cast::<HashTable<T>>()) }
    }
}

impl<T> Deref for Table<T> {
    type Target = HashTable<T>;

    #[inline(always)]
    fn deref(&self) -> &HashTable<T> {
        // SAFETY: the words always hold the live table `new` wrote (only `into_inner`, which
        // consumes `self`, takes it out).
        unsafe { &*self.erased.words.as_ptr().cast::<HashTable<T>>() }
    }
}

impl<T> DerefMut for Table<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut HashTable<T> {
        // SAFETY: as in `deref`, and `&mut self` is the only access.
        unsafe { &mut *self.erased.words.as_mut_ptr().cast::<HashTable<T>>() }
    }
}

impl<T: Clone> Clone for Table<T> {
    fn clone(&self) -> Self {
        Table::new(HashTable::clone(self))
    }
}
