//! Tether benchmark harness (skeleton).
