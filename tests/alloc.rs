//! A key type whose name is std's `alloc::string::String`, and is not std's `String`: this test
//! crate is named `alloc` (after this file), so its `string::String` has that very type name. A
//! report must print it as a key maprace cannot print (its hash and type), never read it as a
//! `String` (type names are not unique identifiers). (Its reports print no stack: a crate named
//! `alloc` has frames that look like the standard library's, which stacks leave out.)

mod common;

use std::hash::BuildHasher;

/// Not std's `String`: three numbers where std's has a pointer, a capacity and a length.
mod string {
    #[derive(Hash, PartialEq, Eq, Debug)]
    pub(crate) struct String(pub(crate) usize, pub(crate) usize, pub(crate) usize);
}

scenario!(
    a_key_whose_type_has_the_name_of_std_string_is_shown_by_its_hash,
    {
        assert_eq!(
            std::any::type_name::<string::String>(),
            std::any::type_name::<std::string::String>()
        );
        let mut map = maprace::HashMap::new();
        let key = string::String(1, 2, 3);
        println!("key hash: {:#018x}", map.hasher().hash_one(&key));
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(string::String(1, 2, 3), 1)),
            |m| at!("current", m.get(&key).copied()),
        );
    },
    |out| {
        let hash = out
            .stdout
            .lines()
            .find_map(|l| l.split_once("key hash: ").map(|(_, hash)| hash)) // after libtest's own words
            .unwrap_or_else(|| panic!("the key's hash\n{out}"))
            .to_owned();
        out.assert_race(
            common::Side {
                access: &format!("Read (get) of key <hash {hash}> (String) in map#1"),
                thread: common::TEST_THREAD,
            },
            common::Side {
                access: "write (insert) of the map's structure",
                thread: "writer",
            },
        );
    }
);
