//! Scrolling and listing follow Qdrant's order of point ids (integers
//! numerically, then UUIDs), from any start, in one index and across shards;
//! ids of any other form follow in byte order.

use std::ops::Bound;

use lhv_core::{Index, IndexParams, Item, Metric, ShardedIndex, compare_ids};
use proptest::prelude::*;

fn id_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0u64..40).prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<u128>().prop_map(|n| {
            let hex = format!("{n:032x}");
            format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
        }),
        1 => "[0-9a-z-]{1,4}",
    ]
}

fn item(id: &str) -> Item {
    Item::new(id, vec![1.0, id.len() as f32])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scrolls_and_listings_follow_id_order(
        ids in prop::collection::btree_set(id_strategy(), 1..60),
        page in 1usize..9,
        start in id_strategy(),
    ) {
        let mut want: Vec<String> = ids.iter().cloned().collect();
        want.sort_by(|a, b| compare_ids(a, b));
        let items: Vec<Item> = ids.iter().map(|id| item(id)).collect();
        let one = Index::new(IndexParams::new(2, Metric::L2)).unwrap();
        one.upsert(items.clone()).unwrap();
        let sharded = ShardedIndex::new(IndexParams::new(2, Metric::L2), 3).unwrap();
        sharded.upsert(items).unwrap();

        let from: Vec<String> =
            want.iter().filter(|id| compare_ids(id, &start).is_ge()).take(page).cloned().collect();
        prop_assert_eq!(&one.ids_where(Bound::Included(&start), page, None).unwrap(), &from);
        prop_assert_eq!(&sharded.ids_where(Bound::Included(&start), page, None).unwrap(), &from);

        let scroll_all = |scroll: &dyn Fn(Option<&str>) -> lhv_core::ScrollPage| {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let got = scroll(after.as_deref());
                seen.extend(got.ids);
                match got.next_after {
                    Some(next) => after = Some(next),
                    None => return seen,
                }
            }
        };
        prop_assert_eq!(&scroll_all(&|after| one.scroll(after, page).unwrap()), &want);
        prop_assert_eq!(&scroll_all(&|after| sharded.scroll(after, page).unwrap()), &want);
    }
}
