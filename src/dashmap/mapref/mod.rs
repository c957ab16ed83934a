//! The guards into a shard: one entry ([`one`]), an entry of the Entry API ([`entry`]), an
//! iterator's item ([`multiple`]). Each holds its shard's lock until it is dropped.

pub mod entry;
pub mod multiple;
pub mod one;
