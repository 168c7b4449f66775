//! The fixed-capacity scheduler core (being written; see the scheduler issue).
