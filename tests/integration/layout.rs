//! The source's shape: no two modules of one folder import each other,
//! directly or around a circle, so each folder reads in one order.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module path (`sweep::grid`) of every file under `src/`, with its text.
fn modules() -> BTreeMap<Vec<String>, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                walk(&path, &[prefix, &[name]].concat(), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = match name.as_str() {
                    "mod" | "lib" | "main" => prefix.to_vec(),
                    _ => [prefix, &[name]].concat(),
                };
                out.insert(module, fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The modules that `text`, the source of `module`, names through `super::`
/// or `crate::` paths: the longest prefix of each path that is a module.
/// A file's unit tests, which may reach anywhere, are left out.
fn imports(module: &[String], text: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    let words = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|w| {
                w.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect()
    };
    for (start, root) in text
        .match_indices("super::")
        .chain(text.match_indices("crate::"))
    {
        if text[..start].ends_with("::") {
            continue;
        }
        let path = words(&text[start..]);
        let mut base: Vec<String> = match root {
            "crate::" => Vec::new(),
            _ => module[..module.len().saturating_sub(1)].to_vec(),
        };
        let mut rest = &path[1..];
        while rest.first().is_some_and(|w| w == "super") {
            base.pop();
            rest = &rest[1..];
        }
        for k in (1..=rest.len()).rev() {
            let target = [&base[..], &rest[..k]].concat();
            if known.contains(&target) && target != module {
                found.insert(target);
                break;
            }
        }
    }
    found
}

#[test]
fn no_folder_has_an_import_circle() {
    let modules = modules();
    let known: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    let parent = |m: &[String]| m[..m.len().saturating_sub(1)].to_vec();
    // Each module's imports among its siblings.
    let edges: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> = modules
        .iter()
        .map(|(m, text)| {
            let siblings = imports(m, text, &known)
                .into_iter()
                .filter(|t| parent(t) == parent(m))
                .collect();
            (m, siblings)
        })
        .collect();
    // A circle exists where a module reaches itself.
    for start in edges.keys() {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![(*start).clone()]);
        while let Some(m) = todo.pop() {
            for next in &edges[&m] {
                assert!(
                    next != *start,
                    "{} imports {} and is imported back around a circle",
                    start.join("::"),
                    m.join("::")
                );
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
    }
}
