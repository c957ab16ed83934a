//! The guards of a [`DashSet`](super::DashSet): a key found by `get` ([`one`]), an iterator's
//! item ([`multiple`]).

pub mod multiple;
pub mod one;
