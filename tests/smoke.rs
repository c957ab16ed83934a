mod common;
use common::Side;

scenario!(
    insert_vs_get_without_sync_is_reported,
    {
        let mut map = maprace::HashMap::new();
        common::unordered(
            &mut map,
            |m| at!("previous", m.insert(1, 1)),
            |m| {
                at!("current", m.get(&1));
            },
        );
    },
    |out| {
        out.assert_race(
            Side {
                access: "Read (get) of key 1 in map#1",
                thread: common::TEST_THREAD,
            },
            Side {
                access: "write (insert)",
                thread: "writer",
            },
        );
    }
);

scenario!(
    insert_vs_get_after_join_runs_clean,
    {
        let mut map = maprace::HashMap::new();
        common::joined(
            &mut map,
            |m| {
                m.insert(1, 1);
            },
            |m| {
                m.get(&1);
            },
        );
    },
    |out| out.assert_clean()
);
