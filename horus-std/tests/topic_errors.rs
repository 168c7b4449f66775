//! Bad input and faults: each gets a typed error that names the thing and the
//! fix, never a panic, never undefined behaviour.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::TestNs;
use horus::error::{Corruption, FileKind, TopicError};
use horus::prelude::*;
use horus::shm::Namespace;
use horus_nostd::ring::{Refusal, SendRefused};

message! {
    Alpha { a: u64 }
    Beta { b: u32, c: u32 }
    Big { bytes: [u64; 512] }
}

fn topic_error<T: Message>(ns: &str, name: &str) -> TopicError {
    match Topic::<T>::builder(name).namespace(ns).build() {
        Err(horus::Error::Topic(e)) => e,
        Err(other) => panic!("expected a topic error, got {other}"),
        Ok(_) => panic!("opening {name:?} succeeded"),
    }
}

/// Creates the namespace directory and writes `bytes` at topic `name`'s path.
fn plant(ns: &TestNs, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = Namespace::open(&ns.name).unwrap();
    let path = dir.topic_path(name);
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn type_mismatch_names_both_types() {
    let ns = TestNs::new("mismatch");
    let _a: Topic<Alpha> = Topic::builder("cmd").namespace(&ns.name).build().unwrap();
    let e = topic_error::<Beta>(&ns.name, "cmd");
    assert!(matches!(e, TopicError::TypeMismatch { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("Alpha") && text.contains("Beta"), "{text}");
}

mod v2 {
    horus::prelude::message! {
        /// Same name as the outer `Alpha`, another layout.
        Alpha { x: f64, y: f64 }
    }
}

#[test]
fn same_name_with_another_layout_says_so() {
    let ns = TestNs::new("samename");
    let _a: Topic<Alpha> = Topic::builder("cmd").namespace(&ns.name).build().unwrap();
    let e = topic_error::<v2::Alpha>(&ns.name, "cmd");
    assert!(
        matches!(
            e,
            TopicError::TypeMismatch {
                same_name: true,
                ..
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("this program's `Alpha` and the topic's")
            && text.contains("different definitions"),
        "{text}"
    );
}

#[test]
fn invalid_topic_names_are_refused_before_any_file_is_touched() {
    let ns = TestNs::new("names");
    for bad in [
        "../x",
        "",
        "a//b",
        "a/",
        "/a/.b",
        ".hidden",
        "sp ace",
        "ünï",
        &"x".repeat(201),
    ] {
        let e = topic_error::<Alpha>(&ns.name, bad);
        assert!(
            matches!(e, TopicError::InvalidName { .. }),
            "{bad:?}: {e:?}"
        );
        assert!(e.to_string().contains("A-Z a-z 0-9"), "{e}");
    }
    assert!(!ns.path().exists(), "a refused name created the namespace");
    let e = match Topic::<Alpha>::builder("ok").namespace("../etc").build() {
        Err(horus::Error::Topic(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(matches!(e, TopicError::InvalidNamespace { .. }), "{e:?}");
}

#[test]
fn random_bytes_at_the_topic_path_are_corrupt_and_left_alone() {
    let ns = TestNs::new("random");
    let mut junk = vec![0u8; 4096];
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for b in &mut junk {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let path = plant(&ns, "junk", &junk);
    let e = topic_error::<Alpha>(&ns.name, "junk");
    assert!(
        matches!(
            e,
            TopicError::Corrupt {
                reason: Corruption::NotARegion { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("horus clean --shm"), "{e}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        junk,
        "foreign file was modified"
    );
}

#[test]
fn an_empty_file_at_the_topic_path_is_truncated() {
    let ns = TestNs::new("empty");
    plant(&ns, "empty", &[]);
    let e = topic_error::<Alpha>(&ns.name, "empty");
    assert!(
        matches!(
            e,
            TopicError::Corrupt {
                reason: Corruption::Truncated { .. },
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_truncated_region_is_refused() {
    let ns = TestNs::new("truncated");
    let path = {
        let t: Topic<Alpha> = Topic::builder("cut").namespace(&ns.name).build().unwrap();
        t.path().to_owned()
    };
    let bytes = std::fs::read(&path).unwrap();
    // Not a whole number of words: the error still gives the file's length.
    let cut = bytes.len() / 2 + 3;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let e = topic_error::<Alpha>(&ns.name, "cut");
    assert!(
        matches!(
            e,
            TopicError::Corrupt {
                reason: Corruption::Truncated { needed, found },
                ..
            } if needed == bytes.len() && found == cut
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains(&format!(
            "it has {cut} bytes where {} are needed",
            bytes.len()
        )),
        "{e}"
    );
}

#[test]
fn a_file_shorter_than_a_header_is_truncated_with_its_length() {
    let ns = TestNs::new("short");
    plant(&ns, "short", b"hi\n");
    let e = topic_error::<Alpha>(&ns.name, "short");
    assert!(
        matches!(
            e,
            TopicError::Corrupt {
                reason: Corruption::Truncated {
                    needed: 256,
                    found: 3
                },
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_region_of_another_layout_version_is_refused() {
    let ns = TestNs::new("version");
    let path = {
        let t: Topic<Alpha> = Topic::builder("old").namespace(&ns.name).build().unwrap();
        t.path().to_owned()
    };
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..16].copy_from_slice(&0u64.to_ne_bytes()); // header word 1: VERSION
    std::fs::write(&path, &bytes).unwrap();
    let e = topic_error::<Alpha>(&ns.name, "old");
    assert!(
        matches!(
            e,
            TopicError::VersionMismatch {
                found: 0,
                expected: horus_nostd::layout::LAYOUT_VERSION,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_symlink_at_the_topic_path_is_not_followed() {
    let ns = TestNs::new("symlink");
    let dir = Namespace::open(&ns.name).unwrap();
    let target = std::env::temp_dir().join(format!("horus_target_{}", std::process::id()));
    std::fs::write(&target, b"precious").unwrap();
    std::os::unix::fs::symlink(&target, dir.topic_path("link")).unwrap();
    let e = topic_error::<Alpha>(&ns.name, "link");
    assert!(
        matches!(
            e,
            TopicError::NotARegularFile {
                found: FileKind::Symlink,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    std::fs::remove_file(dir.topic_path("link")).unwrap();
    std::fs::remove_file(&target).unwrap();
}

#[test]
fn a_namespace_owned_by_another_user_is_refused_naming_the_owner() {
    let ns = TestNs::new("owner");
    let path = ns.path();
    let (other, me) = ns.create_dir_owned_by_another_user();
    let e = topic_error::<Alpha>(&ns.name, "x");
    std::fs::remove_dir(&path).unwrap();
    match &e {
        TopicError::PermissionDenied { owner, uid, .. } => {
            assert_eq!((*owner, *uid), (Some(other), me));
        }
        _ => panic!("{e:?}"),
    }
    assert!(e.to_string().contains(&format!("uid {other}")), "{e}");
}

#[test]
fn geometry_asked_explicitly_must_match() {
    let ns = TestNs::new("geometry");
    let _a: Topic<Alpha> = Topic::builder("g")
        .namespace(&ns.name)
        .capacity(8)
        .build()
        .unwrap();
    let e = match Topic::<Alpha>::builder("g")
        .namespace(&ns.name)
        .capacity(16)
        .build()
    {
        Err(horus::Error::Topic(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        e,
        TopicError::GeometryMismatch {
            existing: 8,
            requested: 16,
            ..
        }
    ));
    let e = match Topic::<Alpha>::builder("h")
        .namespace(&ns.name)
        .capacity(3)
        .build()
    {
        Err(horus::Error::Topic(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(e.to_string().contains("power of two"), "{e}");
}

/// A full /dev/shm: run in a child whose `HORUS_SHM_DIR` is a 64 KiB tmpfs.
#[test]
fn a_full_shared_memory_is_no_space_not_sigbus() {
    let mnt = std::env::temp_dir().join(format!("horus_tiny_{}", std::process::id()));
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        mounted,
        "this test needs to mount a tmpfs (run as root, as CI does)"
    );
    let out = common::self_command()
        .args(["--exact", "child_main", "--nocapture", "--include-ignored"])
        .env("HORUS_TEST_ROLE", "nospace")
        .env("HORUS_SHM_DIR", &mnt)
        .output()
        .unwrap();
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    let _ = std::fs::remove_dir(&mnt);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    assert!(stdout.contains("NOSPACE_OK"), "{stdout}");
}

#[test]
#[ignore = "child process entry point; run by the parent test"]
fn child_main() {
    let (role, _) = common::child_role();
    match role.as_str() {
        "nospace" => {
            // Lanes larger than the file system (4 MiB of a 64 KiB tmpfs):
            // the topic is made (its tables fit; a lane is reserved by the
            // first handle that publishes in it), and the first send finds
            // no memory: refused with the message back, naming the fix.
            let open = || -> Topic<Big> {
                Topic::builder("huge")
                    .namespace("full")
                    .capacity(1024)
                    .build()
                    .unwrap()
            };
            let (huge, sub) = (open(), open());
            let big = Big { bytes: [7; 512] };
            let reason = match huge.try_publish(big) {
                Err(SendRefused { reason, .. }) => reason,
                Ok(()) => panic!("4 MiB of lane in 64 KiB"),
            };
            assert!(
                matches!(reason, Refusal::NoMemory { lane: 0, .. }),
                "{reason}"
            );
            assert!(reason.to_string().contains("horus clean --shm"), "{reason}");
            huge.send(big);
            assert_eq!(huge.unsent_count(), 1);
            assert_eq!(sub.recv(), None);
            // A topic that fits still works in the same namespace.
            let t: Topic<Alpha> = Topic::builder("small")
                .namespace("full")
                .capacity(2)
                .max_participants(1)
                .build()
                .unwrap();
            t.send(Alpha { a: 5 });
            assert_eq!(t.recv(), Some(Alpha { a: 5 }));
            // On a full file system, making a topic is `NoSpace`.
            {
                use std::io::Write;
                let filler = Namespace::base_dir().join("filler");
                let mut f = std::fs::File::create(filler).unwrap();
                while f.write_all(&[1u8; 4096]).is_ok() {}
            }
            let e = match Topic::<Alpha>::builder("later").namespace("full").build() {
                Err(horus::Error::Topic(e)) => e,
                other => panic!("expected NoSpace, got {other:?}"),
            };
            assert!(matches!(e, TopicError::NoSpace { .. }), "{e:?}");
            assert!(e.to_string().contains("horus clean --shm"), "{e}");
            println!("NOSPACE_OK");
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn system_topic_names_are_only_for_their_system_types() {
    let ns = TestNs::new("reserved");
    for (name, what) in [
        (
            "_horus.estop",
            "e-stop (message type EmergencyStop, not Alpha)",
        ),
        (
            "_horus.nodes",
            "node registry (message type NodeRecord, not Alpha)",
        ),
        (
            "_horus.control",
            "node control (message type ControlRecord, not Alpha)",
        ),
        (
            "_horus.blackbox",
            "blackbox (message type BlackboxRecord, not Alpha)",
        ),
        (
            "_horus.blackbox.rare",
            "blackbox (message type BlackboxRecord, not Alpha)",
        ),
        ("_horus.mine", "system topics;"),
    ] {
        let e = topic_error::<Alpha>(&ns.name, name);
        assert!(
            matches!(&e, TopicError::ReservedName { name: n, .. } if n == name),
            "{e:?}"
        );
        let sentence = e.to_string();
        assert!(
            sentence.contains(&format!("reserved for HORUS's {what}"))
                && sentence.contains("without the `_horus.` prefix"),
            "{sentence}"
        );
    }
    // Nothing was created for them: no program's scheduler can be left
    // without its e-stop by a topic that took the name first.
    let dir = Namespace::open(&ns.name).unwrap();
    assert_eq!(dir.topic_names().unwrap(), Vec::<String>::new());
    // The system type itself may read (and raise) the e-stop.
    let estop: Topic<horus::msgs::EmergencyStop> = Topic::builder("_horus.estop")
        .namespace(&ns.name)
        .build()
        .unwrap();
    assert_eq!(estop.name(), "_horus.estop");
}

/// Were "is a symbolic link or not a regular file (a FIFO, socket or
/// device) ... remove it (rm ...)" for a directory at a topic's path (`rm`
/// does not remove it) and for a file at a namespace's path (which HORUS
/// wants to be a directory).
#[test]
fn what_stands_at_a_wrong_path_is_named_with_how_to_remove_it() {
    let ns = TestNs::new("wrongkind");
    let dir = Namespace::open(&ns.name).unwrap();
    std::fs::create_dir(dir.topic_path("d")).unwrap();
    let e = topic_error::<Alpha>(&ns.name, "d");
    assert!(
        matches!(
            e,
            TopicError::NotARegularFile {
                found: FileKind::Directory,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().ends_with(
            "d.topic is a directory, not a regular file: HORUS neither follows links nor \
             opens anything else in its shared-memory directory; remove it (rm -r, once you \
             have looked at what it holds)"
        ),
        "{e}"
    );
    std::fs::remove_dir(dir.topic_path("d")).unwrap();
    let file_ns = TestNs::new("fileatns");
    std::fs::write(file_ns.path(), b"").unwrap();
    let e = topic_error::<Alpha>(&file_ns.name, "t");
    assert!(
        matches!(
            e,
            TopicError::NotADirectory {
                found: FileKind::RegularFile,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("is a regular file, where HORUS keeps a directory"),
        "{e}"
    );
    std::fs::remove_file(file_ns.path()).unwrap();
}
