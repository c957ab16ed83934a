//! The guards into a shard: one entry ([`one`]), an entry of the Entry API ([`entry`]), an
//! iterator's item ([`multiple`]). Each holds its shard's lock until it is dropped.

/// What every guard on one entry derives from its own `pair` (and `pair_mut`, which touch its
/// hold): `key`, `value` and `Deref` (and `value_mut` and `DerefMut`, for `mut`). `$value` is
/// the doc of `value`; `$part` names the mapped guards' extra parameter, the part's type.
macro_rules! guard_access {
    ($guard:ident $(<$part:ident>)?, $target:ident, $value:literal) => {
        impl<'a, K: ::std::cmp::Eq + ::std::hash::Hash, V $(, $part)?> $guard<'a, K, V $(, $part)?> {
            /// The entry's key.
            pub fn key(&self) -> &K {
                self.pair().0
            }

            #[doc = $value]
            pub fn value(&self) -> &$target {
                self.pair().1
            }
        }

        impl<K: ::std::cmp::Eq + ::std::hash::Hash, V $(, $part)?> ::std::ops::Deref for $guard<'_, K, V $(, $part)?> {
            type Target = $target;

            fn deref(&self) -> &$target {
                self.value()
            }
        }
    };
    (mut $guard:ident $(<$part:ident>)?, $target:ident, $value:literal) => {
        guard_access!($guard $(<$part>)?, $target, $value);

        impl<'a, K: ::std::cmp::Eq + ::std::hash::Hash, V $(, $part)?> $guard<'a, K, V $(, $part)?> {
            #[doc = concat!($value, ", mutably.")]
            pub fn value_mut(&mut self) -> &mut $target {
                self.pair_mut().1
            }
        }

        impl<K: ::std::cmp::Eq + ::std::hash::Hash, V $(, $part)?> ::std::ops::DerefMut for $guard<'_, K, V $(, $part)?> {
            fn deref_mut(&mut self) -> &mut $target {
                self.value_mut()
            }
        }
    };
}

pub mod entry;
pub mod multiple;
pub mod one;
