//! Tests of the std layer's error sentences: `Debug` is the sentence, and
//! a sentence that quotes its cause has no `source()`.

use super::*;

/// An error whose sentence does not quote its cause.
#[derive(Debug)]
struct Outer(io::Error);

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("reading the config failed; check its path")
    }
}

impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

struct Shown<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_sentence(self.0, f)
    }
}

#[test]
fn debug_is_the_sentence_and_each_cause_once() {
    let full = Error::from(TopicError::Full {
        topic: "wheel.encoders".into(),
        max: 2,
    });
    assert_eq!(format!("{full:?}"), full.to_string());
    assert!(!format!("{full:?}").contains("Full {"));
    // The sentence quotes its io::Error: said once.
    let io = Error::from(TopicError::Io {
        path: "/dev/shm/horus_x".into(),
        op: "open",
        error: io::Error::other("disk on fire"),
    });
    assert_eq!(format!("{io:?}"), io.to_string());
    assert_eq!(format!("{io:?}").matches("disk on fire").count(), 1);
    // A sentence that does not quote its cause gets it appended.
    let outer = Outer(io::Error::other("no such file"));
    assert_eq!(
        format!("{:?}", Shown(&outer)),
        "reading the config failed; check its path: no such file"
    );
}

/// What a report that walks the chain prints (anyhow's `{:#}`, as
/// `horus` prints its errors): each error's sentence, then its sources'.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(&format!(": {c}"));
        cause = c.source();
    }
    s
}

#[test]
fn a_sentence_that_quotes_its_cause_has_no_source() {
    use horus_nostd::sched::{AddError, StartError};
    use horus_nostd::time::RateError;
    let os = || io::Error::from_raw_os_error(2);
    let os_text = os().to_string();
    let io_error = || TopicError::Io {
        path: "/dev/shm/horus_x".into(),
        op: "create directory",
        error: os(),
    };
    let node = || "wheels".to_owned();
    let errors: Vec<Error> = vec![
        io_error().into(),
        TopicError::Layout(horus_nostd::LayoutError::BadCapacity { capacity: 3 }).into(),
        TopicError::Serialized {
            topic: "t".into(),
            error: crate::serialized::schema::SchemaError::Truncated,
        }
        .into(),
        SchedulerError::InvalidRate {
            node: node(),
            rate_error: RateError::TooFast,
        }
        .into(),
        SchedulerError::InitFailed {
            node: node(),
            error: Box::new(io_error().into()),
        }
        .into(),
        SchedulerError::NotAdded {
            node: node(),
            error: AddError::Rate(RateError::Zero),
        }
        .into(),
        SchedulerError::EstopUnavailable {
            namespace: "x".into(),
            error: Box::new(io_error().into()),
        }
        .into(),
        SchedulerError::NotStarted {
            error: StartError::AlreadyStarted,
        }
        .into(),
        SchedulerError::Signals { error: os() }.into(),
        SchedulerError::Os {
            op: "sched_setaffinity",
            error: os(),
        }
        .into(),
    ];
    for e in &errors {
        assert!(std::error::Error::source(e).is_none(), "{e}");
        assert_eq!(chain(e), e.to_string());
    }
    for e in [&errors[0], &errors[4], &errors[6], &errors[8], &errors[9]] {
        assert_eq!(chain(e).matches(&os_text).count(), 1, "{}", chain(e));
    }
}
