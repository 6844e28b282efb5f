//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo does not know that a
//! new file there changes this crate: tell it, so a new migration is never left out.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
