//! Key recipes and keyed hashing (being written).
