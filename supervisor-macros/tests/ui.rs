//! Compile-time behaviour of `#[supervised]`: what compiles, and the error
//! (message and span) of each kind of mistake. Regenerate the `.stderr`
//! files with `TRYBUILD=overwrite cargo test -p supervisor-macros --test ui`
//! and read every one of them before committing.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
