//! Keeps `docs/architecture.md` true: reads every file under `src/` and
//! fails when a file imports what its floor must never import, when a file
//! outside the one switch names the atomics, loom or the epoch directly,
//! or when `unsafe` appears above the raw core outside the two places the
//! map of the house names.
//!
//! What counts as an import: every `crate::<module>` path in code (a `use`
//! line, a `use crate::{a, b}` group, or a path written inline), and every
//! `super::<module>` path of a file inside a subfolder (its siblings).
//! Comments are skipped.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// A source file: its path under `src/` ("raw/list.rs") and its code lines.
struct Source {
    path: String,
    code: Vec<(usize, String)>,
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 30,
        "found only {} files under src/",
        files.len()
    );
    files
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(&file).expect("a source file is UTF-8");
            let path = file
                .strip_prefix(&root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            Source {
                path,
                code: code_lines(&text),
            }
        })
        .collect()
}

/// The lines of `text` with `//` comments (doc comments included) and
/// string literals on one line cut off, numbered from 1.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut code = String::new();
            let mut in_string = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' => in_string = !in_string,
                    '\\' if in_string => {
                        chars.next();
                    }
                    '/' if !in_string && chars.peek() == Some(&'/') => break,
                    _ if !in_string => code.push(c),
                    _ => {}
                }
            }
            (i + 1, code)
        })
        .collect()
}

/// The top-level modules a file imports through `crate::`, with a line
/// number each (the first line that names it).
fn crate_imports(src: &Source) -> Vec<(String, usize)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut in_group = false; // inside a `use crate::{ ... }` spanning lines
    for (n, line) in &src.code {
        let mut names = Vec::new();
        if in_group {
            names.extend(group_names(line));
            in_group = !line.contains('}');
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(inner) = after.strip_prefix('{') {
                names.extend(group_names(inner));
                in_group = !inner.contains('}');
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.push(name);
            }
            rest = after;
        }
        for name in names {
            if !name.is_empty() && seen.insert(name.clone()) {
                out.push((name, *n));
            }
        }
    }
    out
}

/// The first path segment of each item of a `use` group's line.
fn group_names(line: &str) -> Vec<String> {
    line.split(',')
        .map(|item| {
            item.trim()
                .trim_start_matches('{')
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty() && name != "self")
        .collect()
}

/// The sibling modules a file in a subfolder imports through `super::`.
fn sibling_imports(src: &Source) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (n, line) in &src.code {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("super::") {
            let after = &rest[at + "super::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != "super" {
                out.push((name, *n));
            }
            rest = after;
        }
    }
    out
}

/// Whether `path` is inside a folder of `src/` or is one of `files`.
fn is_in(path: &str, folders: &[&str], files: &[&str]) -> bool {
    folders
        .iter()
        .any(|f| path.starts_with(&format!("{f}/")) || path == format!("{f}.rs"))
        || files.contains(&path)
}

/// The floors of `docs/architecture.md`, as "a file here imports only these
/// top-level modules" (an allow list) or "never these" (a deny list).
enum Rule {
    Only(&'static [&'static str]),
    Never(&'static [&'static str]),
}

/// The public layers of one product may not reach into another's.
const SPLITMAP_LAYER: &[&str] = &["map", "map_traits", "pinned", "snapshot", "exclusive"];

fn rule_for(path: &str) -> Option<(&'static str, Rule)> {
    Some(if is_in(path, &["sync"], &[]) {
        ("the switch imports nothing above it", Rule::Only(&["sync"]))
    } else if is_in(path, &["raw"], &[]) {
        (
            "the raw core imports only itself and the switch",
            Rule::Only(&["raw", "sync"]),
        )
    } else if is_in(path, &["ops"], &[]) {
        (
            "the operations core imports only the raw core and the switch",
            Rule::Only(&["ops", "raw", "sync"]),
        )
    } else if is_in(path, &[], &["entry.rs", "weak/entry.rs", "cache/entry.rs"]) {
        (
            "an entry kind imports only the operations core's vocabulary and the switch",
            Rule::Only(&["ops", "sync"]),
        )
    } else if is_in(path, &["weak"], &[]) {
        (
            "the weak maps do not reach into the raw core or another product",
            Rule::Never(&[
                "raw",
                "map",
                "map_traits",
                "pinned",
                "snapshot",
                "exclusive",
                "entry",
                "cache",
                "serde_impl",
            ]),
        )
    } else if is_in(path, &["cache"], &[]) {
        (
            "the cache does not reach into the raw core or another product",
            Rule::Never(&[
                "raw",
                "map",
                "map_traits",
                "pinned",
                "snapshot",
                "exclusive",
                "entry",
                "weak",
                "serde_impl",
            ]),
        )
    } else if SPLITMAP_LAYER.iter().any(|m| path == format!("{m}.rs")) {
        (
            "SplitMap's layers do not reach into the raw core or another product",
            Rule::Never(&["raw", "weak", "cache", "serde_impl"]),
        )
    } else if is_in(path, &[], &["guarded.rs", "occupied.rs", "stats.rs"]) {
        (
            "the shared public types import no map",
            Rule::Never(&["raw", "map", "pinned", "snapshot", "weak", "cache", "entry"]),
        )
    } else if is_in(path, &[], &["serde_impl.rs", "rayon_impl.rs"]) {
        (
            "serde and rayon support are built on the public layers",
            Rule::Never(&["raw", "ops"]),
        )
    } else {
        return None;
    })
}

