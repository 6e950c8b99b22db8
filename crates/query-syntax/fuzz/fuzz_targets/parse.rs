//! Fuzz target: `parse` never panics or hangs on any text, and whatever parses prints as text
//! that parses back to the same tree, and survives the JSON form.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(report) = query_syntax::parse(text) else {
        return;
    };
    let printed = report.to_string();
    match query_syntax::parse(&printed) {
        Ok(again) => assert_eq!(
            again.without_spans(),
            report.without_spans(),
            "{text:?} printed as {printed:?}"
        ),
        Err(error) => panic!("{text:?} printed as {printed:?}, which fails: {error}"),
    }
    if let Err(error) = query_syntax::from_json(&query_syntax::to_json(&report)) {
        panic!("{text:?}: its JSON does not read back: {error}");
    }
});
