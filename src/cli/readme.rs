//! The README's list of options is generated from the option definitions;
//! this test fails when the two disagree, and `SNNLOC_WRITE_README=1 cargo
//! test` rewrites the list.

use snnloc::config::{self, Group, ValueKind};

use super::config_args::help;

const START: &str = "<!-- options: generated from src/config/mod.rs; do not edit -->";
const END: &str = "<!-- end of options -->";

/// The options as Markdown tables, one per group.
fn option_tables() -> String {
    let mut out = String::new();
    for &group in Group::ALL {
        out.push_str(&format!(
            "\n**{}** — {}\n\n",
            group.name(),
            group_blurb(group)
        ));
        out.push_str("| flag | sweepable | meaning |\n|---|---|---|\n");
        for def in config::options().iter().filter(|d| d.group == group) {
            let sweepable = match (def.sweepable, def.aliases) {
                (false, _) => "no".to_string(),
                (true, []) => "yes".to_string(),
                (true, names) => format!("yes (also as `{}`)", names.join("`, `")),
            };
            let choices = match def.kind {
                ValueKind::Choice(names) => format!(" (one of {})", names.join(", ")),
                _ => String::new(),
            };
            out.push_str(&format!(
                "| `--{}` | {sweepable} | {}{choices} |\n",
                def.name,
                help(def).replace('|', "\\|")
            ));
        }
    }
    out
}

fn group_blurb(group: Group) -> &'static str {
    let title = group.title();
    title.split_once(": ").map_or(title, |(_, blurb)| blurb)
}

#[test]
fn readme_lists_every_option_as_defined() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md is readable");
    let (Some(start), Some(end)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md lacks the markers {START} and {END}");
    };
    let current = &readme[start + START.len()..end];
    let wanted = format!("{}\n", option_tables());
    if current != wanted && std::env::var_os("SNNLOC_WRITE_README").is_some() {
        let updated = format!("{}{START}{wanted}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, updated).expect("README.md is writable");
        return;
    }
    assert_eq!(
        current, wanted,
        "README.md's option list is out of date: run SNNLOC_WRITE_README=1 cargo test --bin snnloc"
    );
}