#[test]
fn no_floor_imports_what_it_must_never_import() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for src in sources() {
        let Some((why, rule)) = rule_for(&src.path) else {
            assert_eq!(
                src.path, "lib.rs",
                "a file no rule covers: add it to the map"
            );
            continue;
        };
        checked += 1;
        for (module, line) in crate_imports(&src) {
            let allowed = match &rule {
                Rule::Only(only) => only.contains(&module.as_str()),
                Rule::Never(never) => !never.contains(&module.as_str()),
            };
            if !allowed {
                broken.push(format!(
                    "src/{}:{line} imports crate::{module} ({why})",
                    src.path
                ));
            }
        }
    }
    assert!(checked > 30);
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}

/// The entry kinds sit below their products: an entry kind imports no
/// sibling module, except the cache's, which uses the cache's clock,
/// listener, counters and sweep state (none of which imports the entry).
#[test]
fn entry_kinds_do_not_import_their_products() {
    let allowed_cache_siblings = ["clock", "listener", "stats", "sweep"];
    let mut broken = Vec::new();
    let sources = sources();
    for src in &sources {
        let siblings = sibling_imports(src);
        match src.path.as_str() {
            "weak/entry.rs" => broken.extend(
                siblings
                    .iter()
                    .filter(|(m, _)| m != "tests")
                    .map(|(m, n)| format!("src/weak/entry.rs:{n} imports super::{m}")),
            ),
            "cache/entry.rs" => broken.extend(
                siblings
                    .iter()
                    .filter(|(m, _)| !allowed_cache_siblings.contains(&m.as_str()))
                    .map(|(m, n)| format!("src/cache/entry.rs:{n} imports super::{m}")),
            ),
            _ => {}
        }
    }
    // What the cache's entry imports must not import the entry back.
    for src in &sources {
        let name = src
            .path
            .trim_start_matches("cache/")
            .trim_end_matches(".rs");
        if src.path.starts_with("cache/") && allowed_cache_siblings.contains(&name) {
            for (m, n) in sibling_imports(src) {
                if m == "entry" || m == "evict" || m == "SplitCache" {
                    broken.push(format!(
                        "src/{}:{n} imports super::{m} (a circle)",
                        src.path
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}

/// `sync/` is the one switch between std, loom and chaos mode.
#[test]
fn only_the_switch_names_atomics_loom_or_the_epoch() {
    let mut broken = Vec::new();
    for src in sources() {
        if src.path.starts_with("sync/") {
            continue;
        }
        for (n, line) in &src.code {
            for banned in [
                "std::sync::atomic",
                "core::sync::atomic",
                "loom::",
                "crossbeam_epoch",
            ] {
                if line.contains(banned) {
                    broken.push(format!("src/{}:{n} names {banned}", src.path));
                }
            }
        }
    }
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}

/// Above the raw core and the switch, `unsafe` appears in two places:
/// `Guarded`'s `Deref` and the cache's coarse clock reading.
#[test]
fn unsafe_above_the_raw_core_is_where_the_map_says() {
    let allowed = ["guarded.rs", "cache/clock.rs"];
    let mut found = BTreeSet::new();
    for src in sources() {
        if src.path.starts_with("raw/") || src.path.starts_with("sync/") {
            continue;
        }
        let uses_unsafe = src
            .code
            .iter()
            .any(|(_, line)| line.contains("unsafe ") && !line.contains("unsafe_op_in_unsafe_fn"));
        if uses_unsafe {
            found.insert(src.path.clone());
        }
    }
    let unexpected: Vec<_> = found
        .iter()
        .filter(|p| !allowed.contains(&p.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unsafe outside the raw core: {unexpected:?}"
    );
    assert!(
        found.contains("guarded.rs"),
        "the checker found no unsafe at all"
    );
}

/// The checker's own parsing, so a rule cannot pass by reading nothing.
#[test]
fn the_import_reader_sees_groups_inline_paths_and_skips_comments() {
    let src = Source {
        path: "x.rs".into(),
        code: code_lines(
            "use crate::raw::{a, b};\nuse crate::{ops::Core,\n    stats::MapStats};\n\
             // use crate::cache::X;\nlet s = \"crate::weak\";\nlet g: &crate::sync::Guard;\n",
        ),
    };
    let names: Vec<String> = crate_imports(&src).into_iter().map(|(m, _)| m).collect();
    assert_eq!(names, ["raw", "ops", "stats", "sync"]);
}
