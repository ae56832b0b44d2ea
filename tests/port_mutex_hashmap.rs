//! A realistic port of `Mutex<HashMap>` code to `SplitMap`, made with only
//! the mechanical edits of the README's migration table: a request registry
//! whose values are not `Clone`, a counter map, and a cache-aside lookup.
//!
//! `before` is the service as it was written with `Mutex<HashMap>`; `after`
//! is the same text with each map line rewritten by the table (the comment
//! on each line names the row). Both run the same concurrent workload and
//! must end in the same state. If a row of the table stops compiling or
//! behaves differently, this file fails.

use std::sync::mpsc;

/// A reply channel: deliberately not `Clone`, like most handles.
#[derive(Debug)]
pub(crate) struct Responder {
    tx: mpsc::Sender<String>,
    request: u64,
}

impl Responder {
    fn reply(&self, body: &str) {
        // The receiver may be gone; a real service would log it.
        let _ = self.tx.send(format!("{}: {body}", self.request));
    }
}

fn load_from_database(user: u64) -> String {
    format!("profile-of-{user}")
}

mod before {
    use super::{load_from_database, Responder};
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    pub(crate) struct Service {
        pending: Mutex<HashMap<u64, Responder>>,
        hits: Mutex<HashMap<String, u64>>,
        profiles: Mutex<HashMap<u64, String>>,
    }

    impl Service {
        pub(crate) fn start(&self, request: u64, responder: Responder) {
            self.pending.lock().unwrap().insert(request, responder);
        }

        pub(crate) fn finish(&self, request: u64, body: &str) -> bool {
            if let Some(r) = self.pending.lock().unwrap().remove(&request) {
                r.reply(body);
                true
            } else {
                false
            }
        }

        pub(crate) fn in_flight(&self) -> usize {
            self.pending.lock().unwrap().len()
        }

        pub(crate) fn count(&self, page: &str) {
            *self
                .hits
                .lock()
                .unwrap()
                .entry(page.to_string())
                .or_insert(0) += 1;
        }

        pub(crate) fn hits(&self, page: &str) -> u64 {
            self.hits.lock().unwrap().get(page).cloned().unwrap_or(0)
        }

        pub(crate) fn profile(&self, user: u64) -> String {
            if let Some(p) = self.profiles.lock().unwrap().get(&user).cloned() {
                return p;
            }
            let p = load_from_database(user);
            self.profiles.lock().unwrap().insert(user, p.clone());
            p
        }

        pub(crate) fn forget_profiles_below(&self, user: u64) {
            self.profiles.lock().unwrap().retain(|u, _| *u >= user);
        }

        pub(crate) fn cached_profiles(&self) -> Vec<u64> {
            let mut users: Vec<u64> = Vec::new();
            for (u, _) in self.profiles.lock().unwrap().iter() {
                users.push(*u);
            }
            users.sort();
            users
        }
    }
}

mod after {
    use super::{load_from_database, Responder};
    use splitmap::SplitMap;

    #[derive(Default)]
    pub(crate) struct Service {
        pending: SplitMap<u64, Responder>,
        hits: SplitMap<String, u64>,
        profiles: SplitMap<u64, String>,
    }

    impl Service {
        pub(crate) fn start(&self, request: u64, responder: Responder) {
            self.pending.insert(request, responder); // row: insert
        }

        pub(crate) fn finish(&self, request: u64, body: &str) -> bool {
            if let Some(r) = self.pending.remove(&request) {
                // row: remove
                r.reply(body);
                true
            } else {
                false
            }
        }

        pub(crate) fn in_flight(&self) -> usize {
            self.pending.len() // row: len
        }

        pub(crate) fn count(&self, page: &str) {
            self.hits.update_or_insert(page.to_string(), |n| n + 1, 1); // row: entry().or_insert() +=
        }

        pub(crate) fn hits(&self, page: &str) -> u64 {
            self.hits.get(page).unwrap_or(0) // row: get().cloned()
        }

        pub(crate) fn profile(&self, user: u64) -> String {
            if let Some(p) = self.profiles.get(&user) {
                // row: get().cloned()
                return p;
            }
            let p = load_from_database(user);
            self.profiles.insert(user, p.clone()); // row: insert
            p
        }

        pub(crate) fn forget_profiles_below(&self, user: u64) {
            self.profiles.retain(|u, _| *u >= user); // row: retain
        }

        pub(crate) fn cached_profiles(&self) -> Vec<u64> {
            let mut users: Vec<u64> = Vec::new();
            for (u, _) in self.profiles.snapshot().iter() {
                // row: iter
                users.push(*u);
            }
            users.sort();
            users
        }
    }
}

/// The same workload on 4 threads; returns what a caller can observe.
macro_rules! exercise {
    ($service:expr) => {{
        let service = &$service;
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let tx = tx.clone();
                s.spawn(move || {
                    for i in 0..250u64 {
                        let request = t * 1_000 + i;
                        service.start(
                            request,
                            Responder {
                                tx: tx.clone(),
                                request,
                            },
                        );
                        service.count(if i % 3 == 0 { "/" } else { "/about" });
                        assert_eq!(service.profile(i % 50), load_from_database(i % 50));
                        if i % 5 != 0 {
                            assert!(service.finish(request, "ok"));
                        }
                    }
                });
            }
        });
        drop(tx);
        assert!(!service.finish(999_999, "unknown request"));
        service.forget_profiles_below(40);
        let mut replies: Vec<String> = rx.try_iter().collect();
        replies.sort();
        (
            service.in_flight(),
            service.hits("/"),
            service.hits("/about"),
            service.hits("/missing"),
            service.cached_profiles(),
            replies,
        )
    }};
}

#[test]
fn the_port_behaves_like_the_original() {
    let original = exercise!(before::Service::default());
    let ported = exercise!(after::Service::default());
    assert_eq!(original.0, 200, "one request in five stays in flight");
    assert_eq!((original.1, original.2), (336, 664));
    assert_eq!(original.4, (40..50).collect::<Vec<_>>());
    assert_eq!(original.5.len(), 800);
    assert_eq!(ported, original);
}
